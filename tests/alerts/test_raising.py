"""From rule matches to alerts: opening, grouping by key and window, thresholds, notifications."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction

from alerts.models import Alert, AlertEvent, reference_for, reference_parse
from alerts.services import alert_resolve
from channels.models import Channel
from events.models import AuditEvent, PendingEvaluation
from rules.models import RuleMatch
from rules.services import rule_create
from tests.factories import make_event

pytestmark = pytest.mark.django_db

BASE = datetime(2025, 3, 2, 9, 0, tzinfo=UTC)
BOB = {"id": "61c0ffee0000000000000a02", "type": "user", "email": "bob.smith@example.com"}
ALICE = {"id": "61c0ffee0000000000000a03", "type": "user", "email": "alice@example.com"}

FAILED_LOGINS = {
    "name": "Failed logins",
    "priority": "high",
    "conditions": [
        {"event_type": "user_login_attempt", "filters": [{"key": "success", "operator": "eq", "value": False}]}
    ],
}
GROUPED = {**FAILED_LOGINS, "group_by": ["initiated_by.email"], "group_window_minutes": 30}
THRESHOLD = {**FAILED_LOGINS, "group_by": ["initiated_by.email"], "threshold": {"count": 5, "window_minutes": 10}}


def at(minutes: float) -> datetime:
    return BASE + timedelta(minutes=minutes)


def stamp(minutes: float) -> str:
    return at(minutes).isoformat().replace("+00:00", "Z")


def failure(event_id: str, minutes: float, who: dict = BOB) -> dict:
    return make_event(id=event_id, timestamp=stamp(minutes), initiated_by=who, success=False)


@pytest.fixture
def enqueued(monkeypatch) -> list[dict]:
    """What alerts hands channels: each typed notification, as its JSON form, and the context of the call."""
    calls: list[dict] = []

    def record(*, notification, channel_ids, source, **extra):
        alert_id = notification.alert.id if notification.alert is not None else None
        calls.append(
            {
                "kind": notification.kind,
                "channel_ids": list(channel_ids),
                "payload": notification.as_json(),
                "source": source,
                "in_transaction": transaction.get_connection().in_atomic_block,
                "alert_visible": alert_id is not None and Alert.objects.filter(pk=alert_id).exists(),
            }
        )
        return len(channel_ids)

    monkeypatch.setattr(  # a move the rule does not notify about still goes to its followers (PagerDuty)
        "alerts.services.lifecycle.notifications_enqueue",
        lambda orders: [
            record(notification=o.notification, channel_ids=o.channel_ids, source=o.source, causal_depth=o.causal_depth)
            for o in orders
            if not o.followers_only
        ],
    )
    monkeypatch.setattr(  # raising hands over a batch's notifications together
        "alerts.services.raising.notifications_enqueue",
        lambda orders: [
            record(notification=o.notification, channel_ids=o.channel_ids, source=o.source, causal_depth=o.causal_depth)
            for o in orders
        ],
    )
    return calls


@pytest.fixture
def channel() -> Channel:
    return Channel.objects.create(kind="email", name="Ops mail", config={"recipients": ["ops@example.com"]})


def linked_ids(alert: Alert) -> list[str]:
    return sorted(AlertEvent.objects.filter(alert=alert).values_list("event__event_id", flat=True))


# -- one match, one alert ----------------------------------------------------------------


def test_matching_event_opens_an_open_alert_with_a_reference(ingest):
    rule_create(data=FAILED_LOGINS, actor=None)
    ingest(failure("e1", 0))
    alert = Alert.objects.get()
    assert alert.status == "open"
    assert re.fullmatch(r"ALR-\d{6}", alert.reference)
    assert alert.reference == f"ALR-{alert.pk:06d}"


def test_reference_is_the_id_zero_padded_to_six_digits_and_parses_back():
    assert reference_for(1) == "ALR-000001"
    assert reference_for(1234567) == "ALR-1234567"
    assert reference_parse("alr-000001") == reference_parse("ALR-1") == 1
    assert reference_parse("ALR-x1") is None


def test_alert_takes_the_rule_priority_and_names_who_and_from_where(ingest):
    rule = rule_create(data={**FAILED_LOGINS, "priority": "low"}, actor=None)
    ingest(failure("e1", 0))
    alert = Alert.objects.get()
    assert (alert.rule_id, alert.rule_name, alert.priority) == (rule.pk, "Failed logins", "low")
    assert alert.title == "Failed logins: bob.smith@example.com from 198.51.100.77"


def test_alert_points_at_its_triggering_event_and_counts_one(ingest):
    rule_create(data=FAILED_LOGINS, actor=None)
    ingest(failure("e1", 0))
    alert = Alert.objects.get()
    assert alert.event.event_id == "e1"
    assert alert.event_type == "user_login_attempt"
    assert alert.event_count == 1
    assert alert.first_seen_at == alert.last_seen_at == at(0)
    assert linked_ids(alert) == ["e1"]


def test_new_alert_is_recorded_as_an_alert_created_event(ingest):
    rule = rule_create(data=FAILED_LOGINS, actor=None)
    ingest(failure("e1", 0))
    alert = Alert.objects.get()
    recorded = AuditEvent.objects.get(event_type="alert_created")
    payload = recorded.payload
    assert payload["service"] == "alerts"
    assert payload["resource"]["id"] == str(alert.pk)
    assert payload["resource"]["reference_id"] == alert.reference
    assert payload["resource"]["source_type"] == "user"
    assert payload["resource"]["source_id"] == "61c0ffee0000000000000a02"  # the initiator's id (vendor sample)
    assert payload["resource"]["context"]["event_id"] == "e1"
    assert payload["correlation"]["id"] == str(rule.pk)
    assert (payload["severity"], payload["message"]) == ("High", alert.title)
    assert payload["category"]
    assert recorded.causal_depth == 1


def test_non_matching_event_opens_nothing(ingest):
    rule_create(data=FAILED_LOGINS, actor=None)
    ingest(make_event(id="ok", timestamp=stamp(0), success=True))
    assert not Alert.objects.exists()


def test_each_opened_alert_increments_the_rule_alert_count(ingest):
    rule = rule_create(data=FAILED_LOGINS, actor=None)
    ingest(failure("e1", 0))
    ingest(failure("e2", 1), failure("e3", 2))
    rule.refresh_from_db()
    assert rule.alert_count == 3
    assert Alert.objects.filter(rule=rule).count() == 3


# -- grouping ------------------------------------------------------------------------------


def test_match_of_the_same_group_key_within_the_window_joins_the_open_alert(ingest):
    rule = rule_create(data=GROUPED, actor=None)
    ingest(failure("e1", 0))
    ingest(failure("e2", 10))
    ingest(failure("e3", 25))
    alert = Alert.objects.get()
    assert alert.event_count == 3
    assert (alert.first_seen_at, alert.last_seen_at) == (at(0), at(25))
    assert alert.event.event_id == "e1"
    assert linked_ids(alert) == ["e1", "e2", "e3"]
    rule.refresh_from_db()
    assert rule.alert_count == 1


def test_matches_of_one_group_key_in_one_batch_join_one_alert(ingest):
    rule_create(data=GROUPED, actor=None)
    ingest(failure("e1", 0), failure("e2", 1), failure("e3", 2))
    alert = Alert.objects.get()
    assert alert.event_count == 3
    assert linked_ids(alert) == ["e1", "e2", "e3"]


def test_group_key_ignores_case(ingest):
    rule_create(data=GROUPED, actor=None)
    ingest(failure("e1", 0))
    ingest(failure("e2", 1, who={**BOB, "email": "Bob.Smith@Example.com"}))
    assert Alert.objects.get().event_count == 2


def test_match_of_another_group_key_opens_its_own_alert(ingest):
    rule_create(data=GROUPED, actor=None)
    ingest(failure("e1", 0))
    ingest(failure("e2", 1, who=ALICE))
    alerts = list(Alert.objects.order_by("pk"))
    assert [a.event_count for a in alerts] == [1, 1]
    assert [a.event.event_id for a in alerts] == ["e1", "e2"]
    assert alerts[0].group_key != alerts[1].group_key
    assert alerts[1].title == "Failed logins: alice@example.com from 198.51.100.77"


def test_match_past_the_window_opens_a_new_alert_and_later_matches_join_the_new_one(ingest):
    rule = rule_create(data=GROUPED, actor=None)
    ingest(failure("e1", 0))
    ingest(failure("e2", 31))
    ingest(failure("e3", 40))
    first, second = Alert.objects.order_by("pk")
    assert linked_ids(first) == ["e1"]
    assert first.status == "open"
    assert linked_ids(second) == ["e2", "e3"]
    assert second.event_count == 2
    rule.refresh_from_db()
    assert rule.alert_count == 2


def test_window_counts_from_the_last_event_not_the_first(ingest):
    rule_create(data=GROUPED, actor=None)
    for n, minutes in enumerate((0, 20, 40, 60)):  # each within 30 minutes of the one before
        ingest(failure(f"e{n}", minutes))
    alert = Alert.objects.get()
    assert alert.event_count == 4
    assert alert.last_seen_at == at(60)


def test_resolved_alert_is_not_joined(ingest):
    rule_create(data=GROUPED, actor=None)
    ingest(failure("e1", 0))
    first = Alert.objects.get()
    alert_resolve(alert=first, actor=None)
    ingest(failure("e2", 5))
    first.refresh_from_db()
    second = Alert.objects.exclude(pk=first.pk).get()
    assert first.event_count == 1
    assert linked_ids(second) == ["e2"]
    assert second.status == "open"


def test_acknowledged_alert_is_still_joined(ingest):
    from alerts.services import alert_acknowledge

    rule_create(data=GROUPED, actor=None)
    ingest(failure("e1", 0))
    alert_acknowledge(alert=Alert.objects.get(), actor=None)
    ingest(failure("e2", 5))
    alert = Alert.objects.get()
    assert (alert.status, alert.event_count) == ("acknowledged", 2)


def test_window_zero_with_group_by_opens_one_alert_per_match(ingest):
    rule = rule_create(data={**GROUPED, "group_window_minutes": 0}, actor=None)
    ingest(failure("e1", 0))
    ingest(failure("e2", 1), failure("e3", 2))
    assert sorted(Alert.objects.values_list("event__event_id", flat=True)) == ["e1", "e2", "e3"]
    assert set(Alert.objects.values_list("event_count", flat=True)) == {1}
    rule.refresh_from_db()
    assert rule.alert_count == 3


# -- thresholds ------------------------------------------------------------------------------


def test_four_failures_in_ten_minutes_open_nothing(ingest):
    rule = rule_create(data=THRESHOLD, actor=None)
    for n in range(4):
        ingest(failure(f"e{n}", n * 2))
    assert not Alert.objects.exists()
    assert RuleMatch.objects.filter(rule=rule).count() == 4


def test_fifth_failure_in_ten_minutes_opens_one_alert_linking_all_five(ingest):
    rule = rule_create(data=THRESHOLD, actor=None)
    for n in range(5):
        ingest(failure(f"e{n}", n * 2))
    alert = Alert.objects.get()
    assert alert.event_count == 5
    assert linked_ids(alert) == ["e0", "e1", "e2", "e3", "e4"]
    assert alert.event.event_id == "e4"
    assert (alert.first_seen_at, alert.last_seen_at) == (at(0), at(8))
    rule.refresh_from_db()
    assert rule.alert_count == 1


def test_five_failures_in_one_batch_open_one_alert(ingest):
    rule_create(data=THRESHOLD, actor=None)
    ingest(*[failure(f"e{n}", n) for n in range(5)])
    assert Alert.objects.get().event_count == 5


def test_threshold_counts_the_window_inclusively(ingest):
    rule_create(data=THRESHOLD, actor=None)
    for n, minutes in enumerate((0, 2.5, 5, 7.5, 10)):  # first and last exactly ten minutes apart
        ingest(failure(f"e{n}", minutes))
    assert Alert.objects.get().event_count == 5


def test_sixth_failure_joins_the_threshold_alert(ingest):
    rule = rule_create(data=THRESHOLD, actor=None)
    for n in range(6):
        ingest(failure(f"e{n}", n))
    alert = Alert.objects.get()
    assert alert.event_count == 6
    assert alert.last_seen_at == at(5)
    assert "e5" in linked_ids(alert)
    rule.refresh_from_db()
    assert rule.alert_count == 1


def test_threshold_fires_again_after_its_alert_is_resolved(ingest):
    rule_create(data=THRESHOLD, actor=None)
    for n in range(5):
        ingest(failure(f"a{n}", n))
    first = Alert.objects.get()
    alert_resolve(alert=first, actor=None)
    for n in range(4):
        ingest(failure(f"b{n}", 5 + n))
    assert Alert.objects.count() == 1  # the resolved alert's events do not count again
    ingest(failure("b4", 9))
    second = Alert.objects.exclude(pk=first.pk).get()
    assert linked_ids(second) == ["b0", "b1", "b2", "b3", "b4"]
    assert second.event_count == 5


def test_failures_spread_over_more_than_ten_minutes_never_fire(ingest):
    rule = rule_create(data=THRESHOLD, actor=None)
    for n in range(10):  # every 3 minutes: at most 4 of them inside any 10-minute window
        ingest(failure(f"e{n}", n * 3))
    assert not Alert.objects.exists()
    assert RuleMatch.objects.filter(rule=rule).count() == 10


def test_threshold_counts_each_group_key_separately(ingest):
    rule_create(data=THRESHOLD, actor=None)
    for n in range(4):
        ingest(failure(f"b{n}", n), failure(f"a{n}", n, who=ALICE))
    assert not Alert.objects.exists()
    ingest(failure("a4", 4, who=ALICE))
    alert = Alert.objects.get()
    assert linked_ids(alert) == ["a0", "a1", "a2", "a3", "a4"]


def test_threshold_fires_when_the_fifth_event_arrives_late_with_an_earlier_timestamp(ingest):
    rule_create(data=THRESHOLD, actor=None)
    for n in (4, 3, 2, 1):  # minutes 4..1 arrive first, one request each
        ingest(failure(f"e{n}", n))
    assert not Alert.objects.exists()
    ingest(failure("e0", 0))  # five failures within 10 minutes of each other are now stored
    assert Alert.objects.count() == 1


# -- notifications ---------------------------------------------------------------------------


def test_rule_that_only_notifies_opens_no_alert_and_enqueues_event_matched(ingest, enqueued, channel):
    rule_create(
        data={**FAILED_LOGINS, "generate_alerts": False, "send_notifications": True, "channels": [channel.pk]},
        actor=None,
    )
    ingest(failure("e1", 0))
    assert not Alert.objects.exists()
    assert [(c["kind"], c["channel_ids"]) for c in enqueued] == [("event.matched", [channel.pk])]
    assert enqueued[0]["payload"]["event"]["id"] == "e1"
    assert enqueued[0]["payload"]["rule"]["name"] == "Failed logins"


def test_rule_without_notifications_enqueues_nothing(ingest, enqueued):
    rule_create(data=FAILED_LOGINS, actor=None)
    ingest(failure("e1", 0))
    assert Alert.objects.count() == 1
    assert enqueued == []


def test_new_alert_enqueues_alert_created_in_the_transaction_that_opens_it(ingest, enqueued, channel):
    rule_create(data={**FAILED_LOGINS, "send_notifications": True, "channels": [channel.pk]}, actor=None)
    ingest(failure("e1", 0))
    alert = Alert.objects.get()
    assert [(c["kind"], c["channel_ids"]) for c in enqueued] == [("alert.created", [channel.pk])]
    call = enqueued[0]
    assert call["in_transaction"] and call["alert_visible"]
    assert call["payload"]["alert"]["id"] == alert.pk
    assert call["payload"]["alert"]["reference"] == alert.reference
    assert call["payload"]["event"]["id"] == "e1"


def test_failing_enqueue_rolls_back_the_alert_it_belongs_to(ingest, monkeypatch, channel):
    def refuse(orders):
        raise RuntimeError("outbox unavailable")

    monkeypatch.setattr("alerts.services.raising.notifications_enqueue", refuse)
    rule_create(data={**FAILED_LOGINS, "send_notifications": True, "channels": [channel.pk]}, actor=None)
    ingest(failure("e1", 0))
    assert not Alert.objects.exists()
    assert not RuleMatch.objects.exists()
    assert PendingEvaluation.objects.filter(event__event_id="e1").exists()  # left for the sweep to retry


def test_joining_a_grouped_alert_enqueues_no_second_alert_created(ingest, enqueued, channel):
    rule_create(data={**GROUPED, "send_notifications": True, "channels": [channel.pk]}, actor=None)
    ingest(failure("e1", 0))
    ingest(failure("e2", 1))
    assert [c["kind"] for c in enqueued] == ["alert.created"]

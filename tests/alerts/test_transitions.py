"""The alert state machine: legal moves and what they record, illegal ones and what they leave alone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.models import Alert, AlertTransition
from alerts.services import (
    AlertInputError,
    InvalidTransition,
    alert_acknowledge,
    alert_reopen,
    alert_resolve,
    alert_transition,
)
from channels.models import Channel
from events.models import AuditEvent
from rules.services import rule_create
from tests.factories import make_event

pytestmark = pytest.mark.django_db

FAILED_LOGINS = {
    "name": "Failed logins",
    "priority": "high",
    "conditions": [
        {"event_type": "user_login_attempt", "filters": [{"key": "success", "operator": "eq", "value": False}]}
    ],
}
GROUPED = {**FAILED_LOGINS, "group_by": ["initiated_by.email"], "group_window_minutes": 60}


@pytest.fixture
def raise_alert(ingest):
    """Return a factory: raise one alert the real way (rule, then a matching event) and return it."""
    created = {}

    def make(*, event_id: str = "e1", rule: dict = FAILED_LOGINS, minutes: int = 0) -> Alert:
        if rule["name"] not in created:
            created[rule["name"]] = rule_create(data=rule, actor=None)
        timestamp = (timezone.now() - timedelta(hours=1) + timedelta(minutes=minutes)).isoformat()
        before = set(Alert.objects.values_list("pk", flat=True))
        ingest(make_event(id=event_id, timestamp=timestamp.replace("+00:00", "Z")))
        return Alert.objects.exclude(pk__in=before).get()

    return make


@pytest.fixture
def responder(make_user):
    return make_user("responder", username="rita", email="rita@example.com")


@pytest.fixture
def enqueued(monkeypatch) -> list[str]:
    kinds: list[str] = []

    def record(*, notification, channel_ids, source, **extra):
        kinds.append(notification.kind)
        return len(channel_ids)

    monkeypatch.setattr(  # a move the rule does not notify about still goes to its followers (PagerDuty)
        "alerts.services.lifecycle.notifications_enqueue",
        lambda orders: [
            record(notification=o.notification, channel_ids=o.channel_ids, source=o.source)
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
    return kinds


def backdate(alert: Alert, seconds: int) -> None:
    Alert.objects.filter(pk=alert.pk).update(created_at=timezone.now() - timedelta(seconds=seconds))


def moves(alert: Alert) -> list[tuple[str, str]]:
    return list(AlertTransition.objects.filter(alert=alert).values_list("from_status", "to_status"))


def status_events(alert: Alert) -> list[dict]:
    return [
        event.payload
        for event in AuditEvent.objects.filter(event_type="alert_status_updated").order_by("pk")
        if event.payload["resource"]["id"] == str(alert.pk)
    ]


# -- legal moves -------------------------------------------------------------------------------


def test_acknowledging_records_who_when_the_remark_and_time_to_acknowledge(raise_alert, responder):
    alert = raise_alert()
    backdate(alert, 120)
    before = timezone.now()
    alert_acknowledge(alert=alert, actor=responder, note="Looking into it")
    alert.refresh_from_db()
    assert alert.status == "acknowledged"
    assert alert.acknowledged_by == responder
    assert before <= alert.acknowledged_at <= timezone.now()
    assert 120 <= alert.seconds_to_acknowledge < 130
    assert (alert.resolved_at, alert.resolved_by, alert.seconds_to_resolve) == (None, None, None)
    transition = AlertTransition.objects.get(alert=alert)
    assert (transition.from_status, transition.to_status) == ("open", "acknowledged")
    assert (transition.actor, transition.note, transition.at) == (responder, "Looking into it", alert.acknowledged_at)


def test_acknowledged_alert_can_be_resolved(raise_alert, responder, make_user):
    alert = raise_alert()
    backdate(alert, 600)
    alert_acknowledge(alert=alert, actor=responder)
    closer = make_user("admin")
    alert_resolve(alert=alert, actor=closer, note="Password reset")
    alert.refresh_from_db()
    assert alert.status == "resolved"
    assert (alert.acknowledged_by, alert.resolved_by) == (responder, closer)
    assert alert.acknowledged_at <= alert.resolved_at
    assert 600 <= alert.seconds_to_resolve < 610
    assert moves(alert) == [("open", "acknowledged"), ("acknowledged", "resolved")]
    last = AlertTransition.objects.filter(alert=alert).last()
    assert (last.actor, last.note, last.at) == (closer, "Password reset", alert.resolved_at)


def test_open_alert_can_be_resolved_directly(raise_alert, responder):
    alert = raise_alert()
    backdate(alert, 60)
    alert_resolve(alert=alert, actor=responder, note="False positive")
    alert.refresh_from_db()
    assert alert.status == "resolved"
    assert (alert.acknowledged_at, alert.acknowledged_by, alert.seconds_to_acknowledge) == (None, None, None)
    assert alert.resolved_by == responder
    assert 60 <= alert.seconds_to_resolve < 70
    assert moves(alert) == [("open", "resolved")]


def test_resolved_alert_can_be_reopened(raise_alert, responder):
    alert = raise_alert()
    alert_acknowledge(alert=alert, actor=responder)
    alert_resolve(alert=alert, actor=responder)
    alert_reopen(alert=alert, actor=responder, note="Happened again")
    alert.refresh_from_db()
    assert alert.status == "open"
    assert (alert.resolved_at, alert.resolved_by, alert.seconds_to_resolve) == (None, None, None)
    assert (alert.acknowledged_at, alert.acknowledged_by, alert.seconds_to_acknowledge) == (None, None, None)
    assert moves(alert) == [("open", "acknowledged"), ("acknowledged", "resolved"), ("resolved", "open")]
    last = AlertTransition.objects.filter(alert=alert).last()
    assert (last.actor, last.note) == (responder, "Happened again")


def test_reopened_alert_can_be_acknowledged_again(raise_alert, responder):
    alert = raise_alert()
    alert_resolve(alert=alert, actor=responder)
    alert_reopen(alert=alert, actor=responder)
    alert_acknowledge(alert=alert, actor=responder)
    alert.refresh_from_db()
    assert alert.status == "acknowledged"
    assert alert.acknowledged_by == responder


def test_move_without_an_actor_is_recorded_as_the_system(raise_alert):
    alert = raise_alert()
    alert_resolve(alert=alert, actor=None)
    alert.refresh_from_db()
    assert alert.resolved_by is None
    assert AlertTransition.objects.get(alert=alert).actor is None
    assert status_events(alert)[0]["initiated_by"]["type"] == "system"


def test_remark_longer_than_4000_characters_is_refused_and_nothing_changes(raise_alert, responder):
    alert = raise_alert()
    with pytest.raises(AlertInputError):
        alert_acknowledge(alert=alert, actor=responder, note="x" * 4001)
    alert.refresh_from_db()
    assert alert.status == "open"
    assert moves(alert) == []


# -- illegal moves -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "target"),
    [
        (["acknowledged"], "acknowledged"),
        (["resolved"], "acknowledged"),
        (["acknowledged"], "open"),
    ],
    ids=["acknowledged-to-acknowledged", "resolved-to-acknowledged", "acknowledged-to-open"],
)
def test_illegal_move_raises_and_changes_nothing(raise_alert, responder, path, target):
    alert = raise_alert()
    for step in path:
        alert_transition(alert=alert, to=step, actor=responder)
    alert.refresh_from_db()
    snapshot = Alert.objects.filter(pk=alert.pk).values().get()
    history, audit = moves(alert), len(status_events(alert))
    with pytest.raises(InvalidTransition, match=alert.reference):
        alert_transition(alert=alert, to=target, actor=responder, note="should not stick")
    assert Alert.objects.filter(pk=alert.pk).values().get() == snapshot
    assert moves(alert) == history
    assert len(status_events(alert)) == audit


def test_reopening_is_refused_while_its_group_has_another_unresolved_alert(raise_alert, responder):
    first = raise_alert(event_id="e1", rule=GROUPED)
    alert_resolve(alert=first, actor=responder)
    second = raise_alert(event_id="e2", rule=GROUPED, minutes=1)  # same user: a new alert for the group
    assert second.group_key == first.group_key
    with pytest.raises(InvalidTransition, match="unresolved"):
        alert_reopen(alert=first, actor=responder)
    first.refresh_from_db()
    assert first.status == "resolved"
    assert moves(first) == [("open", "resolved")]


def test_reopening_is_allowed_once_the_other_alert_of_the_group_is_resolved(raise_alert, responder):
    first = raise_alert(event_id="e1", rule=GROUPED)
    alert_resolve(alert=first, actor=responder)
    second = raise_alert(event_id="e2", rule=GROUPED, minutes=1)
    alert_resolve(alert=second, actor=responder)
    alert_reopen(alert=first, actor=responder)
    first.refresh_from_db()
    assert first.status == "open"


def test_reopened_grouped_alert_collects_the_group_matches_again(raise_alert, responder, ingest):
    first = raise_alert(event_id="e1", rule=GROUPED)
    alert_resolve(alert=first, actor=responder)
    alert_reopen(alert=first, actor=responder)
    timestamp = (timezone.now() - timedelta(minutes=50)).isoformat().replace("+00:00", "Z")
    ingest(make_event(id="e2", timestamp=timestamp))
    first.refresh_from_db()
    assert Alert.objects.count() == 1
    assert first.event_count == 2


# -- the audit trail ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "labels"),
    [
        (["acknowledged", "resolved"], [("Open", "Acknowledged"), ("Acknowledged", "Resolved")]),
        (["resolved", "open"], [("Open", "Resolved"), ("Resolved", "Open")]),
    ],
    ids=["acknowledge-then-resolve", "resolve-then-reopen"],
)
def test_each_move_records_an_alert_status_updated_event_with_status_and_remark(raise_alert, responder, path, labels):
    alert = raise_alert()
    for step in path:
        alert_transition(alert=alert, to=step, actor=responder, note=f"remark for {step}")
    recorded = status_events(alert)
    assert [event["changes"] for event in recorded] == [
        [{"field": "Status", "from": old, "to": new}, {"field": "Remark", "from": "", "to": f"remark for {step}"}]
        for (old, new), step in zip(labels, path, strict=True)
    ]
    for event in recorded:
        assert event["service"] == "alerts"
        assert event["initiated_by"]["id"] == str(responder.pk)
        assert event["initiated_by"]["username"] == "rita"
        assert event["resource"]["reference_id"] == alert.reference


def test_move_without_a_remark_still_records_the_status_change(raise_alert, responder):
    alert = raise_alert()
    alert_acknowledge(alert=alert, actor=responder)
    (event,) = status_events(alert)
    assert event["changes"][0] == {"field": "Status", "from": "Open", "to": "Acknowledged"}


def test_status_event_is_one_causal_step_deeper_than_the_triggering_event(raise_alert, responder):
    alert = raise_alert()
    alert_acknowledge(alert=alert, actor=responder)
    event = AuditEvent.objects.get(event_type="alert_status_updated")
    assert (alert.event.causal_depth, event.causal_depth) == (0, 1)


# -- notifications on acknowledge / resolve -------------------------------------------------------


@pytest.mark.parametrize(
    ("on_acknowledge", "on_resolve", "expected"),
    [
        (True, False, ["alert.created", "alert.acknowledged"]),
        (False, True, ["alert.created", "alert.resolved"]),
    ],
    ids=["on-acknowledge-only", "on-resolve-only"],
)
def test_acknowledge_and_resolve_notify_only_when_the_rule_asks(
    raise_alert, responder, enqueued, on_acknowledge, on_resolve, expected
):
    channel = Channel.objects.create(kind="email", name="Ops mail", config={"recipients": ["ops@example.com"]})
    rule = {
        **FAILED_LOGINS,
        "send_notifications": True,
        "channels": [channel.pk],
        "notify_on_acknowledge": on_acknowledge,
        "notify_on_resolve": on_resolve,
    }
    alert = raise_alert(rule=rule)
    alert_acknowledge(alert=alert, actor=responder)
    alert_resolve(alert=alert, actor=responder)
    assert enqueued == expected


def test_reopen_sends_no_notification(raise_alert, responder, enqueued):
    channel = Channel.objects.create(kind="email", name="Ops mail", config={"recipients": ["ops@example.com"]})
    rule = {**FAILED_LOGINS, "send_notifications": True, "channels": [channel.pk], "notify_on_resolve": True}
    alert = raise_alert(rule=rule)
    alert_resolve(alert=alert, actor=responder)
    alert_reopen(alert=alert, actor=responder)
    assert enqueued == ["alert.created", "alert.resolved"]


def test_illegal_move_sends_no_notification(raise_alert, responder, enqueued):
    channel = Channel.objects.create(kind="email", name="Ops mail", config={"recipients": ["ops@example.com"]})
    rule = {**FAILED_LOGINS, "send_notifications": True, "channels": [channel.pk], "notify_on_acknowledge": True}
    alert = raise_alert(rule=rule)
    alert_resolve(alert=alert, actor=responder)
    with pytest.raises(InvalidTransition):
        alert_acknowledge(alert=alert, actor=responder)
    assert enqueued == ["alert.created"]

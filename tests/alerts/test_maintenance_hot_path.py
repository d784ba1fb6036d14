"""Maintenance windows on the hot path: decided per match by the event's timestamp, in memory.

mute=alerts keeps the match and raises nothing; mute=notifications raises the alert with
`suppressed_by` and sends nothing for it. Each window counts what it muted. Reminders wait
while a window in scope is open.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts.models import Alert, MaintenanceWindow
from alerts.services import alert_acknowledge, reminders_run
from channels.models import Channel, Delivery
from events import services as event_services
from events.models import PendingEvaluation
from events.services import event_batch_ingest
from events.validation import Limits, event_validate
from rules.evaluation import events_evaluate_pending
from rules.models import Rule, RuleMatch
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
SATURDAY_NIGHT = datetime(2026, 3, 28, 21, tzinfo=UTC)  # 22:00 in Berlin


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture
def channel() -> Channel:
    return Channel.objects.create(kind="email", name="Ops mail", config={"recipients": ["ops@example.com"]})


@pytest.fixture
def rule(channel) -> Rule:
    return rule_create(
        data={**FAILED_LOGINS, "send_notifications": True, "channels": [channel.pk], "notify_on_acknowledge": True},
        actor=None,
    )


def window(mute: str = "notifications", **fields) -> MaintenanceWindow:
    """Saturdays 22:00-02:00 Berlin time from 2026-03-21."""
    start = datetime(2026, 3, 21, 21, tzinfo=UTC)
    values = {
        "name": "Weekend patching",
        "starts_at": start,
        "ends_at": start + timedelta(hours=4),
        "timezone": "Europe/Berlin",
        "recurrence": "RRULE:FREQ=WEEKLY;BYDAY=SA",
        "mute": mute,
        **fields,
    }
    return MaintenanceWindow.objects.create(**values)


def created_deliveries() -> int:
    return Delivery.objects.filter(kind__in=["alert.created", "event.matched"]).count()


def test_mute_alerts_keeps_the_match_and_raises_nothing(rule, ingest):
    quiet = window("alerts")
    ingest(make_event(id="inside", timestamp=iso(SATURDAY_NIGHT + timedelta(hours=1))))
    assert RuleMatch.objects.filter(rule=rule).count() == 1
    assert not Alert.objects.exists()
    assert created_deliveries() == 0
    quiet.refresh_from_db()
    assert (quiet.muted_alerts, quiet.muted_notifications) == (1, 1)


def test_mute_notifications_raises_the_alert_suppressed_by_the_window_and_sends_nothing(rule, ingest):
    quiet = window()
    ingest(make_event(id="inside", timestamp=iso(SATURDAY_NIGHT + timedelta(minutes=5))))
    alert = Alert.objects.get()
    assert alert.suppressed_by_id == quiet.pk
    assert created_deliveries() == 0
    quiet.refresh_from_db()
    assert (quiet.muted_alerts, quiet.muted_notifications) == (1, 1)


def test_events_outside_the_window_alert_and_notify_as_usual(rule, ingest):
    window()
    # Wednesday; and the Saturday of the DST change at 20:30 UTC (21:30 CET, before 22:00 local).
    ingest(
        make_event(id="wednesday", timestamp=iso(SATURDAY_NIGHT - timedelta(days=3))),
        make_event(id="before", timestamp=iso(datetime(2026, 3, 28, 20, 30, tzinfo=UTC))),
    )
    assert Alert.objects.filter(suppressed_by__isnull=True).count() == 2
    assert created_deliveries() == 2


def test_the_window_follows_local_time_across_the_dst_change(rule, ingest):
    window()
    # After the change 22:00 Berlin is 20:00 UTC: an event at 20:30 UTC on 4 April is inside.
    ingest(make_event(id="after-change", timestamp=iso(datetime(2026, 4, 4, 20, 30, tzinfo=UTC))))
    assert Alert.objects.get().suppressed_by_id is not None


def test_the_event_timestamp_decides_not_the_arrival_time(rule, ingest):
    quiet = window(
        recurrence="", ends_at=timezone.now() - timedelta(days=1), starts_at=timezone.now() - timedelta(days=2)
    )
    ingest(make_event(id="late", timestamp=iso(timezone.now() - timedelta(days=1, hours=12))))
    assert Alert.objects.get().suppressed_by_id == quiet.pk


def test_scope_leaves_other_rules_priorities_and_types_alone(rule, channel, ingest):
    other = rule_create(
        data={
            **FAILED_LOGINS,
            "name": "Other",
            "priority": "low",
            "send_notifications": True,
            "channels": [channel.pk],
        },
        actor=None,
    )
    window(scope_priorities=["low"])
    window(scope_rules=[other.pk], scope_event_types=["user_update"], name="Wrong type")
    ingest(make_event(id="both", timestamp=iso(SATURDAY_NIGHT + timedelta(minutes=5))))
    assert Alert.objects.get(rule=rule).suppressed_by_id is None
    assert Alert.objects.get(rule=other).suppressed_by.name == "Weekend patching"
    assert created_deliveries() == 1


def test_a_notify_only_rule_sends_no_match_notification_inside(channel, ingest):
    rule_create(
        data={**FAILED_LOGINS, "generate_alerts": False, "send_notifications": True, "channels": [channel.pk]},
        actor=None,
    )
    quiet = window()
    ingest(make_event(id="inside", timestamp=iso(SATURDAY_NIGHT + timedelta(minutes=5))))
    assert created_deliveries() == 0
    quiet.refresh_from_db()
    assert (quiet.muted_alerts, quiet.muted_notifications) == (0, 1)


def test_a_grouped_alert_raised_inside_sends_nothing_for_the_events_joining_it(channel, ingest):
    rule_create(
        data={
            **FAILED_LOGINS,
            "send_notifications": True,
            "channels": [channel.pk],
            "group_by": ["initiated_by.email"],
            "group_window_minutes": 60,
        },
        actor=None,
    )
    window()
    ingest(*[make_event(id=f"g{n}", timestamp=iso(SATURDAY_NIGHT + timedelta(minutes=n))) for n in range(5)])
    alert = Alert.objects.get()
    assert (alert.event_count, alert.suppressed_by is not None) == (5, True)
    assert created_deliveries() == 0


def test_acknowledging_a_suppressed_alert_sends_nothing_while_the_window_is_open(rule, ingest):
    now = timezone.now()
    window(recurrence="", starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=1))
    ingest(make_event(id="now", timestamp=iso(now)))
    alert_acknowledge(alert=Alert.objects.get(), actor=None)
    assert not Delivery.objects.exists()


def test_counters_add_up_over_batches(rule, ingest):
    quiet = window()
    ingest(make_event(id="a", timestamp=iso(SATURDAY_NIGHT + timedelta(minutes=1))))
    ingest(
        make_event(id="b", timestamp=iso(SATURDAY_NIGHT + timedelta(minutes=2))),
        make_event(id="c", timestamp=iso(SATURDAY_NIGHT + timedelta(minutes=3))),
    )
    quiet.refresh_from_db()
    assert (quiet.muted_alerts, quiet.muted_notifications) == (3, 3)


# -- cost ---------------------------------------------------------------------------------


def _batch(prefix: str, events: int, at: datetime) -> int:
    limits = Limits.from_settings()
    records = [
        event_validate(make_event(id=f"{prefix}{n}", timestamp=iso(at + timedelta(seconds=n))), index=n, limits=limits)
        for n in range(events)
    ]
    event_batch_ingest(records=records)  # type: ignore[arg-type]
    with CaptureQueriesContext(connection) as queries:
        result = events_evaluate_pending(
            limit=10_000, received_since=PendingEvaluation.objects.earliest("received_at").received_at
        )
    assert result.new_matches == events
    return len(queries)


@pytest.mark.parametrize("mute", ["notifications", "alerts"])
def test_statements_per_batch_do_not_grow_with_matches_inside_windows(rule, monkeypatch, mute):
    monkeypatch.setattr(event_services, "events_ingested_notify", lambda pks: None)
    for n in range(5):
        window(mute, name=f"Window {n}")
    window(mute, name="Other scope", scope_rules=[rule.pk + 1000])
    _batch("w", 5, SATURDAY_NIGHT)  # warms the per-process caches
    small = _batch("s", 10, SATURDAY_NIGHT + timedelta(minutes=10))
    large = _batch("l", 60, SATURDAY_NIGHT + timedelta(minutes=20))
    assert large - small <= (0 if connection.vendor == "postgresql" else 2), (small, large)
    assert small <= 25, small
    assert created_deliveries() == 0
    assert MaintenanceWindow.objects.get(name="Window 0").muted_alerts == 75


# -- reminders ----------------------------------------------------------------------------


def test_reminders_wait_while_a_window_in_scope_is_open(channel, ingest):
    rule_create(
        data={
            **FAILED_LOGINS,
            "send_notifications": True,
            "channels": [channel.pk],
            "remind_every_minutes": 10,
            "escalation": {"after_minutes": 15, "channels": [channel.pk]},
        },
        actor=None,
    )
    ingest(make_event(id="before-window", timestamp=iso(timezone.now())))
    alert = Alert.objects.get()
    assert alert.suppressed_by_id is None
    later = alert.created_at + timedelta(minutes=20)
    window(recurrence="", starts_at=later - timedelta(minutes=30), ends_at=later + timedelta(minutes=30))
    run = reminders_run(now=later)
    assert (run.reminders, run.escalations) == (0, 0)
    after = later + timedelta(minutes=31)
    run = reminders_run(now=after)
    assert (run.reminders, run.escalations) == (1, 1)


def test_reminders_go_for_alerts_outside_the_windows_scope(channel, ingest):
    rule_create(
        data={**FAILED_LOGINS, "send_notifications": True, "channels": [channel.pk], "remind_every_minutes": 10},
        actor=None,
    )
    ingest(make_event(id="x", timestamp=iso(timezone.now())))
    alert = Alert.objects.get()
    later = alert.created_at + timedelta(minutes=11)
    window(
        recurrence="",
        starts_at=later - timedelta(hours=1),
        ends_at=later + timedelta(hours=1),
        scope_priorities=["low"],
    )
    assert reminders_run(now=later).reminders == 1

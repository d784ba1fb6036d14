"""Retention spares the events an unresolved alert points at, and lets them go once it is resolved."""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest
from django.test import override_settings
from django.utils import timezone

from alerts.models import Alert, AlertEvent
from alerts.services import alert_acknowledge, alert_resolve
from events.models import AuditEvent
from events.services import event_retention_purge
from rules.services import rule_create
from tests.factories import make_event

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("short_retention")]

GROUPED = {
    "name": "Failed logins",
    "priority": "high",
    "conditions": [
        {"event_type": "user_login_attempt", "filters": [{"key": "success", "operator": "eq", "value": False}]}
    ],
    "group_by": ["initiated_by.email"],
    "group_window_minutes": 60,
}


@pytest.fixture
def short_retention():
    with override_settings(ALERTSITE_EVENT_RETENTION_DAYS=30):
        yield


@pytest.fixture
def old_alert(ingest_client, django_capture_on_commit_callbacks) -> Alert:
    """An alert raised by a 40-day-old failed login and joined by a second one, beside an old unmatched event."""
    rule_create(data=GROUPED, actor=None)
    start = timezone.now() - timedelta(days=40)

    def stamp(minutes: int) -> str:
        return (start + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")

    events = [
        make_event(id="trigger", timestamp=stamp(0)),
        make_event(id="joined", timestamp=stamp(5)),
        make_event(id="unrelated", timestamp=stamp(6), success=True),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        response = ingest_client.post("/api/v1/events", data=orjson.dumps(events), content_type="application/json")
    assert response.status_code == 202, response.content
    alert = Alert.objects.get()
    assert alert.event.event_id == "trigger"
    assert sorted(AlertEvent.objects.filter(alert=alert).values_list("event__event_id", flat=True)) == [
        "joined",
        "trigger",
    ]
    return alert


def stored(*event_ids: str) -> list[str]:
    return sorted(AuditEvent.objects.filter(event_id__in=event_ids).values_list("event_id", flat=True))


def test_purge_keeps_old_events_of_an_open_alert(old_alert):
    result = event_retention_purge()
    assert stored("trigger", "joined", "unrelated") == ["joined", "trigger"]
    assert result.deleted == 1
    assert result.kept == 2
    old_alert.refresh_from_db()
    assert old_alert.event.event_id == "trigger"


def test_purge_keeps_old_events_of_an_acknowledged_alert(old_alert):
    alert_acknowledge(alert=old_alert, actor=None)
    event_retention_purge()
    assert stored("trigger", "joined", "unrelated") == ["joined", "trigger"]


def test_purge_deletes_the_events_once_their_alert_is_resolved(old_alert):
    event_retention_purge()
    alert_resolve(alert=old_alert, actor=None)
    event_retention_purge()
    assert stored("trigger", "joined") == []
    old_alert.refresh_from_db()
    assert old_alert.status == "resolved"  # the alert itself stays, without its events
    assert old_alert.event is None
    assert not AlertEvent.objects.filter(alert=old_alert).exists()


def test_purge_reports_the_number_of_events_deleted_not_the_rows_cascading_with_them(old_alert):
    alert_resolve(alert=old_alert, actor=None)
    result = event_retention_purge()
    assert stored("trigger", "joined", "unrelated") == []
    assert result.deleted == 3


def test_purge_keeps_the_events_again_once_a_resolved_alert_is_reopened(old_alert):
    from alerts.services import alert_reopen

    alert_resolve(alert=old_alert, actor=None)
    alert_reopen(alert=old_alert, actor=None)
    event_retention_purge()
    assert stored("trigger", "joined") == ["joined", "trigger"]


def test_recent_audit_events_of_the_alert_are_not_purged(old_alert):
    alert_acknowledge(alert=old_alert, actor=None)
    alert_resolve(alert=old_alert, actor=None)
    event_retention_purge()
    assert AuditEvent.objects.filter(event_type__in=["alert_created", "alert_status_updated"]).count() == 3

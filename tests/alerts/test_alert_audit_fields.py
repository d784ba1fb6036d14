"""Alert audit events carry what the vendor's alert_* samples carry: severity, category, source, correlation."""

from __future__ import annotations

import pytest

from alerts.models import Alert
from alerts.services import alert_acknowledge, alert_assign, alert_note_add
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
DEVICE_LOGINS = {"name": "Device logins", "priority": "medium", "conditions": [{"event_type": "user_login"}]}
HIGH_ALERT_ACKNOWLEDGED = {
    "name": "High alert acknowledged",
    "priority": "low",
    "conditions": [
        {
            "event_type": "alert_status_updated",
            "filters": [
                {"key": "severity", "operator": "eq", "value": "high"},
                {"key": "changes.to", "operator": "eq", "value": "Acknowledged"},
            ],
        }
    ],
}
DEVICE_LOGIN = make_event(
    id="device-login",
    event_type="user_login",
    service="systems",
    initiated_by={"type": "systemuser", "id": "61c0ffee0000000000000a01", "username": "jane.doe"},
    system={"id": "63aa00000000000000000101", "hostname": "JDOE-MBP"},
)


@pytest.fixture
def alert(ingest) -> Alert:
    rule_create(data=FAILED_LOGINS, actor=None)
    ingest(make_event(id="login-1"))
    return Alert.objects.get()


@pytest.fixture
def responder(make_user):
    return make_user("responder", username="rita", email="rita@example.com")


def recorded(event_type: str) -> dict:
    return AuditEvent.objects.filter(event_type=event_type).latest("pk").payload


def test_status_update_event_carries_severity_category_source_and_correlation(alert, responder):
    alert_acknowledge(alert=alert, actor=responder, note="Looking into it")
    payload = recorded("alert_status_updated")
    assert (payload["severity"], payload["category"]) == ("High", "Directory")
    assert payload["resource"] == {
        "type": "alert",
        "id": str(alert.pk),
        "reference_id": alert.reference,
        "source_type": "user",
        "source_id": "61c0ffee0000000000000a02",
    }
    assert payload["correlation"] == {"id": str(alert.rule_id), "type": "alert_rule"}
    assert payload["changes"] == [
        {"field": "Status", "from": "Open", "to": "Acknowledged"},
        {"field": "Remark", "from": "", "to": "Looking into it"},
    ]
    assert payload["initiated_by"]["username"] == "rita"


def test_alert_updated_event_carries_severity_category_source_and_correlation(alert, responder):
    alert_note_add(alert=alert, author=responder, text="Called the user")
    alert_assign(alert=alert, assignee=responder, actor=responder)
    for payload in AuditEvent.objects.filter(event_type="alert_updated").values_list("payload", flat=True):
        assert (payload["severity"], payload["category"]) == ("High", "Directory")
        assert (payload["resource"]["source_type"], payload["resource"]["source_id"]) == (
            "user",
            "61c0ffee0000000000000a02",
        )
        assert payload["correlation"] == {"id": str(alert.rule_id), "type": "alert_rule"}


def test_alert_created_event_names_a_device_not_a_system(ingest):
    rule_create(data=DEVICE_LOGINS, actor=None)
    ingest(DEVICE_LOGIN)
    payload = recorded("alert_created")
    assert (payload["resource"]["source_type"], payload["resource"]["source_id"]) == (
        "device",
        "63aa00000000000000000101",
    )
    assert (payload["severity"], payload["category"]) == ("Medium", "Devices")


def test_rule_on_high_alert_acknowledged_matches_by_severity(alert, responder, django_capture_on_commit_callbacks):
    watcher = rule_create(data=HIGH_ALERT_ACKNOWLEDGED, actor=None)
    with django_capture_on_commit_callbacks(execute=True):
        alert_acknowledge(alert=alert, actor=responder)
    raised = Alert.objects.get(rule=watcher)
    assert raised.event.event_type == "alert_status_updated"
    # The watcher's alert is about the same user as the alert that was acknowledged.
    assert (raised.category, raised.source_type, raised.source_id) == ("alerts", "user", "61c0ffee0000000000000a02")


def test_rule_on_high_alert_acknowledged_ignores_lower_severities(
    ingest, responder, django_capture_on_commit_callbacks
):
    watcher = rule_create(data=HIGH_ALERT_ACKNOWLEDGED, actor=None)
    rule_create(data=DEVICE_LOGINS, actor=None)
    ingest(DEVICE_LOGIN)
    with django_capture_on_commit_callbacks(execute=True):
        alert_acknowledge(alert=Alert.objects.get(), actor=responder)
    assert not Alert.objects.filter(rule=watcher).exists()

"""Rule changes are recorded in the event log as alert_rule_create|update|delete by the acting user."""

from __future__ import annotations

from typing import Any

import pytest

from channels.models import Channel
from events.models import AuditEvent
from rules.services import rule_create, rule_delete, rule_set_enabled, rule_update

pytestmark = pytest.mark.django_db

RULES = "/api/v1/rules"
BODY = {
    "name": "Failed logins",
    "priority": "high",
    "conditions": [
        {"event_type": "user_login_attempt", "filters": [{"key": "success", "operator": "eq", "value": False}]}
    ],
}


def audit_events(event_type: str) -> list[dict[str, Any]]:
    return [event.payload for event in AuditEvent.objects.filter(event_type=event_type).order_by("pk")]


@pytest.fixture
def admin(auth_client):
    return auth_client("admin")


def test_create_records_alert_rule_create(admin):
    rule_id = admin.post(RULES, BODY, format="json").json()["id"]
    (event,) = audit_events("alert_rule_create")
    assert event["service"] == "alerts"
    assert event["resource"] == {"type": "alert_rule", "id": str(rule_id), "name": "Failed logins"}
    assert event["success"] is True


def test_audit_event_is_initiated_by_the_acting_user(admin):
    admin.post(RULES, BODY, format="json")
    (event,) = audit_events("alert_rule_create")
    assert event["initiated_by"]["username"] == admin.user.username
    assert event["initiated_by"]["id"] == str(admin.user.pk)


def test_change_without_a_user_is_initiated_by_the_system():
    rule_create(data=BODY, actor=None)
    (event,) = audit_events("alert_rule_create")
    assert event["initiated_by"] == {"type": "system", "id": "alertsite"}


def test_audit_event_columns_are_filled_for_search(admin):
    admin.post(RULES, BODY, format="json")
    stored = AuditEvent.objects.get(event_type="alert_rule_create")
    assert (stored.service, stored.resource) == ("alerts", "Failed logins")


def test_update_records_alert_rule_update_with_the_changed_fields(admin):
    rule_id = admin.post(RULES, BODY, format="json").json()["id"]
    admin.patch(f"{RULES}/{rule_id}", {"priority": "low", "description": "Logins that failed"}, format="json")
    (event,) = audit_events("alert_rule_update")
    assert event["service"] == "alerts"
    assert event["initiated_by"]["username"] == admin.user.username
    assert event["resource"] == {"type": "alert_rule", "id": str(rule_id), "name": "Failed logins"}
    assert sorted(event["changes"], key=lambda change: change["field"]) == [
        {"field": "description", "from": "", "to": "Logins that failed"},
        {"field": "priority", "from": "high", "to": "low"},
    ]


def test_rename_is_recorded_under_the_new_name(admin):
    rule_id = admin.post(RULES, BODY, format="json").json()["id"]
    admin.patch(f"{RULES}/{rule_id}", {"name": "Login failures"}, format="json")
    (event,) = audit_events("alert_rule_update")
    assert event["changes"] == [{"field": "name", "from": "Failed logins", "to": "Login failures"}]
    assert event["resource"]["name"] == "Login failures"


def test_channel_change_is_recorded_with_channel_ids():
    channel = Channel.objects.create(kind="webhook", name="SOC", config={"url": "http://127.0.0.1:9/hook"})
    rule = rule_create(data=BODY, actor=None)
    rule_update(rule=rule, data={"send_notifications": True, "channels": [channel.pk]}, actor=None)
    (event,) = audit_events("alert_rule_update")
    assert {"field": "channels", "from": [], "to": [channel.pk]} in event["changes"]
    assert {"field": "send_notifications", "from": False, "to": True} in event["changes"]


def test_resending_the_same_channels_in_another_order_records_nothing():
    zulu = Channel.objects.create(kind="webhook", name="Zulu", config={"url": "http://127.0.0.1:9/hook"})
    alpha = Channel.objects.create(kind="webhook", name="Alpha", config={"url": "http://127.0.0.1:9/hook"})
    rule = rule_create(data={**BODY, "send_notifications": True, "channels": [zulu.pk, alpha.pk]}, actor=None)
    rule_update(rule=rule, data={"channels": [zulu.pk, alpha.pk]}, actor=None)
    assert audit_events("alert_rule_update") == []


def test_disable_is_recorded_as_an_update(admin):
    rule_id = admin.post(RULES, BODY, format="json").json()["id"]
    admin.post(f"{RULES}/{rule_id}/disable")
    (event,) = audit_events("alert_rule_update")
    assert event["changes"] == [{"field": "enabled", "from": True, "to": False}]


def test_update_that_changes_nothing_records_nothing(admin):
    rule_id = admin.post(RULES, BODY, format="json").json()["id"]
    response = admin.patch(f"{RULES}/{rule_id}", {"priority": "high", "name": "Failed logins"}, format="json")
    assert response.status_code == 200
    assert audit_events("alert_rule_update") == []


def test_same_conditions_written_differently_record_nothing():
    rule = rule_create(data=BODY, actor=None)
    conditions = [{"event_type": "user_login_attempt", "match": "all", "filters": BODY["conditions"][0]["filters"]}]
    rule_update(rule=rule, data={"conditions": conditions}, actor=None)
    assert audit_events("alert_rule_update") == []


def test_enabling_an_enabled_rule_records_nothing():
    rule = rule_create(data=BODY, actor=None)
    rule_set_enabled(rule=rule, enabled=True, actor=None)
    assert audit_events("alert_rule_update") == []


def test_invalid_update_records_nothing():
    from rules.validation import RuleValidationError

    rule = rule_create(data=BODY, actor=None)
    with pytest.raises(RuleValidationError):
        rule_update(rule=rule, data={"priority": "urgent"}, actor=None)
    assert audit_events("alert_rule_update") == []


def test_delete_records_alert_rule_delete_naming_the_deleted_rule(admin):
    rule_id = admin.post(RULES, BODY, format="json").json()["id"]
    assert admin.delete(f"{RULES}/{rule_id}").status_code == 204
    (event,) = audit_events("alert_rule_delete")
    assert event["service"] == "alerts"
    assert event["initiated_by"]["username"] == admin.user.username
    assert event["resource"] == {"type": "alert_rule", "id": str(rule_id), "name": "Failed logins"}


def test_delete_through_the_service_records_the_actor(make_user):
    user = make_user("admin")
    rule = rule_create(data=BODY, actor=user)
    rule_delete(rule=rule, actor=user)
    (event,) = audit_events("alert_rule_delete")
    assert event["initiated_by"]["username"] == user.username


def test_rejected_create_records_nothing(admin):
    assert admin.post(RULES, {**BODY, "priority": "urgent"}, format="json").status_code == 400
    assert audit_events("alert_rule_create") == []

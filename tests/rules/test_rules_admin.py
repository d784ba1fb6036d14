"""The rules admin validates like the API and saves through the services."""

from __future__ import annotations

import json

import pytest

from events.models import AuditEvent
from rules.models import Rule, RuleMatch

pytestmark = pytest.mark.django_db

ADD = "/admin/rules/rule/add/"


def form_data(**overrides):
    data = {
        "enabled": "on",
        "name": "Admin TOTP disabled",
        "description": "",
        "priority": "high",
        "template": "event_based",
        "conditions": json.dumps([{"event_type": "admin_totp_disable"}]),
        "generate_alerts": "on",
        "group_by": "[]",
        "group_window_minutes": "0",
        "threshold": "null",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def test_admin_creates_a_rule_and_records_the_audit_event(admin_client, admin_user):
    response = admin_client.post(ADD, form_data())
    assert response.status_code == 302, response.content.decode()[:2000]
    rule = Rule.objects.get()
    assert rule.created_by == admin_user
    audit = AuditEvent.objects.get(event_type="alert_rule_create")
    assert audit.payload["initiated_by"]["username"] == admin_user.username


def test_admin_shows_contract_errors_next_to_their_fields(admin_client):
    conditions = json.dumps([{"event_type": "admin_totp_disable", "filters": [{"key": "x", "operator": "nope"}]}])
    response = admin_client.post(ADD, form_data(conditions=conditions, generate_alerts=None))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "conditions[0].filters[0].operator" in errors["conditions"][0]
    assert "Generate Alerts" in errors["generate_alerts"][0]
    assert Rule.objects.count() == 0


def test_admin_changelist_and_match_log_render(admin_client):
    admin_client.post(ADD, form_data())
    assert admin_client.get("/admin/rules/rule/").status_code == 200
    assert admin_client.get("/admin/rules/rulematch/").status_code == 200
    assert RuleMatch.objects.count() == 0


def test_admin_disable_action_goes_through_the_service(admin_client):
    admin_client.post(ADD, form_data())
    rule = Rule.objects.get()
    response = admin_client.post(
        "/admin/rules/rule/", {"action": "disable_rules", "_selected_action": [rule.pk]}, follow=True
    )
    assert "Disabled 1 rules" in response.content.decode()
    rule.refresh_from_db()
    assert rule.enabled is False
    assert AuditEvent.objects.filter(event_type="alert_rule_update").exists()

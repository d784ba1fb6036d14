"""Rule Management templates as data: admins add their own; the built-ins stay as the code defines them."""

from __future__ import annotations

import json

import pytest

from rules.models import Rule, RuleTemplate

pytestmark = pytest.mark.django_db

ADD = "/admin/rules/ruletemplate/add/"
LOCKOUTS = {"priority": "high", "conditions": [{"event_type": "user_lockout"}], "generate_alerts": True}


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def add_template(admin_client, **overrides):
    data = {
        "slug": "soc_lockouts",
        "tab": "insights",
        "name": "SOC: user lockouts",
        "description": "Our own starting point.",
        "rule": json.dumps(LOCKOUTS),
        "position": "2000",
    }
    data.update(overrides)
    return admin_client.post(ADD, data)


def test_admin_adds_a_template_that_the_api_lists_and_rules_start_from(admin_client, auth_client):
    response = add_template(admin_client)
    assert response.status_code == 302, response.content.decode()[:2000]
    stored = RuleTemplate.objects.get(slug="soc_lockouts")
    assert (stored.built_in, stored.rule["template"], stored.rule["priority"]) == (False, "soc_lockouts", "high")

    api = auth_client("admin")
    listed = api.get("/api/v1/rule-templates", {"search": "SOC"}).json()
    assert [template["slug"] for template in listed] == ["soc_lockouts"]
    created = api.post("/api/v1/rules", {"template": "soc_lockouts", "name": "Lockouts"}, format="json")
    assert created.status_code == 201, created.content
    rule = Rule.objects.get(pk=created.json()["id"])
    assert (rule.template, rule.priority, rule.conditions[0]["event_type"]) == ("soc_lockouts", "high", "user_lockout")


def test_template_body_is_checked_like_a_rule(admin_client):
    body = {"conditions": [{"event_type": "user_lockout", "filters": [{"key": "x", "operator": "nope"}]}]}
    response = add_template(admin_client, rule=json.dumps(body))
    assert response.status_code == 200
    assert "conditions[0].filters[0].operator" in response.content.decode()
    assert not RuleTemplate.objects.filter(slug="soc_lockouts").exists()


def test_built_in_templates_cannot_be_changed_or_deleted_in_the_admin(admin_client):
    builtin = RuleTemplate.objects.get(slug="user_lockout")
    page = admin_client.get(f"/admin/rules/ruletemplate/{builtin.pk}/change/")
    assert page.status_code == 200
    assert 'name="name"' not in page.content.decode()  # shown read-only
    assert admin_client.post(f"/admin/rules/ruletemplate/{builtin.pk}/delete/", {"post": "yes"}).status_code == 403
    assert RuleTemplate.objects.filter(slug="user_lockout").exists()


def test_unknown_template_is_still_a_400_on_rule_create(auth_client):
    response = auth_client("admin").post("/api/v1/rules", {"template": "nope", "name": "X"}, format="json")
    assert response.status_code == 400
    assert "template" in response.json()


def test_a_rule_made_from_a_template_later_deleted_can_still_be_disabled(auth_client):
    RuleTemplate.objects.create(slug="mine", tab="insights", name="Mine", rule={**LOCKOUTS, "template": "mine"})
    api = auth_client("admin")
    created = api.post("/api/v1/rules", {"template": "mine", "name": "From mine"}, format="json")
    assert created.status_code == 201, created.content
    RuleTemplate.objects.filter(slug="mine").delete()
    response = api.post(f"/api/v1/rules/{created.json()['id']}/disable")
    assert response.status_code == 200, response.content
    assert response.json()["enabled"] is False


def test_template_slug_that_is_not_a_slug_is_a_400(auth_client):
    response = auth_client("admin").post("/api/v1/rules", {"template": "\u0000", "name": "X"}, format="json")
    assert response.status_code == 400
    assert "template" in response.json()

"""Rule versions (api.md section 10): every change stores a version; readers read them; admins restore."""

from __future__ import annotations

import json
from typing import Any

import pytest

from channels.models import Channel
from rules.models import Rule, RuleVersion
from rules.services import rule_create, rule_restore, rule_set_enabled, rule_update
from rules.validation import RULE_FIELDS, RuleValidationError

pytestmark = pytest.mark.django_db

RULES = "/api/v1/rules"
FAILED = {"key": "success", "operator": "eq", "value": False}


def body(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "Failed admin logins",
        "priority": "high",
        "conditions": [{"event_type": "admin_login_attempt", "match": "all", "filters": [FAILED]}],
        **overrides,
    }


def webhook(name: str = "SOC webhook") -> Channel:
    return Channel.objects.create(kind="webhook", name=name, config={"url": "http://127.0.0.1:9/hook"})


def numbers(rule: Rule) -> list[int]:
    return list(RuleVersion.objects.filter(rule=rule).order_by("version").values_list("version", flat=True))


@pytest.fixture
def admin(auth_client):
    return auth_client("admin")


# -- services ----------------------------------------------------------------------------------


def test_create_stores_version_1_with_author_and_comment(admin_user):
    rule = rule_create(data=body(), actor=admin_user, comment="First cut")
    (version,) = RuleVersion.objects.filter(rule=rule)
    assert (version.version, version.author, version.comment) == (1, admin_user, "First cut")
    assert version.snapshot["name"] == "Failed admin logins"
    assert version.snapshot["channels"] == []


def test_version_holds_the_rule_fields_the_api_writes():
    rule = rule_create(data=body(), actor=None)
    assert set(RuleVersion.objects.get(rule=rule).snapshot) == set(RULE_FIELDS)


def test_update_enable_and_disable_each_store_a_version(admin_user):
    rule = rule_create(data=body(), actor=admin_user)
    rule_update(rule=rule, data={"priority": "low"}, actor=admin_user, comment="Too noisy")
    rule_set_enabled(rule=rule, enabled=False, actor=admin_user)
    rule_set_enabled(rule=rule, enabled=True, actor=admin_user)
    assert numbers(rule) == [1, 2, 3, 4]
    assert RuleVersion.objects.get(rule=rule, version=2).comment == "Too noisy"
    assert RuleVersion.objects.get(rule=rule, version=3).snapshot["enabled"] is False


def test_save_that_changes_nothing_stores_no_version(admin_user):
    rule = rule_create(data=body(), actor=admin_user)
    rule_update(rule=rule, data={"priority": "high"}, actor=admin_user)
    assert numbers(rule) == [1]


def test_version_keeps_channel_ids_and_names():
    channel = webhook("Ops hook")
    rule = rule_create(data=body(send_notifications=True, channels=[channel.pk]), actor=None)
    version = RuleVersion.objects.get(rule=rule)
    assert version.snapshot["channels"] == [channel.pk]
    assert version.channel_names == {str(channel.pk): "Ops hook"}


def test_failed_change_stores_no_version(admin_user):
    rule = rule_create(data=body(), actor=admin_user)
    with pytest.raises(RuleValidationError):
        rule_update(rule=rule, data={"priority": "urgent"}, actor=admin_user)
    assert numbers(rule) == [1]


def test_restore_brings_back_the_old_rule_as_a_new_version(admin_user):
    rule = rule_create(data=body(), actor=admin_user)
    rule_update(rule=rule, data={"priority": "low", "description": "changed"}, actor=admin_user)
    restored = rule_restore(rule=rule, version=RuleVersion.objects.get(rule=rule, version=1), actor=admin_user)
    assert (restored.priority, restored.description) == ("high", "")
    latest = RuleVersion.objects.get(rule=rule, version=3)
    assert latest.comment == "Restored version 1."
    assert latest.snapshot == RuleVersion.objects.get(rule=rule, version=1).snapshot


def test_restore_of_a_version_whose_channel_was_deleted_names_it(admin_user):
    channel = webhook("Ops hook")
    rule = rule_create(data=body(send_notifications=True, channels=[channel.pk]), actor=admin_user)
    rule_update(rule=rule, data={"send_notifications": False, "channels": []}, actor=admin_user)
    channel_pk = channel.pk
    channel.delete()
    with pytest.raises(RuleValidationError) as raised:
        rule_restore(rule=rule, version=RuleVersion.objects.get(rule=rule, version=1), actor=admin_user)
    assert f"'Ops hook' (id {channel_pk})" in raised.value.errors["channels"]
    assert numbers(rule) == [1, 2]


def test_deleting_a_rule_deletes_its_versions(admin_user):
    rule = rule_create(data=body(), actor=admin_user)
    rule.delete()
    assert not RuleVersion.objects.exists()


# -- API -----------------------------------------------------------------------------------------


def test_api_lists_versions_newest_first_with_author_and_comment(admin):
    rule_id = admin.post(RULES, {**body(), "comment": "New rule"}, format="json").json()["id"]
    admin.patch(f"{RULES}/{rule_id}", {"priority": "low", "comment": "Too noisy"}, format="json")
    response = admin.get(f"{RULES}/{rule_id}/versions")
    assert response.status_code == 200
    results = response.json()["results"]
    assert [item["version"] for item in results] == [2, 1]
    assert results[0]["comment"] == "Too noisy"
    assert results[0]["author"] == {"id": admin.user.pk, "username": admin.user.username}
    assert results[0]["rule"]["priority"] == "low"
    assert set(results[0]) == {"version", "created_at", "author", "comment", "rule"}


def test_api_enable_and_disable_take_a_comment(admin):
    rule_id = admin.post(RULES, body(), format="json").json()["id"]
    admin.post(f"{RULES}/{rule_id}/disable", {"comment": "Maintenance tonight"}, format="json")
    latest = admin.get(f"{RULES}/{rule_id}/versions").json()["results"][0]
    assert (latest["comment"], latest["rule"]["enabled"]) == ("Maintenance tonight", False)


def test_api_comment_must_be_text(admin):
    response = admin.post(RULES, {**body(), "comment": 12}, format="json")
    assert response.status_code == 400
    assert response.json() == {"comment": ["Must be text."]}


def test_api_version_shows_the_changes_since_the_previous_version(admin):
    rule_id = admin.post(RULES, body(), format="json").json()["id"]
    admin.patch(f"{RULES}/{rule_id}", {"priority": "low"}, format="json")
    detail = admin.get(f"{RULES}/{rule_id}/versions/2").json()
    assert detail["previous_version"] == 1
    assert detail["changes"] == [{"field": "priority", "from": "high", "to": "low"}]


def test_api_version_1_has_no_previous_version(admin):
    rule_id = admin.post(RULES, body(), format="json").json()["id"]
    detail = admin.get(f"{RULES}/{rule_id}/versions/1/").json()
    assert (detail["previous_version"], detail["changes"]) == (None, [])


def test_api_unknown_version_is_404(admin):
    rule_id = admin.post(RULES, body(), format="json").json()["id"]
    response = admin.get(f"{RULES}/{rule_id}/versions/9")
    assert response.status_code == 404
    assert "no version 9" in response.json()["detail"]


def test_api_restore_makes_a_new_version_equal_to_the_old_one(admin):
    rule_id = admin.post(RULES, body(), format="json").json()["id"]
    admin.patch(f"{RULES}/{rule_id}", {"priority": "low"}, format="json")
    response = admin.post(f"{RULES}/{rule_id}/versions/1/restore", {"comment": "Back to high"}, format="json")
    assert response.status_code == 200
    assert response.json()["priority"] == "high"
    latest = admin.get(f"{RULES}/{rule_id}/versions/3").json()
    assert latest["comment"] == "Back to high"
    assert latest["changes"] == [{"field": "priority", "from": "low", "to": "high"}]


def test_api_restore_of_deleted_channel_is_a_400_naming_it(admin):
    channel = webhook("Ops hook")
    rule_id = admin.post(RULES, body(send_notifications=True, channels=[channel.pk]), format="json").json()["id"]
    admin.patch(f"{RULES}/{rule_id}", {"send_notifications": False, "channels": []}, format="json")
    channel.delete()
    response = admin.post(f"{RULES}/{rule_id}/versions/1/restore", format="json")
    assert response.status_code == 400
    assert "'Ops hook'" in response.json()["channels"][0]


@pytest.mark.parametrize("role", ["viewer", "responder"])
def test_readers_read_versions_but_may_not_restore(auth_client, role):
    rule = rule_create(data=body(), actor=None)
    client = auth_client(role)
    assert client.get(f"{RULES}/{rule.pk}/versions").status_code == 200
    assert client.get(f"{RULES}/{rule.pk}/versions/1").status_code == 200
    assert client.post(f"{RULES}/{rule.pk}/versions/1/restore").status_code == 403


def test_anonymous_may_not_read_versions(api_client):
    rule = rule_create(data=body(), actor=None)
    assert api_client.get(f"{RULES}/{rule.pk}/versions").status_code == 401


def test_api_versions_are_paginated_like_the_rules_list(admin):
    rule_id = admin.post(RULES, body(), format="json").json()["id"]
    for priority in ("low", "medium", "high"):
        admin.patch(f"{RULES}/{rule_id}", {"priority": priority}, format="json")
    answer = admin.get(f"{RULES}/{rule_id}/versions?page=2&page_size=3").json()
    assert answer["count"] == 4
    assert [item["version"] for item in answer["results"]] == [1]


# -- admin -----------------------------------------------------------------------------------------


def admin_form(rule: Rule, **overrides: Any) -> dict[str, Any]:
    data = {
        "enabled": "on",
        "name": rule.name,
        "description": "",
        "priority": rule.priority,
        "template": rule.template,
        "conditions": json.dumps(rule.conditions),
        "generate_alerts": "on",
        "group_by": "[]",
        "group_window_minutes": "0",
        "threshold": "null",
        # The read-only versions inline still sends its management form.
        "versions-TOTAL_FORMS": "0",
        "versions-INITIAL_FORMS": "0",
        "versions-MIN_NUM_FORMS": "0",
        "versions-MAX_NUM_FORMS": "0",
        **overrides,
    }
    return data


def test_admin_change_note_is_stored_and_versions_show_inline(client, admin_user):
    client.force_login(admin_user)
    rule = rule_create(data=body(), actor=admin_user)
    url = f"/admin/rules/rule/{rule.pk}/change/"
    response = client.post(url, admin_form(rule, priority="low", comment="Quieter"))
    assert response.status_code == 302, response.content.decode()[:3000]
    assert RuleVersion.objects.get(rule=rule, version=2).comment == "Quieter"
    page = client.get(url).content.decode()
    assert "Quieter" in page
    assert "priority" in page  # the Changed column of version 2
    assert "first version" in page

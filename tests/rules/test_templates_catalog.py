from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from alertsite.priority import Priority
from events.catalog import ASSOCIATION_EVENT_TYPE, CATALOG_BY_NAME
from rules.conditions import Condition, condition_compile, conditions_parse
from rules.models import RuleTemplate
from rules.selectors import template_rule as stored_template_rule
from rules.selectors import templates_list
from rules.templates_catalog import RULE_TEMPLATES, TEMPLATE_TABS, TEMPLATES_BY_SLUG, builtin_templates_sync
from rules.validation import RULE_FIELDS, RuleValidationError, rule_validate
from tests.factories import make_event

EVENT_TYPES = tuple(CATALOG_BY_NAME)
READY_MADE = [template for template in RULE_TEMPLATES if template.slug != "event_based"]
SNAKE_CASE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")

REQUIRED_THEMES = (
    "event_based",
    "failed_admin_logins",
    "admin_totp_disabled",
    "user_lockout",
    "admin_created_or_deleted",
    "user_granted_admin_sudo",
    "user_added_to_privileged_group",
    "password_manager_items_exported",
    "fde_key_decrypted",
    "sso_failures",
    "login_outside_allowed_countries",
    "brute_force_user_logins",
    "user_suspended",
    "admin_privilege_granted",
)


def template_rule(slug: str) -> dict[str, Any]:
    """A copy of a built-in template's body, as the catalog defines it."""
    return copy.deepcopy(TEMPLATES_BY_SLUG[slug].rule)


def templates_in_tab(tab: str) -> list[Any]:
    return [template for template in RULE_TEMPLATES if template.tab == tab]


def matches(condition: Condition, event: dict[str, Any]) -> bool:
    """Decide as the engine does: the event's type first, then the condition's own predicate."""
    return event.get("event_type") == condition.event_type and condition_compile(condition)(event)


def parsed(slug: str) -> list[Condition]:
    return conditions_parse(template_rule(slug)["conditions"], event_types=EVENT_TYPES)


def association(op: str, source: dict[str, Any], target: dict[str, Any], attributes: Any = None) -> dict[str, Any]:
    return make_event(
        event_type=ASSOCIATION_EVENT_TYPE,
        initiated_by={"id": "60a1b2c3d4e5f60718293a4b", "type": "admin", "email": "it.admin@example.com"},
        association={
            "op": op,
            "action_source": "manual",
            "connection": {"from": source, "to": target},
            "attributes": attributes,
        },
        success=True,
    )


def group(name: str) -> dict[str, Any]:
    return {"type": "user_group", "object_id": "64bb00000000000000000201", "name": name}


CAROL = {"type": "user", "object_id": "61c0ffee0000000000000a03", "name": "carol.ng"}
LAPTOP = {"type": "system", "object_id": "63aa00000000000000000102", "name": "CNG-LAPTOP"}
ADMIN = {"id": "60a1b2c3d4e5f60718293a4b", "type": "admin", "email": "it.admin@example.com"}


def user_update(suspended_to: bool) -> dict[str, Any]:
    return make_event(
        event_type="user_update",
        initiated_by={**ADMIN, "source": "scim"},
        resource={"id": "61c0ffee0000000000000a02", "type": "user", "username": "bob.smith"},
        changes=[
            {"field": "company", "from": "Example Corp", "to": "Example Inc"},
            {"field": "suspended", "from": not suspended_to, "to": suspended_to},
        ],
        success=True,
    )


# For each ready-made template: an event its first condition matches, and one it does not.
EXAMPLES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "failed_admin_logins": (
        make_event(event_type="admin_login_attempt", initiated_by=ADMIN, success=False, error_message="bad password"),
        make_event(event_type="admin_login_attempt", initiated_by=ADMIN, success=True),
    ),
    "admin_totp_disabled": (
        make_event(
            event_type="admin_totp_disable",
            initiated_by=ADMIN,
            changes=[{"field": "enableMultiFactor", "from": True, "to": False}],
        ),
        make_event(event_type="admin_totp_finish_enrollment", initiated_by=ADMIN),
    ),
    "admin_lockout": (
        make_event(event_type="admin_lockout", initiated_by=ADMIN),
        make_event(event_type="admin_unlocked", initiated_by=ADMIN),
    ),
    "user_lockout": (
        make_event(event_type="user_lockout", resource={"id": "61c0ffee0000000000000a02", "type": "user"}),
        make_event(event_type="user_unlocked", resource={"id": "61c0ffee0000000000000a02", "type": "user"}),
    ),
    "admin_created_or_deleted": (
        make_event(event_type="admin_create", initiated_by=ADMIN, resource={"type": "admin", "email": "new@x.io"}),
        make_event(event_type="admin_update", initiated_by=ADMIN, resource={"type": "admin", "email": "new@x.io"}),
    ),
    "admin_privilege_granted": (
        make_event(event_type="admin_privilege_grant", initiated_by=ADMIN),
        make_event(event_type="admin_password_change", initiated_by=ADMIN),
    ),
    "user_granted_admin_sudo": (
        make_event(event_type="user_admin_granted", initiated_by=ADMIN),
        make_event(event_type="user_admin_revoked", initiated_by=ADMIN),
    ),
    "user_added_to_privileged_group": (
        association("add", group("Domain Admins"), CAROL),
        association("add", group("Contractors"), CAROL),
    ),
    "user_suspended": (user_update(suspended_to=True), user_update(suspended_to=False)),
    "user_totp_enrollment_deleted": (
        make_event(event_type="totp_delete_enrollment"),
        make_event(event_type="totp_finish_enrollment"),
    ),
    "brute_force_user_logins": (
        make_event(event_type="user_login_attempt", success=False, error_message="invalid credentials"),
        make_event(event_type="user_login_attempt", success=True),
    ),
    "alertsite_failed_logins": (
        make_event(
            event_type="alertsite_login_attempt",
            service="alerts",
            success=False,
            initiated_by={"type": "user", "username": "admin"},
            client_ip="203.0.113.24",
            error_message="invalid credentials",
        ),
        make_event(
            event_type="alertsite_login_attempt",
            service="alerts",
            success=True,
            initiated_by={"type": "user", "username": "admin"},
        ),
    ),
    "login_outside_allowed_countries": (
        make_event(event_type="user_login_attempt", success=True, geoip={"country_code": "BR"}),
        make_event(event_type="user_login_attempt", success=True, geoip={"country_code": "US"}),
    ),
    "login_without_mfa": (
        make_event(event_type="user_login_attempt", success=True, mfa=False, mfa_meta={"type": "none"}),
        make_event(event_type="user_login_attempt", success=True, mfa=True, mfa_meta={"type": "totp"}),
    ),
    "sso_failures": (
        make_event(
            event_type="sso_auth",
            service="sso",
            initiated_by={"id": "61c0ffee0000000000000a02", "type": "user", "username": "bob.smith"},
            application={"name": "zendesk", "display_label": "Zendesk SSO", "sso_type": "saml"},
            success=False,
            error_message="not authorized",
        ),
        make_event(event_type="sso_auth", service="sso", success=True, error_message=""),
    ),
    "password_manager_items_exported": (
        make_event(event_type="passwordmanager_items_export", service="password_manager"),
        make_event(event_type="passwordmanager_item_copy", service="password_manager"),
    ),
    "insights_source_failing": (
        make_event(event_type="insights_source_failed", service="alerts", success=False),
        make_event(event_type="insights_source_recovered", service="alerts"),
    ),
    "fde_key_decrypted": (
        make_event(event_type="system_fde_key_decrypt", initiated_by=ADMIN, resource={"type": "system"}),
        make_event(event_type="system_fde_key_update", initiated_by=ADMIN, resource={"type": "system"}),
    ),
    "conditional_access_policy_changed": (
        make_event(event_type="authpolicy_update", initiated_by=ADMIN),
        make_event(event_type="authnpolicy_create", initiated_by=ADMIN),
    ),
    "device_deleted": (
        make_event(event_type="system_delete", initiated_by=ADMIN, resource={"type": "system", "name": "CNG-LAPTOP"}),
        make_event(event_type="system_create", initiated_by=ADMIN, resource={"type": "system", "name": "CNG-LAPTOP"}),
    ),
    "remote_session_started": (
        make_event(event_type="remote_session_start", initiated_by=ADMIN),
        make_event(event_type="remote_session_end", initiated_by=ADMIN),
    ),
    # Detection templates (api.md section 12): their first condition; tests/rules/test_detection_templates.py
    # fires each on a whole sample set.
    "login_new_country": (
        make_event(event_type="user_login_attempt", success=True, geoip={"country_code": "DE"}),
        make_event(event_type="user_login_attempt", success=True, geoip=...),
    ),
    "first_admin_privilege_grant": (
        make_event(event_type="user_admin_granted", initiated_by=ADMIN, resource={"id": "u1", "type": "user"}),
        make_event(event_type="user_admin_revoked", initiated_by=ADMIN, resource={"id": "u1", "type": "user"}),
    ),
    "totp_disabled_then_password_changed": (
        make_event(event_type="admin_totp_disable", initiated_by=ADMIN, resource={"email": "helpdesk@example.com"}),
        make_event(event_type="admin_password_change", initiated_by=ADMIN, resource={"email": "helpdesk@example.com"}),
    ),
    "password_reset_then_login_new_country": (
        make_event(event_type="user_password_reset_request"),
        make_event(event_type="user_password_change"),
    ),
    "admin_privilege_granted_then_revoked": (
        make_event(event_type="user_admin_granted", initiated_by=ADMIN, resource={"id": "u1", "type": "user"}),
        make_event(event_type="user_admin_revoked", initiated_by=ADMIN, resource={"id": "u1", "type": "user"}),
    ),
    "admin_login_new_device_type": (
        make_event(event_type="admin_login_attempt", initiated_by=ADMIN, success=True, useragent={"device": "iPhone"}),
        make_event(event_type="admin_login_attempt", initiated_by=ADMIN, success=False, useragent={"device": "iPhone"}),
    ),
}


# -- the catalog's shape ------------------------------------------------------------------


@pytest.mark.parametrize("template", READY_MADE, ids=lambda template: template.slug)
def test_ready_made_template_conditions_parse_against_the_event_catalog(template: Any) -> None:
    assert conditions_parse(template.rule["conditions"], event_types=EVENT_TYPES)


def test_event_based_template_is_blank_low_priority_with_alerts_on_and_notifications_off() -> None:
    template = TEMPLATES_BY_SLUG["event_based"]
    rule = template.rule

    assert (template.tab, template.name) == ("insights", "Rule For Event Based Alerts")
    assert rule["conditions"] == []
    assert rule["priority"] == "low"
    assert rule["generate_alerts"] is True
    assert rule["send_notifications"] is False


def test_slugs_are_unique_and_snake_case() -> None:
    slugs = [template.slug for template in RULE_TEMPLATES]

    assert len(slugs) == len(set(slugs)) == len(TEMPLATES_BY_SLUG)
    assert all(SNAKE_CASE.match(slug) for slug in slugs), slugs


def test_insights_tab_has_at_least_ten_ready_made_templates_besides_event_based() -> None:
    insights = [template.slug for template in templates_in_tab("insights")]

    assert insights[0] == "event_based"
    assert len(insights) - 1 >= 10


@pytest.mark.parametrize("slug", REQUIRED_THEMES)
def test_required_theme_has_an_insights_template(slug: str) -> None:
    assert TEMPLATES_BY_SLUG[slug].tab == "insights"


def test_every_event_type_used_exists_in_the_catalog() -> None:
    used = {condition["event_type"] for template in RULE_TEMPLATES for condition in template.rule["conditions"]}

    assert used
    assert used <= set(CATALOG_BY_NAME), sorted(used - set(CATALOG_BY_NAME))


def test_every_template_sits_in_a_listed_tab_and_every_tab_has_templates() -> None:
    tabs = [slug for slug, _label in TEMPLATE_TABS]

    assert tabs[0] == "insights"
    assert {template.tab for template in RULE_TEMPLATES} == set(tabs)


@pytest.mark.parametrize("template", READY_MADE, ids=lambda template: template.slug)
def test_ready_made_rule_body_is_complete_and_alerts_without_notifying(template: Any) -> None:
    rule = template.rule

    assert set(rule) == set(RULE_FIELDS)
    assert rule["name"] == template.name
    assert rule["description"] == template.description
    assert rule["template"] == template.slug
    assert rule["priority"] in Priority.values
    assert rule["generate_alerts"] is True
    assert rule["send_notifications"] is False
    assert rule["channels"] == []
    assert rule["notify_on_acknowledge"] is False
    assert rule["notify_on_resolve"] is False
    assert rule["existing_conditions"] is False
    assert rule["conditions"]


@pytest.mark.parametrize("slug", ["failed_admin_logins", "admin_totp_disabled", "admin_created_or_deleted"])
def test_admin_compromise_templates_are_high_priority(slug: str) -> None:
    assert TEMPLATES_BY_SLUG[slug].rule["priority"] == "high"


# -- the stored catalog -------------------------------------------------------------------


@pytest.mark.django_db
def test_migrations_load_every_built_in_template_in_catalog_order() -> None:
    stored = templates_list()
    assert [template.slug for template in stored] == [template.slug for template in RULE_TEMPLATES]
    assert all(template.built_in for template in stored)
    assert stored[0].as_dict() == {**TEMPLATES_BY_SLUG["event_based"].as_dict()}


@pytest.mark.django_db
def test_sync_refreshes_built_ins_and_leaves_admins_templates_alone() -> None:
    RuleTemplate.objects.filter(slug="user_lockout").update(name="Edited behind our back")
    mine = RuleTemplate.objects.create(slug="mine", tab="insights", name="Mine", rule={"priority": "low"})
    builtin_templates_sync(RuleTemplate)
    assert RuleTemplate.objects.get(slug="user_lockout").name == TEMPLATES_BY_SLUG["user_lockout"].name
    assert RuleTemplate.objects.get(pk=mine.pk).name == "Mine"


@pytest.mark.django_db
def test_stored_template_rule_is_a_fresh_copy_each_time() -> None:
    rule = stored_template_rule("failed_admin_logins")
    rule["conditions"][0]["filters"][0]["value"] = True
    assert stored_template_rule("failed_admin_logins")["conditions"][0]["filters"][0]["value"] is False


@pytest.mark.django_db
def test_stored_template_rule_rejects_an_unknown_slug() -> None:
    with pytest.raises(KeyError):
        stored_template_rule("no_such_template")


@pytest.mark.django_db
def test_templates_list_filters_by_tab_and_name() -> None:
    assert {template.tab for template in templates_list(tab="devices")} == {"devices"}
    assert [template.slug for template in templates_list(search="BRUTE")] == ["brute_force_user_logins"]


def test_as_dict_lists_the_api_fields_with_a_copied_rule() -> None:
    template = TEMPLATES_BY_SLUG["sso_failures"]
    data = template.as_dict()

    assert set(data) == {"slug", "tab", "name", "description", "rule"}
    assert data["rule"] == template.rule
    assert data["rule"] is not template.rule


def test_brute_force_template_needs_five_failures_by_one_user_in_ten_minutes() -> None:
    rule = template_rule("brute_force_user_logins")

    assert rule["threshold"] == {"count": 5, "window_minutes": 10}
    assert rule["group_by"] == ["initiated_by.email"]
    assert rule["conditions"] == [
        {
            "event_type": "user_login_attempt",
            "match": "all",
            "filters": [{"key": "success", "operator": "eq", "value": False}],
        }
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("template", READY_MADE, ids=lambda template: template.slug)
def test_ready_made_template_passes_full_rule_validation(template: Any) -> None:
    values = rule_validate(template_rule(template.slug), event_types=EVENT_TYPES, channel_ids=[])

    assert values["name"] == template.name


@pytest.mark.django_db
def test_event_based_template_cannot_be_saved_until_named_and_given_events() -> None:
    with pytest.raises(RuleValidationError) as excinfo:
        rule_validate(template_rule("event_based"), event_types=EVENT_TYPES, channel_ids=[])

    assert {"name", "conditions"} <= set(excinfo.value.errors)


# -- matching realistic events ------------------------------------------------------------


def test_every_ready_made_template_has_a_matching_example() -> None:
    assert set(EXAMPLES) == {template.slug for template in READY_MADE}


@pytest.mark.parametrize("slug", sorted(EXAMPLES))
def test_first_condition_matches_its_realistic_event_and_not_the_other(slug: str) -> None:
    first = parsed(slug)[0]
    hit, miss = EXAMPLES[slug]

    assert matches(first, hit)
    assert not matches(first, miss)


def test_privileged_group_matches_whichever_way_round_the_membership_is_stored() -> None:
    condition = parsed("user_added_to_privileged_group")[0]

    assert matches(condition, association("add", group("IT Admins"), CAROL))
    assert matches(condition, association("add", CAROL, group("administrators")))
    assert not matches(condition, association("remove", group("Domain Admins"), CAROL))
    assert not matches(condition, association("add", group("Domain Admins"), LAPTOP))


def test_sudo_template_matches_an_association_that_turns_sudo_on() -> None:
    condition = next(c for c in parsed("user_granted_admin_sudo") if c.event_type == ASSOCIATION_EVENT_TYPE)
    sudo = {"sudo": {"enabled": True, "withoutPassword": False}}

    assert matches(condition, association("add", LAPTOP, CAROL, attributes=sudo))
    assert matches(condition, association("update", LAPTOP, CAROL, attributes=sudo))
    assert not matches(condition, association("add", LAPTOP, CAROL, attributes=None))
    assert not matches(condition, association("remove", LAPTOP, CAROL, attributes=sudo))
    assert not matches(condition, association("update", LAPTOP, CAROL, attributes={"sudo": {"enabled": False}}))


def test_admin_privilege_template_matches_an_admin_role_change() -> None:
    condition = next(c for c in parsed("admin_privilege_granted") if c.event_type == "admin_update")
    role_change = make_event(
        event_type="admin_update",
        initiated_by=ADMIN,
        changes=[{"field": "roleName", "from": "Help Desk", "to": "Administrator with Billing"}],
    )
    name_change = make_event(
        event_type="admin_update", initiated_by=ADMIN, changes=[{"field": "firstname", "from": "Al", "to": "Alan"}]
    )

    assert matches(condition, role_change)
    assert not matches(condition, name_change)


def test_country_template_ignores_logins_without_geolocation_and_failures() -> None:
    condition = parsed("login_outside_allowed_countries")[0]

    assert not matches(condition, make_event(event_type="user_login_attempt", success=True, geoip=...))
    assert not matches(condition, make_event(event_type="user_login_attempt", success=True, geoip=None))
    assert not matches(condition, make_event(event_type="user_login_attempt", success=False))
    assert matches(condition, make_event(event_type="user_login_attempt", success=True, geoip={"country_code": "de"}))


def test_suspension_template_also_matches_the_dedicated_event_and_legacy_update() -> None:
    conditions = parsed("user_suspended")
    legacy = {**user_update(suspended_to=True), "event_type": "systemuser_update"}

    assert any(matches(c, legacy) for c in conditions)
    assert any(matches(c, make_event(event_type="user_suspended")) for c in conditions)


@pytest.mark.django_db
def test_a_built_in_template_still_validates_when_its_row_is_missing() -> None:
    RuleTemplate.objects.all().delete()
    assert stored_template_rule("user_lockout") == TEMPLATES_BY_SLUG["user_lockout"].rule
    values = rule_validate({**template_rule("user_lockout")}, event_types=EVENT_TYPES, channel_ids=[])
    assert values["template"] == "user_lockout"


@pytest.mark.django_db
def test_sync_leaves_unchanged_built_ins_untouched() -> None:
    before = dict(RuleTemplate.objects.values_list("slug", "updated_at"))
    builtin_templates_sync(RuleTemplate)
    assert dict(RuleTemplate.objects.values_list("slug", "updated_at")) == before


@pytest.mark.django_db
def test_sync_never_takes_over_an_admins_template_holding_a_built_in_slug() -> None:
    RuleTemplate.objects.filter(slug="user_lockout").update(built_in=False, name="Ours")
    builtin_templates_sync(RuleTemplate)
    mine = RuleTemplate.objects.get(slug="user_lockout")
    assert (mine.built_in, mine.name) == (False, "Ours")

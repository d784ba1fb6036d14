"""The event-type catalog and association actions against the vendor's tables and the samples.

The sample events are the repository's own fixtures (tests/fixtures/event-samples). Only the
tests that compare the catalog with the vendor's seed text read it from the shared spec
directory beside the repository (../shared), and skip, saying so, where it is absent.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from events.catalog import (
    ASSOCIATION_ACTIONS,
    ASSOCIATION_ACTIONS_BY_SLUG,
    CATALOG_BY_NAME,
    COMMON_KEYS,
    CONNECTION_TYPES,
    EVENT_TYPES,
    FAMILY_KEYS,
    AssociationAction,
    association_action_matches,
    association_actions_for,
    catalog_sync,
    keys_for,
)

SHARED = Path(__file__).resolve().parents[3] / "shared"
SEED = SHARED / "seed" / "000_2dd7688d67b54d29.txt"
SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "event-samples"

# Values of events.models.EventCategory; importing the model needs Django settings, so the
# values are repeated here and checked against the model when Django is configured.
EVENT_CATEGORIES = {
    "admin",
    "user",
    "device",
    "application",
    "policy",
    "group",
    "association",
    "authentication",
    "password_manager",
    "saas_management",
    "software",
    "organization",
    "alerts",
    "other",
}
DOTTED_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
SLUG = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")


def _seed_tables() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Return the rows of the "Insight Alert Events" and "association_change Events" tables."""
    if not SEED.exists():
        pytest.skip(
            f"compares with the vendor's seed text, which is not part of the repository: {SEED} is absent "
            "(a checkout without the shared spec directory beside it)"
        )
    tables: dict[str, list[tuple[str, str]]] = {"events": [], "associations": []}
    current = None
    for line in SEED.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if stripped == "Insight Alert Events":
            current = "events"
        elif stripped == "association_change Events":
            current = "associations"
        elif current and stripped.startswith("|"):
            cells = [cell.strip() for cell in stripped.strip("|").split("|")]
            if cells[0] != "Event Type":
                tables[current].append((cells[0], cells[1]))
    return tables["events"], tables["associations"]


def _association_samples() -> list[dict[str, Any]]:
    return json.loads((SAMPLES / "association_change.json").read_text(encoding="utf-8"))


def _association_event(op: str, from_type: str, to_type: str) -> dict[str, Any]:
    return {
        "event_type": "association_change",
        "association": {
            "op": op,
            "connection": {"from": {"type": from_type, "object_id": "a"}, "to": {"type": to_type, "object_id": "b"}},
        },
    }


# Event types ----------------------------------------------------------------------------------


def test_the_seed_table_is_parsed_as_the_vendor_lists_it():
    events, associations = _seed_tables()
    assert len(events) == 116
    assert len({name for name, _ in events}) == 113
    assert len(associations) == 30


def test_every_seed_event_type_is_in_the_catalog():
    events, _ = _seed_tables()
    missing = sorted({name for name, _ in events} - set(CATALOG_BY_NAME))
    assert missing == []


def test_seed_descriptions_are_kept_for_names_the_vendor_lists_once():
    events, _ = _seed_tables()
    descriptions: dict[str, set[str]] = {}
    for name, description in events:
        descriptions.setdefault(name, set()).add(description)
    for name, wordings in descriptions.items():
        assert CATALOG_BY_NAME[name].description in wordings, name


def test_names_the_vendor_lists_twice_appear_once_with_one_of_its_wordings():
    events, _ = _seed_tables()
    names = [spec.name for spec in EVENT_TYPES]
    for duplicated in ("user_password_expired", "user_password_reset_request", "user_password_change"):
        assert sum(1 for name, _ in events if name == duplicated) == 2
        assert names.count(duplicated) == 1


def test_event_type_names_are_unique_and_sorted():
    names = [spec.name for spec in EVENT_TYPES]
    assert len(names) == len(set(names))
    assert names == sorted(names)
    assert set(CATALOG_BY_NAME) == set(names)


def test_documented_types_the_vendor_table_lacks_are_in_the_catalog():
    for name in (
        "radius_auth_attempt",
        "ldap_bind",
        "ldap_search",
        "user_login",
        "organization_create",
        "organization_update",
        "alert_created",
        "alert_updated",
        "alert_status_updated",
        "admin_privilege_grant",
        "user_group_create",
        "user_group_update",
        "user_group_delete",
        "system_group_create",
        "system_group_update",
        "system_group_delete",
    ):
        assert name in CATALOG_BY_NAME, name


def test_alertsite_audit_types_are_in_the_alerts_category():
    for name in (
        "alert_rule_create",
        "alert_rule_update",
        "alert_rule_delete",
        "notification_channel_create",
        "notification_channel_update",
        "notification_channel_delete",
        "notification_delivery_failed",
        "notification_test_sent",
    ):
        assert CATALOG_BY_NAME[name].category == "alerts", name


def test_every_sample_event_type_is_in_the_catalog():
    seen = set()
    for path in SAMPLES.glob("*.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        for event in data if isinstance(data, list) else [data]:
            seen.add(event["event_type"])
    assert seen
    assert sorted(seen - set(CATALOG_BY_NAME)) == []


def test_every_type_has_a_description_and_a_valid_category():
    for spec in EVENT_TYPES:
        assert spec.description.strip(), spec.name
        assert len(spec.description) <= 300, spec.name
        assert len(spec.name) <= 100 and re.fullmatch(r"[a-z][a-z0-9_]*", spec.name), spec.name
        assert spec.category in EVENT_CATEGORIES, spec.name


def test_catalog_categories_are_event_category_values():
    pytest.importorskip("django")
    from django.conf import settings

    if not settings.configured:
        pytest.skip("Django settings are not configured")
    from events.models import EventCategory

    assert set(EventCategory.values) == EVENT_CATEGORIES
    assert {spec.category for spec in EVENT_TYPES} <= set(EventCategory.values)


def test_keys_are_dotted_paths_that_start_with_the_common_keys():
    for spec in EVENT_TYPES:
        assert spec.keys[: len(COMMON_KEYS)] == COMMON_KEYS, spec.name
        assert len(spec.keys) == len(set(spec.keys)), spec.name
        for key in spec.keys:
            assert DOTTED_PATH.match(key), (spec.name, key)
    for family, keys in FAMILY_KEYS.items():
        for key in keys:
            assert DOTTED_PATH.match(key), (family, key)


def test_keys_of_a_spec_are_what_keys_for_computes():
    for spec in EVENT_TYPES:
        assert spec.keys == keys_for(spec.name)


def test_unknown_types_get_only_the_common_keys():
    assert keys_for("something_new_happened") == COMMON_KEYS


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("user_login_attempt", {"mfa_meta.type", "auth_context.auth_methods.totp.success", "error_message"}),
        ("admin_login_attempt", {"auth_context.policies_applied.name"}),
        ("sso_auth", {"application.name", "idp_initiated", "sso_token_success"}),
        ("radius_auth_attempt", {"nas_mfa_state", "outer.username"}),
        ("ldap_bind", {"dn", "tls_established"}),
        ("ldap_search", {"base", "number_of_results"}),
        ("user_login", {"system.hostname", "windows_meta.logon_type"}),
        ("user_update", {"resource.username", "changes.field", "changes.from", "changes.to", "correlation.type"}),
        ("association_change", {"association.op", "association.connection.to.type"}),
        ("alert_created", {"severity", "resource.source_type", "correlation.id"}),
        ("alert_status_updated", {"severity", "changes.field", "changes.to"}),
        ("mdm_command_result", {"request_type", "status"}),
    ],
)
def test_each_family_offers_its_keys(name, expected):
    assert expected <= set(keys_for(name))


def test_login_types_do_not_offer_change_keys():
    assert "changes.field" not in keys_for("user_login_attempt")
    assert "changes.field" not in keys_for("sso_auth")


# Association actions --------------------------------------------------------------------------


def test_there_are_exactly_30_association_actions_with_the_seed_descriptions():
    _, associations = _seed_tables()
    assert len(ASSOCIATION_ACTIONS) == 30
    assert {name for name, _ in associations} == {"association_change"}
    assert [action.description for action in ASSOCIATION_ACTIONS] == [description for _, description in associations]


def test_association_action_slugs_are_unique_snake_case():
    slugs = [action.slug for action in ASSOCIATION_ACTIONS]
    assert len(set(slugs)) == 30
    assert all(SLUG.match(slug) for slug in slugs)
    assert list(ASSOCIATION_ACTIONS_BY_SLUG) == slugs


def test_association_actions_use_known_ops_and_connection_types():
    for action in ASSOCIATION_ACTIONS:
        assert action.op in {"add", "remove", "update"}
        assert set(action.from_types) <= set(CONNECTION_TYPES), action.slug
        assert set(action.to_types) <= set(CONNECTION_TYPES), action.slug


def test_filters_use_the_contract_shape():
    action = ASSOCIATION_ACTIONS_BY_SLUG["user_added_to_user_group"]
    assert action.filters == [
        {"key": "association.op", "operator": "eq", "value": "add"},
        {"key": "association.connection.from.type", "operator": "in", "value": ["user"]},
        {"key": "association.connection.to.type", "operator": "in", "value": ["user_group"]},
    ]
    assert action.as_dict() == {
        "slug": "user_added_to_user_group",
        "description": "A user is added to a user group",
        "filters": action.filters,
    }


def test_bidirectional_actions_offer_the_swapped_filters_as_an_alternative():
    action = ASSOCIATION_ACTIONS_BY_SLUG["user_added_to_user_group"]
    assert action.filter_alternatives[1] == [
        {"key": "association.op", "operator": "eq", "value": "add"},
        {"key": "association.connection.from.type", "operator": "in", "value": ["user_group"]},
        {"key": "association.connection.to.type", "operator": "in", "value": ["user"]},
    ]


def test_the_generic_update_action_filters_only_on_the_op():
    action = ASSOCIATION_ACTIONS_BY_SLUG["association_updated"]
    assert action.description == "A user or device association / membership is updated"
    assert action.filters == [{"key": "association.op", "operator": "eq", "value": "update"}]
    assert action.filter_alternatives == [action.filters]
    assert association_action_matches(action, _association_event("update", "system", "user"))
    assert association_action_matches(action, _association_event("update", "anything", "else"))
    assert not association_action_matches(action, _association_event("add", "system", "user"))


@pytest.mark.parametrize(
    ("index", "expected_slug"),
    [
        (0, "user_added_to_user_group"),
        (1, "user_granted_access_to_device"),
        (2, "user_access_to_application_revoked"),
        (3, "policy_assigned_to_device"),
    ],
)
def test_each_association_sample_is_exactly_its_expected_action(index, expected_slug):
    event = _association_samples()[index]
    assert [action.slug for action in association_actions_for(event)] == [expected_slug]


def test_the_first_association_sample_is_a_user_added_to_a_user_group():
    event = _association_samples()[0]
    action = ASSOCIATION_ACTIONS_BY_SLUG["user_added_to_user_group"]
    assert action.description == "A user is added to a user group"
    assert association_action_matches(action, event)
    assert not association_action_matches(ASSOCIATION_ACTIONS_BY_SLUG["user_removed_from_user_group"], event)


def test_types_and_op_compare_ignoring_case():
    action = ASSOCIATION_ACTIONS_BY_SLUG["device_added_to_device_group"]
    assert association_action_matches(action, _association_event("ADD", "SYSTEM", "SYSTEM_GROUP"))
    assert association_action_matches(action, _association_event("add", "System_Group", "system"))


def test_a_bidirectional_action_matches_both_directions():
    action = ASSOCIATION_ACTIONS_BY_SLUG["user_granted_access_to_device"]
    assert association_action_matches(action, _association_event("add", "user", "system"))
    assert association_action_matches(action, _association_event("add", "system_group", "user_group"))


def test_a_one_way_action_does_not_match_swapped():
    action = AssociationAction("one_way", "One way", "add", ("user",), ("user_group",), bidirectional=False)
    assert association_action_matches(action, _association_event("add", "user", "user_group"))
    assert not association_action_matches(action, _association_event("add", "user_group", "user"))


def test_wrong_op_or_wrong_types_do_not_match():
    action = ASSOCIATION_ACTIONS_BY_SLUG["user_added_to_user_group"]
    assert not association_action_matches(action, _association_event("remove", "user", "user_group"))
    assert not association_action_matches(action, _association_event("add", "user", "system_group"))
    assert not association_action_matches(action, _association_event("add", "user", "user"))


@pytest.mark.parametrize(
    "event",
    [
        {},
        {"association": None},
        {"association": "add"},
        {"association": {"op": None}},
        {"association": {"op": "add"}},
        {"association": {"op": "add", "connection": []}},
        {"association": {"op": "add", "connection": {"from": "user", "to": {"type": 3}}}},
    ],
)
def test_malformed_association_payloads_do_not_match_and_do_not_raise(event):
    for action in ASSOCIATION_ACTIONS:
        if action.from_types or action.to_types:
            assert not association_action_matches(action, event), action.slug


def test_every_typed_action_matches_an_event_built_from_its_own_types():
    for action in ASSOCIATION_ACTIONS:
        if not action.from_types:
            continue
        event = _association_event(action.op, action.from_types[0], action.to_types[0])
        assert association_action_matches(action, event), action.slug
        swapped = _association_event(action.op, action.to_types[0], action.from_types[0])
        assert association_action_matches(action, swapped) == action.bidirectional, action.slug


def test_typed_actions_with_the_same_op_do_not_overlap():
    typed = [action for action in ASSOCIATION_ACTIONS if action.from_types]
    for action in typed:
        for from_type in action.from_types:
            for to_type in action.to_types:
                event = _association_event(action.op, from_type, to_type)
                matches = [other.slug for other in typed if association_action_matches(other, event)]
                assert matches == [action.slug], (action.slug, from_type, to_type)


# Sync -----------------------------------------------------------------------------------------


class _FakeManager:
    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}

    def update_or_create(self, *, name: str, defaults: dict[str, Any]) -> tuple[object, bool]:
        created = name not in self.rows
        self.rows.setdefault(name, {"known": False}).update(defaults)
        return object(), created


def test_catalog_sync_upserts_every_type_as_known_and_is_repeatable():
    model = type("FakeEventType", (), {"objects": _FakeManager()})
    model.objects.rows["user_update"] = {"known": False, "description": "", "category": "other", "keys": []}
    assert catalog_sync(model) == len(EVENT_TYPES)
    assert catalog_sync(model) == len(EVENT_TYPES)
    assert set(model.objects.rows) == set(CATALOG_BY_NAME)
    row = model.objects.rows["user_update"]
    spec = CATALOG_BY_NAME["user_update"]
    assert row == {"known": True, "description": spec.description, "category": spec.category, "keys": list(spec.keys)}
    assert isinstance(row["keys"], list)


@pytest.mark.django_db
def test_migrate_loads_the_catalog_as_known_types():
    from events.models import EventType

    rows = {row.name: row for row in EventType.objects.filter(name__in=list(CATALOG_BY_NAME))}
    assert set(rows) == set(CATALOG_BY_NAME)
    for name, spec in CATALOG_BY_NAME.items():
        row = rows[name]
        assert (row.known, row.description, row.category, row.keys) == (
            True,
            spec.description,
            spec.category,
            list(spec.keys),
        ), name

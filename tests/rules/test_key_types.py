"""Which operators the rule form offers for a key (issue 17, part 4; rules/key_types.py)."""

from __future__ import annotations

import pytest

from rules.key_types import ANY_KIND, BOOLEAN_KIND, IP_KIND, NUMBER_KIND, TEXT_KIND, key_kind, operators_for_kind
from rules.operators import operators


@pytest.mark.parametrize(
    ("key", "kind"),
    [
        ("client_ip", IP_KIND),
        ("src_ip", IP_KIND),
        ("success", BOOLEAN_KIND),
        ("auth_context.auth_methods.totp.success", BOOLEAN_KIND),
        ("error_code", NUMBER_KIND),
        ("initiated_by.email", TEXT_KIND),
        ("geoip.country_code", TEXT_KIND),
    ],
)
def test_a_key_is_typed_by_its_last_segment(key: str, kind: str) -> None:
    assert key_kind(key) == kind


def test_an_ip_address_is_never_greater_than_anything() -> None:
    offered = operators_for_kind(IP_KIND)
    assert not {"gt", "gte", "lt", "lte", "contains", "ends_with"} & set(offered)
    assert {"eq", "neq", "in", "not_in", "in_cidr", "not_in_cidr", "exists", "not_exists"} <= set(offered)


def test_a_boolean_is_compared_or_checked_for_presence_only() -> None:
    assert operators_for_kind(BOOLEAN_KIND) == ["eq", "neq", "exists", "not_exists"]


def test_a_number_offers_the_comparisons() -> None:
    assert operators_for_kind(NUMBER_KIND) == ["eq", "neq", "gt", "gte", "lt", "lte", "exists", "not_exists"]


def test_text_offers_everything_but_networks() -> None:
    offered = operators_for_kind(TEXT_KIND)
    assert "in_cidr" not in offered and "not_in_cidr" not in offered
    assert {"contains", "starts_with", "matches", "in", "gt"} <= set(offered)


def test_a_custom_key_may_take_any_operator_but_the_change_aware_ones() -> None:
    everything = [key for key, operator in operators.items() if not operator.on_changes]
    assert operators_for_kind(ANY_KIND) == everything


@pytest.mark.django_db
def test_the_rule_form_hands_the_kinds_to_its_script(login) -> None:
    page = login("admin").get("/insights/alerts/rules/new/?template=event_based").content.decode()
    assert '"ip_keys": ["client_ip"' in page
    assert '"kind_operators": {' in page

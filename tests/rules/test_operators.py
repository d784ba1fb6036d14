"""The filter operator registry: every operator plain, wrong type, missing path and through an array."""

from __future__ import annotations

from typing import Any

import pytest

from rules.conditions import Filter, filter_compile
from rules.operators import Operator, OperatorValueError, operators

NEGATED = {"neq", "not_contains", "not_in", "not_in_cidr", "not_exists"}
CHANGE_AWARE = {"changed", "changed_from", "changed_to"}

# For every operator: a valid value, a value at `key` that matches it and one that does not.
CASES: dict[str, tuple[Any, Any, Any]] = {
    "eq": ("alice", "alice", "bob"),
    "neq": ("alice", "bob", "alice"),
    "contains": ("admin", "it-admins", "users"),
    "not_contains": ("admin", "users", "it-admins"),
    "starts_with": ("jump", "jumpcloud", "cloudjump"),
    "ends_with": ("@example.com", "bob@example.com", "bob@example.org"),
    "in": (["US", "CA"], "CA", "DE"),
    "not_in": (["US", "CA"], "DE", "CA"),
    "gt": (5, 6, 5),
    "gte": (5, 5, 4),
    "lt": (5, 4, 5),
    "lte": (5, 5, 6),
    "matches": (r"^adm[0-9]+$", "adm42", "admin"),
    "exists": (None, "anything", None),
    "not_exists": (None, None, "anything"),
    "in_cidr": ("10.0.0.0/8", "10.1.2.3", "192.168.1.1"),
    "not_in_cidr": ("10.0.0.0/8", "192.168.1.1", "10.1.2.3"),
}

# A value of the wrong JSON type for the operator's value: numbers where strings are expected and back.
WRONG_TYPE: dict[str, tuple[Any, Any]] = {
    "eq": ("5", 5),
    "neq": ("5", 5),
    "contains": ("5", 5),
    "not_contains": ("5", 5),
    "starts_with": ("5", 5),
    "ends_with": ("5", 5),
    "in": (["5"], 5),
    "not_in": (["5"], 5),
    "gt": (5, "6"),
    "gte": (5, "6"),
    "lt": (5, "4"),
    "lte": (5, "4"),
    "matches": ("5", 5),
    "in_cidr": ("10.0.0.0/8", 167772161),
    "not_in_cidr": ("10.0.0.0/8", 167772161),
    "changed_from": ("1", 1),
    "changed_to": ("1", 1),
}

# A valid value for each operator, for checks that don't care about the value.
VALID_VALUE: dict[str, Any] = {key: case[0] for key, case in CASES.items()} | {
    "changed": None,
    "changed_from": "user",
    "changed_to": "admin",
}


def matches(operator: str, key: str, value: Any, event: dict[str, Any]) -> bool:
    return filter_compile(Filter(key=key, operator=operator, value=value))(event)


def test_registry_holds_every_operator_of_the_contract():
    assert set(operators.keys()) == set(VALID_VALUE)


def test_registry_choices_pair_each_key_with_its_label():
    choices = operators.choices()
    assert [key for key, _ in choices] == operators.keys()
    assert dict(choices)["in"] == "is one of"
    assert dict(choices)["not_in_cidr"] == "is not in network"
    assert all(isinstance(label, str) and label for _, label in choices)


def test_every_operator_describes_itself_with_its_label_and_value_kinds():
    for key, operator in operators.items():
        described = operator.as_dict()
        assert described["key"] == key
        assert described["label"] == operator.label
        assert described["value_kinds"]


# -- plain match and non-match -----------------------------------------------------------


@pytest.mark.parametrize("operator", sorted(CASES))
def test_operator_matches_a_fitting_value(operator):
    value, fitting, _ = CASES[operator]
    assert matches(operator, "field", value, {"field": fitting}) is True


@pytest.mark.parametrize("operator", sorted(CASES))
def test_operator_rejects_a_value_that_does_not_fit(operator):
    value, _, unfitting = CASES[operator]
    assert matches(operator, "field", value, {"field": unfitting}) is False


# -- wrong type of actual value ------------------------------------------------------------


@pytest.mark.parametrize("operator", sorted(set(WRONG_TYPE) - CHANGE_AWARE))
def test_actual_value_of_the_wrong_type_never_matches_a_positive_operator_and_always_a_negative_one(operator):
    value, actual = WRONG_TYPE[operator]
    assert matches(operator, "field", value, {"field": actual}) is (operator in NEGATED)


@pytest.mark.parametrize("operator", ["changed_from", "changed_to"])
def test_change_side_of_the_wrong_type_does_not_match(operator):
    value, actual = WRONG_TYPE[operator]
    event = {"changes": [{"field": "level", "from": actual, "to": actual}]}
    assert matches(operator, "level", value, event) is False


def test_object_actual_value_matches_no_string_operator():
    event = {"field": {"nested": "alice"}}
    for operator in ("eq", "contains", "starts_with", "ends_with", "matches"):
        assert matches(operator, "field", "alice", event) is False


# -- missing path ---------------------------------------------------------------------------


@pytest.mark.parametrize("operator", sorted(VALID_VALUE))
def test_missing_key_makes_only_negative_operators_true(operator):
    event = {"other": "alice", "changes": [{"field": "other", "from": "user", "to": "admin"}]}
    assert matches(operator, "field.inner", VALID_VALUE[operator], event) is (operator in NEGATED)


def test_missing_key_makes_neq_true():
    assert matches("neq", "initiated_by.email", "a@example.com", {"initiated_by": {}}) is True


def test_path_through_a_scalar_counts_as_missing():
    assert matches("eq", "initiated_by.email", "a", {"initiated_by": "a"}) is False
    assert matches("not_exists", "initiated_by.email", None, {"initiated_by": "a"}) is True


def test_present_null_does_not_exist():
    assert matches("exists", "field", None, {"field": None}) is False
    assert matches("not_exists", "field", None, {"field": None}) is True


def test_event_without_changes_list_changed_nothing():
    assert matches("changed", "role", None, {"changes": "role"}) is False
    assert matches("changed", "role", None, {}) is False


# -- through an array -----------------------------------------------------------------------

ROLE_CHANGE = {
    "changes": [
        {"field": "email", "from": "old@example.com", "to": "new@example.com"},
        {"field": "role", "from": "user", "to": "admin"},
    ],
    "attempts": [{"n": 1}, {"n": 10}],
    "addresses": [{"ip": "192.168.1.1"}, {"ip": "10.1.2.3"}],
}

# (operator, key, value, a version of the array where no element fits): matches only through
# the second element of ROLE_CHANGE's array.
THROUGH_ARRAY_POSITIVE = [
    ("eq", "changes.field", "role", {"changes": [{"field": "email"}, {"field": "status"}]}),
    ("contains", "changes.field", "ol", {"changes": [{"field": "email"}, {"field": "status"}]}),
    ("starts_with", "changes.field", "ro", {"changes": [{"field": "email"}, {"field": "status"}]}),
    ("ends_with", "changes.field", "le", {"changes": [{"field": "email"}, {"field": "status"}]}),
    ("in", "changes.field", ["role", "level"], {"changes": [{"field": "email"}, {"field": "status"}]}),
    ("gt", "attempts.n", 5, {"attempts": [{"n": 1}, {"n": 5}]}),
    ("gte", "attempts.n", 10, {"attempts": [{"n": 1}, {"n": 9}]}),
    ("lt", "attempts.n", 5, {"attempts": [{"n": 5}, {"n": 10}]}),
    ("lte", "attempts.n", 1, {"attempts": [{"n": 2}, {"n": 10}]}),
    ("matches", "changes.to", "^adm", {"changes": [{"to": "user"}, {"to": "Admin"}]}),
    ("exists", "changes.to", None, {"changes": [{"field": "email"}, {"field": "role"}]}),
    ("in_cidr", "addresses.ip", "10.0.0.0/8", {"addresses": [{"ip": "192.168.1.1"}, {"ip": "172.16.0.1"}]}),
]


@pytest.mark.parametrize(("operator", "key", "value", "unfitting"), THROUGH_ARRAY_POSITIVE)
def test_positive_operator_matches_when_any_element_of_an_array_does(operator, key, value, unfitting):
    assert matches(operator, key, value, ROLE_CHANGE) is True


@pytest.mark.parametrize(("operator", "key", "value", "unfitting"), THROUGH_ARRAY_POSITIVE)
def test_positive_operator_does_not_match_when_no_element_of_an_array_does(operator, key, value, unfitting):
    assert matches(operator, key, value, unfitting) is False


@pytest.mark.parametrize(
    ("operator", "key", "value"),
    [
        ("neq", "changes.field", "role"),
        ("not_contains", "changes.field", "ol"),
        ("not_in", "changes.field", ["role"]),
        ("not_in_cidr", "addresses.ip", "10.0.0.0/8"),
        ("not_exists", "changes.to", None),
    ],
)
def test_negative_operator_through_an_array_is_false_when_any_element_matches_its_positive_twin(operator, key, value):
    assert matches(operator, key, value, ROLE_CHANGE) is False


@pytest.mark.parametrize(
    ("operator", "key", "value"),
    [
        ("neq", "changes.field", "status"),
        ("not_contains", "changes.field", "xyz"),
        ("not_in", "changes.field", ["status"]),
        ("not_in_cidr", "addresses.ip", "172.16.0.0/12"),
        ("not_exists", "changes.reason", None),
    ],
)
def test_negative_operator_through_an_array_is_true_when_no_element_matches_its_positive_twin(operator, key, value):
    assert matches(operator, key, value, ROLE_CHANGE) is True


def test_array_of_scalars_at_the_end_of_a_path_matches_any_element():
    assert matches("eq", "tags", "vip", {"tags": ["new", "VIP"]}) is True


def test_nested_arrays_are_flattened():
    assert matches("eq", "groups.members", "carol", {"groups": [{"members": ["al", "bo"]}, {"members": ["carol"]}]})


# -- strings ignore case, booleans are not numbers ------------------------------------------


@pytest.mark.parametrize(
    ("operator", "value", "actual"),
    [
        ("eq", "Alice@Example.com", "alice@EXAMPLE.com"),
        ("contains", "ADMIN", "it-admins"),
        ("starts_with", "JUMP", "jumpcloud"),
        ("ends_with", "@EXAMPLE.COM", "bob@example.com"),
        ("in", ["us", "ca"], "CA"),
    ],
)
def test_string_comparisons_ignore_case(operator, value, actual):
    assert matches(operator, "field", value, {"field": actual}) is True


@pytest.mark.parametrize(
    ("operator", "value", "actual"),
    [("neq", "Alice", "ALICE"), ("not_contains", "ADMIN", "it-admins"), ("not_in", ["us"], "US")],
)
def test_negative_string_comparisons_ignore_case(operator, value, actual):
    assert matches(operator, "field", value, {"field": actual}) is False


def test_matches_is_case_sensitive():
    assert matches("matches", "field", "^admin", {"field": "Admin"}) is False
    assert matches("matches", "field", "(?i)^admin", {"field": "Admin"}) is True


def test_matches_searches_anywhere_in_the_string():
    assert matches("matches", "field", "adm[0-9]", {"field": "user adm7 here"}) is True


@pytest.mark.parametrize(("value", "actual"), [(True, 1), (1, True), (False, 0), (0, False)])
def test_booleans_never_equal_numbers(value, actual):
    assert matches("eq", "field", value, {"field": actual}) is False
    assert matches("neq", "field", value, {"field": actual}) is True


def test_booleans_in_a_list_never_match_numbers():
    assert matches("in", "field", [1], {"field": True}) is False
    assert matches("in", "field", [True], {"field": 1}) is False
    assert matches("in", "field", [True, "x"], {"field": True}) is True


def test_booleans_equal_booleans():
    assert matches("eq", "success", False, {"success": False}) is True
    assert matches("eq", "success", False, {"success": True}) is False


def test_integers_equal_floats_of_the_same_value():
    assert matches("eq", "field", 1, {"field": 1.0}) is True


def test_string_never_equals_a_number():
    assert matches("eq", "field", "1", {"field": 1}) is False
    assert matches("eq", "field", 1, {"field": "1"}) is False


# -- in_cidr -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "address", "expected"),
    [
        ("10.0.0.0/8", "10.255.0.1", True),
        ("10.0.0.0/8", "11.0.0.1", False),
        ("203.0.113.7/32", "203.0.113.7", True),
        ("203.0.113.7", "203.0.113.7", True),
        ("2001:db8::/32", "2001:db8:1::5", True),
        ("2001:db8::/32", "2001:db9::5", False),
        ("2001:DB8::/32", "2001:db8::1", True),
        (["192.168.0.0/16", "2001:db8::/32"], "2001:db8::1", True),
        (["192.168.0.0/16", "2001:db8::/32"], "192.168.4.4", True),
        (["192.168.0.0/16", "2001:db8::/32"], "172.16.0.1", False),
        ("10.1.2.3/8", "10.9.9.9", True),  # host bits set: still the /8 network
    ],
)
def test_in_cidr_checks_ipv4_and_ipv6_networks_and_lists(value, address, expected):
    assert matches("in_cidr", "client_ip", value, {"client_ip": address}) is expected
    assert matches("not_in_cidr", "client_ip", value, {"client_ip": address}) is not expected


def test_ipv4_address_is_never_in_an_ipv6_network():
    assert matches("in_cidr", "client_ip", "::/0", {"client_ip": "10.0.0.1"}) is False


@pytest.mark.parametrize("address", ["not-an-ip", "10.0.0.256", "", "10.0.0.0/8", "300.1.1.1"])
def test_in_cidr_with_an_invalid_actual_address_is_false(address):
    assert matches("in_cidr", "client_ip", "0.0.0.0/0", {"client_ip": address}) is False


def test_not_in_cidr_with_an_invalid_actual_address_is_true():
    assert matches("not_in_cidr", "client_ip", "10.0.0.0/8", {"client_ip": "garbage"}) is True


# -- ordering: numbers and timestamps ----------------------------------------------------------


@pytest.mark.parametrize(
    ("operator", "value", "actual", "expected"),
    [
        ("gt", 10, 10.5, True),
        ("gt", 10, 10, False),
        ("gte", 10, 10, True),
        ("lt", 0, -1, True),
        ("lte", 2.5, 2.5, True),
        ("lte", 2.5, 2.6, False),
    ],
)
def test_ordering_operators_compare_numbers(operator, value, actual, expected):
    assert matches(operator, "field", value, {"field": actual}) is expected


@pytest.mark.parametrize(
    ("operator", "value", "actual", "expected"),
    [
        ("gt", "2025-03-01T00:00:00Z", "2025-03-01T00:00:01Z", True),
        ("gt", "2025-03-01T00:00:00Z", "2025-02-28T23:59:59Z", False),
        ("gte", "2025-03-01T00:00:00Z", "2025-03-01T00:00:00.000Z", True),
        ("lt", "2025-03-01T00:00:00Z", "2025-03-01T00:30:00+01:00", True),  # 23:30 UTC the day before
        ("lte", "2025-03-01T00:00:00Z", "2025-03-01T01:00:00+01:00", True),  # the same instant
        ("lt", "2025-03-01T00:00:00Z", "2025-03-01T01:00:00+01:00", False),
    ],
)
def test_ordering_operators_compare_rfc3339_timestamps_as_instants(operator, value, actual, expected):
    assert matches(operator, "timestamp", value, {"timestamp": actual}) is expected


def test_timestamp_never_compares_with_a_number():
    assert matches("gt", "timestamp", 0, {"timestamp": "2025-03-01T00:00:00Z"}) is False
    assert matches("lt", "field", "2025-03-01T00:00:00Z", {"field": 5}) is False


def test_plain_string_is_not_ordered():
    assert matches("gt", "field", "2025-03-01T00:00:00Z", {"field": "zzz"}) is False


def test_boolean_is_not_ordered_as_a_number():
    assert matches("gt", "field", 0, {"field": True}) is False


# -- change-aware operators ----------------------------------------------------------------------

USER_UPDATE = {
    "event_type": "user_update",
    "changes": [
        {"field": "email", "from": "old@example.com", "to": "new@example.com"},
        {"field": "suspended", "from": False, "to": True},
        {"field": "tags", "from": ["a"], "to": ["a", "VIP"]},
    ],
}


def test_changed_matches_a_field_named_in_changes():
    assert matches("changed", "suspended", None, USER_UPDATE) is True


def test_changed_ignores_the_case_of_the_field_name():
    assert matches("changed", "EMAIL", None, USER_UPDATE) is True


def test_changed_does_not_match_a_field_not_named_in_changes():
    assert matches("changed", "password", None, USER_UPDATE) is False


def test_changed_from_compares_the_old_value():
    assert matches("changed_from", "email", "OLD@example.com", USER_UPDATE) is True
    assert matches("changed_from", "email", "new@example.com", USER_UPDATE) is False


def test_changed_to_compares_the_new_value():
    assert matches("changed_to", "suspended", True, USER_UPDATE) is True
    assert matches("changed_to", "suspended", False, USER_UPDATE) is False


def test_changed_to_matches_any_item_of_a_list_value():
    assert matches("changed_to", "tags", "vip", USER_UPDATE) is True


def test_changed_to_keeps_booleans_apart_from_numbers():
    assert matches("changed_to", "suspended", 1, USER_UPDATE) is False


def test_changed_from_of_an_entry_without_that_side_is_false():
    event = {"changes": [{"field": "role", "to": "admin"}]}
    assert matches("changed_from", "role", "user", event) is False
    assert matches("changed_to", "role", "admin", event) is True


def test_changed_looks_only_at_the_entries_for_its_field():
    assert matches("changed_to", "email", True, USER_UPDATE) is False


# -- save-time validation ---------------------------------------------------------------------


@pytest.mark.parametrize("operator", sorted(VALID_VALUE))
def test_every_operator_accepts_its_valid_value(operator):
    operators.get(operator).validate(VALID_VALUE[operator])


@pytest.mark.parametrize(
    ("operator", "value"),
    [
        ("eq", None),
        ("eq", ["a"]),
        ("eq", {"a": 1}),
        ("neq", None),
        ("contains", 5),
        ("not_contains", True),
        ("starts_with", 5),
        ("ends_with", ["a"]),
        ("in", "US"),
        ("not_in", 5),
        ("gt", True),
        ("gte", None),
        ("lt", ["1"]),
        ("lte", "yesterday"),
        ("matches", 5),
        ("exists", "x"),
        ("not_exists", True),
        ("in_cidr", 10),
        ("not_in_cidr", None),
        ("changed", "x"),
        ("changed_from", None),
        ("changed_to", ["admin"]),
    ],
)
def test_validate_rejects_a_value_of_the_wrong_kind(operator, value):
    with pytest.raises(OperatorValueError):
        operators.get(operator).validate(value)


@pytest.mark.parametrize("operator", ["in", "not_in", "in_cidr", "not_in_cidr"])
def test_validate_rejects_an_empty_list(operator):
    with pytest.raises(OperatorValueError, match="at least one"):
        operators.get(operator).validate([])


def test_validate_rejects_nested_values_in_a_list():
    with pytest.raises(OperatorValueError, match="List values"):
        operators.get("in").validate(["a", ["b"]])


def test_validate_rejects_an_overlong_list():
    with pytest.raises(OperatorValueError, match="At most"):
        operators.get("in").validate([str(n) for n in range(501)])


@pytest.mark.parametrize("pattern", ["(", "[a-", "a{2,1}", "*a"])
def test_validate_rejects_a_bad_regular_expression(pattern):
    with pytest.raises(OperatorValueError, match="Invalid regular expression"):
        operators.get("matches").validate(pattern)


def test_validate_rejects_an_overlong_regular_expression():
    with pytest.raises(OperatorValueError, match="longer than"):
        operators.get("matches").validate("a" * 1001)


def test_catastrophic_backtracking_pattern_is_safe():
    operators.get("matches").validate("(a+)+$")
    subject = "a" * 50_000 + "b"
    assert matches("matches", "field", "(a+)+$", {"field": subject}) is False
    assert matches("matches", "field", "(a+)+b$", {"field": subject}) is True


@pytest.mark.parametrize("value", ["10.0.0.0/33", "not-a-network", "2001:db8::/129", ["10.0.0.0/8", "x"], [5]])
def test_validate_rejects_a_bad_cidr(value):
    with pytest.raises(OperatorValueError):
        operators.get("in_cidr").validate(value)


def test_validate_rejects_a_bad_cidr_for_not_in_cidr_too():
    with pytest.raises(OperatorValueError, match="Invalid CIDR"):
        operators.get("not_in_cidr").validate("10.0.0.0/99")


def test_validate_accepts_a_list_of_ipv4_and_ipv6_networks():
    operators.get("in_cidr").validate(["10.0.0.0/8", "2001:db8::/32", "203.0.113.7"])


def test_validate_rejects_an_ordering_value_that_is_not_a_timestamp():
    with pytest.raises(OperatorValueError, match="RFC 3339"):
        operators.get("gt").validate("2025-03-01")  # a date without a time and zone


def test_validate_accepts_an_rfc3339_timestamp_for_ordering():
    operators.get("lte").validate("2025-03-01T00:00:00+02:00")


def test_operator_is_a_frozen_registry_entry():
    operator = operators.get("eq")
    assert isinstance(operator, Operator)
    with pytest.raises(AttributeError):
        operator.key = "other"  # type: ignore[misc]


def test_unknown_operator_is_not_in_the_registry():
    assert "equals" not in operators
    with pytest.raises(KeyError):
        operators.get("equals")

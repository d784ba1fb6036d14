"""Parsing conditions (every error names its path), association actions and explanations."""

from __future__ import annotations

from typing import Any

import pytest

from events.catalog import ASSOCIATION_ACTIONS, CATALOG_BY_NAME
from rules.conditions import (
    MAX_EXPRESSION_LENGTH,
    MAX_FILTERS,
    Condition,
    ConditionError,
    Filter,
    condition_compile,
    condition_explain,
    conditions_parse,
)
from tests.factories import make_event

EVENT_TYPES = tuple(CATALOG_BY_NAME)
FAILED_LOGIN_FILTER = {"key": "success", "operator": "eq", "value": False}


def errors_of(data: Any, **kwargs: Any) -> dict[str, str]:
    with pytest.raises(ConditionError) as caught:
        conditions_parse(data, **kwargs)
    return caught.value.errors


def login_condition(*filters: dict[str, Any], **extra: Any) -> list[dict[str, Any]]:
    return [{"event_type": "user_login_attempt", "filters": list(filters), **extra}]


def association_event(op: str, source: str, target: str, **extra: Any) -> dict[str, Any]:
    """The shared sample's shape: DI records adding a user to a group as user_group -> user."""
    return make_event(
        event_type="association_change",
        initiated_by={"id": "60a1b2c3d4e5f60718293a4b", "type": "admin", "email": "it.admin@example.com"},
        association={
            "op": op,
            "action_source": "manual",
            "connection": {
                "from": {"type": source, "object_id": "64bb00000000000000000201", "name": "Domain Admins"},
                "to": {"type": target, "object_id": "61c0ffee0000000000000a03", "name": "carol.ng"},
            },
            "attributes": None,
        },
        success=True,
        **extra,
    )


def compiled(data: list[dict[str, Any]]) -> list[Any]:
    return [condition_compile(condition) for condition in conditions_parse(data, event_types=EVENT_TYPES)]


# -- errors name their path ----------------------------------------------------------------------


@pytest.mark.parametrize("data", [None, "user_login_attempt", {"event_type": "user_login_attempt"}, 5])
def test_conditions_that_are_not_a_list_are_rejected(data):
    assert set(errors_of(data)) == {"conditions"}


def test_empty_conditions_list_is_rejected():
    assert errors_of([]) == {"conditions": "Select at least one event."}


def test_more_than_200_conditions_are_rejected():
    errors = errors_of([{"event_type": "user_login_attempt"}] * 201)
    assert set(errors) == {"conditions"}


def test_condition_that_is_not_an_object_is_rejected_at_its_index():
    assert set(errors_of([{"event_type": "user_login_attempt"}, "user_lockout"])) == {"conditions[1]"}


def test_missing_event_type_is_required():
    assert set(errors_of([{"filters": [FAILED_LOGIN_FILTER]}])) == {"conditions[0].event_type"}


def test_unknown_event_type_is_rejected_when_a_catalog_is_given():
    errors = errors_of([{"event_type": "no_such_event"}], event_types=EVENT_TYPES)
    assert "no_such_event" in errors["conditions[0].event_type"]


def test_any_event_type_is_accepted_without_a_catalog():
    assert conditions_parse([{"event_type": "no_such_event"}])[0].event_type == "no_such_event"


def test_too_many_filters_are_rejected_on_the_filters_list():
    filters = [{"key": f"k{n}", "operator": "exists"} for n in range(MAX_FILTERS + 1)]
    errors = errors_of(login_condition(*filters))
    assert set(errors) == {"conditions[0].filters"}
    assert "26" in errors["conditions[0].filters"]


def test_twenty_five_filters_are_allowed():
    filters = [{"key": f"k{n}", "operator": "exists"} for n in range(MAX_FILTERS)]
    assert len(conditions_parse(login_condition(*filters))[0].filters) == MAX_FILTERS


def test_filters_that_are_not_a_list_are_rejected():
    assert set(errors_of([{"event_type": "user_login_attempt", "filters": {"key": "success"}}])) == {
        "conditions[0].filters"
    }


def test_unknown_operator_is_rejected_at_its_filter():
    data = login_condition(
        FAILED_LOGIN_FILTER,
        {"key": "client_ip", "operator": "exists"},
        {"key": "geoip.country_code", "operator": "equals", "value": "US"},
    )
    errors = errors_of(data)
    assert set(errors) == {"conditions[0].filters[2].operator"}
    assert "equals" in errors["conditions[0].filters[2].operator"]


def test_missing_operator_is_required():
    assert errors_of(login_condition({"key": "success", "value": False})) == {
        "conditions[0].filters[0].operator": "This field is required."
    }


def test_value_of_the_wrong_type_is_rejected_on_value():
    errors = errors_of(login_condition({"key": "geoip.country_code", "operator": "in", "value": "US"}))
    assert set(errors) == {"conditions[0].filters[0].value"}


def test_bad_regular_expression_is_rejected_on_value():
    errors = errors_of(login_condition({"key": "initiated_by.email", "operator": "matches", "value": "("}))
    assert set(errors) == {"conditions[0].filters[0].value"}


@pytest.mark.parametrize("key", ["", "a..b", ".a", "a.", "with space", "a/b", 5, None])
def test_bad_key_is_rejected_on_key(key):
    assert set(errors_of(login_condition({"key": key, "operator": "exists"}))) == {"conditions[0].filters[0].key"}


def test_key_with_a_trailing_newline_is_rejected_on_key():
    assert set(errors_of(login_condition({"key": "success\n", "operator": "exists"}))) == {
        "conditions[0].filters[0].key"
    }


def test_changed_field_name_with_a_trailing_newline_is_rejected_on_key():
    assert set(errors_of(login_condition({"key": "email\n", "operator": "changed"}))) == {
        "conditions[0].filters[0].key"
    }


def test_changed_takes_a_field_name_that_is_not_a_dotted_key():
    parsed = conditions_parse(login_condition({"key": "Group Name", "operator": "changed"}))
    assert parsed[0].filters == (Filter(key="Group Name", operator="changed"),)


def test_unknown_field_of_a_filter_is_rejected():
    assert set(errors_of(login_condition({**FAILED_LOGIN_FILTER, "negate": True}))) == {
        "conditions[0].filters[0].negate"
    }


def test_unknown_field_of_a_condition_is_rejected():
    assert set(errors_of(login_condition(FAILED_LOGIN_FILTER, severity="high"))) == {"conditions[0].severity"}


def test_match_must_be_all_or_any():
    assert set(errors_of(login_condition(FAILED_LOGIN_FILTER, match="some"))) == {"conditions[0].match"}


def test_filters_and_expression_together_are_rejected_on_the_condition():
    errors = errors_of(login_condition(FAILED_LOGIN_FILTER, expression="success == false"))
    assert set(errors) == {"conditions[0]"}


def test_expression_longer_than_the_limit_is_rejected():
    expression = "success == false" + " " * (MAX_EXPRESSION_LENGTH + 1 - len("success == false"))
    assert len(expression) == 4097
    errors = errors_of([{"event_type": "user_login_attempt", "expression": expression}])
    assert set(errors) == {"conditions[0].expression"}
    assert "4096" in errors["conditions[0].expression"]


def test_expression_at_the_limit_is_accepted():
    expression = "success == false" + " " * (MAX_EXPRESSION_LENGTH - len("success == false"))
    assert conditions_parse([{"event_type": "user_login_attempt", "expression": expression}])[0].expression


def test_malformed_expression_reports_line_and_column():
    errors = errors_of([{"event_type": "user_login_attempt", "expression": "success ==\n  (false"}])
    message = errors["conditions[0].expression"]
    assert "line 2" in message
    assert "column" in message


def test_non_boolean_expression_is_rejected():
    errors = errors_of([{"event_type": "user_login_attempt", "expression": "initiated_by.email"}])
    assert "true or false" in errors["conditions[0].expression"]


def test_expression_that_is_not_a_string_is_rejected():
    assert set(errors_of([{"event_type": "user_login_attempt", "expression": ["success"]}])) == {
        "conditions[0].expression"
    }


def test_action_on_an_event_type_other_than_association_change_is_rejected():
    data = [{"event_type": "user_login_attempt", "action": "user_added_to_user_group"}]
    assert set(errors_of(data, event_types=EVENT_TYPES)) == {"conditions[0].action"}


def test_unknown_association_action_is_rejected():
    errors = errors_of([{"event_type": "association_change", "action": "user_promoted"}], event_types=EVENT_TYPES)
    assert "user_promoted" in errors["conditions[0].action"]


def test_every_problem_of_every_condition_is_reported_at_once():
    data = [
        {"event_type": "user_login_attempt", "filters": [{"key": "success", "operator": "is", "value": False}]},
        {"event_type": "nope", "match": "some"},
    ]
    assert set(errors_of(data, event_types=EVENT_TYPES)) == {
        "conditions[0].filters[0].operator",
        "conditions[1].event_type",
        "conditions[1].match",
    }


def test_condition_error_message_names_each_path():
    with pytest.raises(ConditionError, match=r"conditions\[0\]\.filters\[0\]\.operator"):
        conditions_parse(login_condition({"key": "success", "operator": "is", "value": False}))


# -- parsing keeps the contract's shape --------------------------------------------------------


def test_parsed_condition_defaults_match_to_all():
    condition = conditions_parse(login_condition(FAILED_LOGIN_FILTER))[0]
    assert condition == Condition(event_type="user_login_attempt", filters=(Filter("success", "eq", False),))
    assert condition.as_dict() == {
        "event_type": "user_login_attempt",
        "match": "all",
        "filters": [FAILED_LOGIN_FILTER],
    }


def test_expression_condition_round_trips_without_filters():
    data = [{"event_type": "admin_totp_disable", "expression": "initiated_by.email endsWith '@example.com'"}]
    assert conditions_parse(data, event_types=EVENT_TYPES)[0].as_dict() == data[0]


# -- matching ---------------------------------------------------------------------------------


def test_empty_filter_list_matches_every_event_of_the_type():
    (predicate,) = compiled([{"event_type": "user_login_attempt", "filters": []}])
    assert predicate(make_event(success=True))
    assert predicate(make_event(success=False, geoip=...))


def test_condition_without_filters_matches_every_event_of_the_type():
    (predicate,) = compiled([{"event_type": "user_login_attempt"}])
    assert predicate(make_event())


def test_all_needs_every_filter_to_match():
    (predicate,) = compiled(
        login_condition(FAILED_LOGIN_FILTER, {"key": "geoip.country_code", "operator": "eq", "value": "US"})
    )
    assert not predicate(make_event(success=False))
    assert predicate(make_event(success=False, geoip={"country_code": "us"}))


def test_any_needs_one_filter_to_match():
    data = login_condition(
        {"key": "success", "operator": "eq", "value": True},
        {"key": "geoip.country_code", "operator": "eq", "value": "DE"},
        match="any",
    )
    (predicate,) = compiled(data)
    assert predicate(make_event(success=False))
    assert not predicate(make_event(success=False, geoip={"country_code": "FR"}))


def test_expression_condition_matches_through_the_expression():
    (predicate,) = compiled([{"event_type": "user_login_attempt", "expression": "success == false"}])
    assert predicate(make_event(success=False))
    assert not predicate(make_event(success=True))


# -- association actions ----------------------------------------------------------------------

USER_ADDED = {"event_type": "association_change", "action": "user_added_to_user_group"}


def test_catalog_lists_thirty_association_actions():
    assert len(ASSOCIATION_ACTIONS) == 30


def test_association_action_matches_the_sample_direction_from_group_to_user():
    (predicate,) = compiled([USER_ADDED])
    assert predicate(association_event("add", "user_group", "user"))


def test_association_action_matches_the_reverse_direction_from_user_to_group():
    (predicate,) = compiled([USER_ADDED])
    assert predicate(association_event("add", "user", "user_group"))


def test_association_action_does_not_match_a_removal():
    (predicate,) = compiled([USER_ADDED])
    assert not predicate(association_event("remove", "user_group", "user"))


def test_association_action_does_not_match_other_connection_types():
    (predicate,) = compiled([USER_ADDED])
    assert not predicate(association_event("add", "system", "user"))


def test_association_action_ignores_the_case_of_op_and_types():
    (predicate,) = compiled([USER_ADDED])
    assert predicate(association_event("ADD", "USER_GROUP", "USER"))


def test_association_action_does_not_match_a_malformed_payload():
    (predicate,) = compiled([USER_ADDED])
    assert not predicate(make_event(event_type="association_change", association="add"))


def test_association_action_can_carry_filters_of_its_own():
    data = [
        {
            **USER_ADDED,
            "filters": [{"key": "association.connection.from.name", "operator": "eq", "value": "domain admins"}],
        }
    ]
    (predicate,) = compiled(data)
    assert predicate(association_event("add", "user_group", "user"))
    other_group = association_event("add", "user_group", "user")
    other_group["association"]["connection"]["from"]["name"] = "Contractors"
    assert not predicate(other_group)
    assert not predicate(association_event("remove", "user_group", "user"))


def test_association_action_is_kept_when_parsed():
    assert conditions_parse([USER_ADDED], event_types=EVENT_TYPES)[0].as_dict() == {
        **USER_ADDED,
        "match": "all",
        "filters": [],
    }


# -- explanations -----------------------------------------------------------------------------


def test_explain_reports_each_filter_outcome():
    condition = conditions_parse(
        login_condition(FAILED_LOGIN_FILTER, {"key": "geoip.country_code", "operator": "in", "value": ["US", "CA"]})
    )[0]
    explained = condition_explain(condition, make_event(success=False, geoip={"country_code": "DE"}))
    assert explained["matched"] is False
    assert explained["type_matched"] is True
    assert [(f["key"], f["operator"], f["matched"]) for f in explained["filters"]] == [
        ("success", "eq", True),
        ("geoip.country_code", "in", False),
    ]


def test_explain_says_a_matching_event_matched():
    condition = conditions_parse(login_condition(FAILED_LOGIN_FILTER))[0]
    explained = condition_explain(condition, make_event(success=False))
    assert explained["matched"] is True
    assert explained["filters"][0]["matched"] is True


def test_explain_of_an_event_of_another_type_is_no_match_even_when_filters_match():
    condition = conditions_parse(login_condition(FAILED_LOGIN_FILTER))[0]
    explained = condition_explain(condition, make_event(event_type="admin_login_attempt", success=False))
    assert (explained["type_matched"], explained["matched"]) == (False, False)
    assert explained["filters"][0]["matched"] is True


def test_explain_of_any_matches_when_one_filter_does():
    condition = conditions_parse(
        login_condition(
            FAILED_LOGIN_FILTER, {"key": "client_ip", "operator": "in_cidr", "value": "10.0.0.0/8"}, match="any"
        )
    )[0]
    explained = condition_explain(condition, make_event(success=False))
    assert explained["matched"] is True
    assert [f["matched"] for f in explained["filters"]] == [True, False]


def test_explain_reports_the_association_action():
    condition = conditions_parse([USER_ADDED], event_types=EVENT_TYPES)[0]
    explained = condition_explain(condition, association_event("remove", "user_group", "user"))
    assert explained["action"] == {"slug": "user_added_to_user_group", "matched": False}
    assert explained["matched"] is False


def test_explain_reports_the_expression():
    condition = conditions_parse([{"event_type": "user_login_attempt", "expression": "success == false"}])[0]
    explained = condition_explain(condition, make_event(success=False))
    assert explained["expression"] == {"source": "success == false", "matched": True}
    assert explained["matched"] is True


def test_explain_of_an_empty_filter_list_matches_the_type():
    condition = conditions_parse([{"event_type": "user_login_attempt", "filters": []}])[0]
    assert condition_explain(condition, make_event())["matched"] is True

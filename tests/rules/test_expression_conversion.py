"""Switching a condition between field filters and an expression, both ways."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules.expression import ExpressionError, expression_compile, expression_to_filters, filters_to_expression
from rules.expression.conversion import quote


def flt(key: str, operator: str, value: Any = None) -> dict[str, Any]:
    data: dict[str, Any] = {"key": key, "operator": operator}
    if value is not None:
        data["value"] = value
    return data


CONVERSIONS = [
    (flt("initiated_by.email", "eq", "Bob@Example.com"), 'ieq(initiated_by.email, "Bob@Example.com")'),
    (flt("success", "eq", False), "success == false"),
    (flt("count", "eq", 5), "count == 5"),
    (flt("ratio", "eq", 0.5), "ratio == 0.5"),
    (flt("initiated_by.type", "neq", "admin"), '!ieq(initiated_by.type, "admin")'),
    (flt("mfa", "neq", True), "mfa != true"),
    (flt("initiated_by.email", "contains", "admin"), 'lower(initiated_by.email) contains "admin"'),
    (flt("initiated_by.email", "contains", "Admin"), 'lower(initiated_by.email) contains lower("Admin")'),
    (flt("initiated_by.email", "not_contains", "test"), 'lower(initiated_by.email) not contains "test"'),
    (flt("initiated_by.email", "starts_with", "svc-"), 'lower(initiated_by.email) startsWith "svc-"'),
    (
        flt("initiated_by.email", "ends_with", "@Example.com"),
        'lower(initiated_by.email) endsWith lower("@Example.com")',
    ),
    (flt("geoip.country_code", "in", ["us", "ca"]), 'lower(geoip.country_code) in ["us", "ca"]'),
    (flt("geoip.country_code", "in", ["US", "CA"]), 'anyOf(geoip.country_code, "in", ["US", "CA"])'),
    (flt("error_code", "in", [49, 50, True]), "error_code in [49, 50, true]"),
    (flt("geoip.country_code", "not_in", ["us", 1]), 'lower(geoip.country_code) not in ["us", 1]'),
    (flt("geoip.country_code", "not_in", ["US"]), 'anyOf(geoip.country_code, "not_in", ["US"])'),
    (flt("error_code", "not_in", [49]), "error_code not in [49]"),
    (flt("number_of_results", "gt", 100), "number_of_results > 100"),
    (flt("timestamp", "gte", "2025-03-02T09:14:03Z"), 'timestamp >= "2025-03-02T09:14:03Z"'),
    (flt("number_of_results", "lt", -1.5), "number_of_results < -1.5"),
    (flt("number_of_results", "lte", 1e20), "number_of_results <= 1e+20"),
    (flt("useragent.name", "matches", "^Mozilla/\\d"), 'useragent.name matches "^Mozilla/\\\\d"'),
    (flt("mfa_meta.type", "exists"), "mfa_meta.type != nil"),
    (flt("mfa_meta.type", "not_exists"), "mfa_meta.type == nil"),
    (flt("client_ip", "in_cidr", "10.0.0.0/8"), 'inCidr(client_ip, "10.0.0.0/8")'),
    (flt("client_ip", "in_cidr", ["10.0.0.0/8", "::1/128"]), 'inCidr(client_ip, ["10.0.0.0/8", "::1/128"])'),
    (flt("client_ip", "not_in_cidr", "192.168.0.0/16"), '!inCidr(client_ip, "192.168.0.0/16")'),
    (flt("suspended", "changed"), 'changed("suspended")'),
    (flt("suspended", "changed_from", False), 'changedFrom("suspended", false)'),
    (flt("email", "changed_to", "New@Example.com"), 'changedTo("email", "New@Example.com")'),
    (flt("@version", "eq", "1"), 'ieq($env["@version"], "1")'),
    (flt("useragent.user-agent", "exists"), 'useragent["user-agent"] != nil'),
    (flt("in.matches", "eq", 1), '$env["in"]["matches"] == 1'),
    (flt("2fa.ok", "eq", True), '$env["2fa"].ok == true'),
    (flt("$env", "exists"), '$env["$env"] != nil'),
]


@pytest.mark.parametrize(("filter_", "expected"), CONVERSIONS, ids=[expected for _, expected in CONVERSIONS])
def test_each_filter_converts_to_its_expression_twin(filter_: dict[str, Any], expected: str) -> None:
    assert filters_to_expression([filter_], "all") == expected


@pytest.mark.parametrize(("filter_", "expected"), CONVERSIONS, ids=[expected for _, expected in CONVERSIONS])
def test_each_converted_filter_reads_back_as_the_same_filter(filter_: dict[str, Any], expected: str) -> None:
    assert expression_to_filters(expected) == ("all", [filter_])


def test_match_all_joins_filters_with_and() -> None:
    filters = [flt("success", "eq", False), flt("client_ip", "exists")]
    assert filters_to_expression(filters, "all") == "success == false && client_ip != nil"


def test_match_any_joins_filters_with_or() -> None:
    filters = [flt("success", "eq", False), flt("client_ip", "exists")]
    assert filters_to_expression(filters, "any") == "success == false || client_ip != nil"


def test_a_filter_set_round_trips_with_its_match() -> None:
    filters = [flt("count", "gt", 3), flt("initiated_by.email", "ends_with", "@x.io"), flt("role", "changed")]
    for match in ("all", "any"):
        assert expression_to_filters(filters_to_expression(filters, match)) == (match, filters)


def test_no_filters_convert_to_true() -> None:
    assert filters_to_expression([], "all") == "true"
    assert filters_to_expression([], "any") == "true"


def test_true_reads_back_as_no_filters() -> None:
    assert expression_to_filters("true") == ("all", [])


def test_string_values_are_escaped_so_they_read_back_exactly() -> None:
    value = 'say "hi"\\ \n\t\r \x00 \x7f \u2028 é 😀 \ud800'
    source = filters_to_expression([flt("s", "eq", value)], "all")
    assert "\n" not in source
    assert expression_to_filters(source) == ("all", [flt("s", "eq", value)])


@given(st.text())
def test_quoted_strings_read_back_exactly(text: str) -> None:
    assert expression_compile(f"s == {quote(text)}")({"s": text})


def test_numbers_keep_their_type_through_the_round_trip() -> None:
    _, filters = expression_to_filters(filters_to_expression([flt("a", "eq", 1), flt("b", "eq", 1.0)], "all"))
    assert [type(item["value"]) for item in filters] == [int, float]


def test_a_value_that_has_no_literal_is_refused() -> None:
    with pytest.raises(ExpressionError, match="cannot be written"):
        filters_to_expression([flt("a", "gt", float("inf"))], "all")


def test_an_invalid_filter_is_refused() -> None:
    with pytest.raises(ExpressionError, match="takes list"):
        filters_to_expression([flt("a", "in", "x")], "all")


def test_an_unknown_match_is_refused() -> None:
    with pytest.raises(ExpressionError, match="match must be"):
        filters_to_expression([flt("a", "exists")], "some")


def test_a_filter_set_too_large_for_an_expression_is_refused() -> None:
    filters = [flt("a", "in", [f"value{n}" for n in range(400)]) for _ in range(3)]
    with pytest.raises(ExpressionError, match="at most 4,096 characters"):
        filters_to_expression(filters, "all")


def test_nested_chains_of_the_same_operator_read_back_flat() -> None:
    assert expression_to_filters("(a == 1 && b == 2) && c == 3") == (
        "all",
        [flt("a", "eq", 1), flt("b", "eq", 2), flt("c", "eq", 3)],
    )


def test_quote_style_and_optional_chaining_do_not_matter_on_the_way_back() -> None:
    assert expression_to_filters("ieq(a?.b, 'x')") == ("all", [flt("a.b", "eq", "x")])


def test_equivalent_helper_forms_read_back_as_filters() -> None:
    assert expression_to_filters('exists(a) || !exists(b) || ieq(c, 2) || anyOf(d, "contains", "X")') == (
        "any",
        [flt("a", "exists"), flt("b", "not_exists"), flt("c", "eq", 2), flt("d", "contains", "X")],
    )


def test_a_field_and_a_negated_field_read_back_as_equal_to_true_and_not_equal_to_true() -> None:
    assert expression_to_filters("mfa && !success") == (
        "all",
        [flt("mfa", "eq", True), flt("success", "neq", True)],
    )


def test_a_lone_negated_field_reads_back_as_one_filter() -> None:
    assert expression_to_filters("not success") == ("all", [flt("success", "neq", True)])


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("a == 1 && b == 2 || c == 3", "mixes && and ||"),
        ("a == 1 || (b == 2 && c == 3)", "mixes && and ||"),
        ('initiated_by.email == "x"', "case-sensitively"),
        ('lower(a) contains "Admin"', "not lower case"),
        ('lower(a) in ["Admin"]', "not lower case"),
        ('a in ["x"]', "needs lower(field)"),
        ('a contains "x"', "needs lower(field)"),
        ("len(a) > 3", "does not start with a field"),
        ("!(a == 1)", "negation with no field-filter twin"),
        ("a == b", "not a literal value"),
        ('"x" in a', "membership in a field"),
        ("a in b", "membership in a field"),
        ("a in []", "needs at least one value"),
        ("false", "is a constant"),
        ("a == 1 && true", "is a constant"),
        ('a not startsWith "x"', "has no field-filter form"),
        ('upper(a) == "X"', "case-sensitively"),
        ("$env == nil", "whole event"),
        ('a["b.c"] == 1', "dot"),
    ],
)
def test_expressions_without_a_field_form_refuse_with_the_reason(source: str, reason: str) -> None:
    with pytest.raises(ExpressionError, match="cannot show this as fields") as info:
        expression_to_filters(source)
    assert reason in info.value.message


def test_refusal_points_at_the_part_that_has_no_field_form() -> None:
    with pytest.raises(ExpressionError) as info:
        expression_to_filters('a == 1 && b == "x"')
    assert (info.value.line, info.value.column) == (1, 11)
    assert 'b == "x"' in info.value.message


def test_an_invalid_expression_reports_its_compile_error() -> None:
    with pytest.raises(ExpressionError, match="expected a value"):
        expression_to_filters("a ==")

"""The expression language: literals, paths, operators, functions, limits and error positions."""

from __future__ import annotations

from typing import Any

import pytest

from rules.expression import ExpressionError, expression_compile

EVENT: dict[str, Any] = {
    "event_type": "user_update",
    "@version": "1",
    "user-agent": {"name": "Firefox"},
    "in": 7,
    "success": False,
    "mfa": True,
    "count": 5,
    "ratio": 0.5,
    "nothing": None,
    "timestamp": "2025-03-02T09:14:03Z",
    "client_ip": "10.1.2.3",
    "client_ip6": "2001:db8::5",
    "initiated_by": {"email": "Bob@Example.com", "type": "admin", "roles": ["Admin", "auditor"]},
    "changes": [
        {"field": "suspended", "from": False, "to": True},
        {"field": "Email", "from": "old@example.com", "to": "new@example.com"},
    ],
    "groups": [{"name": "ops"}, {"name": "dev", "tags": [["x", "y"], "z"]}],
}


def matches(source: str, event: Any = None) -> bool:
    return expression_compile(source)(EVENT if event is None else event)


def error(source: str) -> ExpressionError:
    with pytest.raises(ExpressionError) as info:
        expression_compile(source)
    return info.value


# -- literals ---------------------------------------------------------------------------


def test_double_and_single_quoted_strings_are_the_same_literal() -> None:
    assert matches("initiated_by.type == 'admin' && initiated_by.type == \"admin\"")


def test_string_escapes_are_decoded() -> None:
    event = {"s": 'a"b\\c\nd\té\x01A\U0001f600'}
    assert matches(r'''s == "a\"b\\c\nd\t\u00e9\x01\101\U0001F600"''', event)


def test_single_quoted_string_may_hold_double_quotes() -> None:
    assert matches("""s == 'say "hi"'""", {"s": 'say "hi"'})


def test_raw_string_in_backticks_keeps_backslashes() -> None:
    assert matches(r"s == `a\d`", {"s": "a\\d"})


def test_integer_and_float_literals_compare_numerically() -> None:
    assert matches("count == 5.0 && count == 5 && ratio == 0.5 && ratio == 5e-1")


def test_negative_number_literal() -> None:
    assert matches("n == -3 && n < -2.5", {"n": -3})


def test_true_false_literals() -> None:
    assert matches("true") and not matches("false")
    assert matches("success == false && mfa == true")


def test_booleans_never_equal_numbers() -> None:
    assert not matches("mfa == 1")
    assert not matches("n == true", {"n": 1})


def test_literals_on_both_sides_are_compared() -> None:
    assert matches('"a" == "a" && 1 < 2 && nil == nil')
    assert not matches('"a" == "A"')


# -- paths ------------------------------------------------------------------------------


def test_dotted_path_reads_nested_keys() -> None:
    assert matches('initiated_by.email == "Bob@Example.com"')


def test_optional_chaining_behaves_like_a_dot() -> None:
    assert matches('initiated_by?.email == "Bob@Example.com"')
    assert matches("missing?.email == nil")


def test_bracket_access_reads_keys_that_are_not_identifiers() -> None:
    assert matches('$env["user-agent"]["name"] == "Firefox" && $env["user-agent"]?.["name"] == "Firefox"')


def test_env_is_the_whole_event_for_keys_that_are_not_identifiers() -> None:
    assert matches('$env["@version"] == "1"')


def test_a_keyword_key_is_read_with_brackets_on_env() -> None:
    assert matches('$env["in"] == 7')


def test_missing_key_is_nil() -> None:
    assert matches("missing == nil && missing.deeper == nil && initiated_by.missing == nil")


def test_null_value_is_nil() -> None:
    assert matches("nothing == nil")
    assert not matches("nothing != nil")


def test_path_through_a_non_object_is_missing() -> None:
    assert matches("initiated_by.email.length == nil && count.x == nil")


def test_comparison_through_an_array_matches_when_any_element_matches() -> None:
    assert matches('changes.field == "suspended"')
    assert matches('changes.field == "Email"')
    assert not matches('changes.field == "email"')


def test_nested_arrays_are_flattened() -> None:
    assert matches('groups.tags == "y" && groups.name == "dev"')


def test_dunder_names_are_event_keys_never_python_attributes() -> None:
    assert matches("__class__ == nil && initiated_by.__class__ == nil && initiated_by.__dict__ == nil")
    assert not matches("initiated_by.__class__ != nil")
    assert matches('__class__ == "x"', {"__class__": "x"})


# -- comparisons ------------------------------------------------------------------------


def test_string_equality_is_case_sensitive() -> None:
    assert not matches('initiated_by.email == "bob@example.com"')


def test_ieq_ignores_case_as_filters_do() -> None:
    assert matches('ieq(initiated_by.email, "bob@EXAMPLE.com")')
    assert matches("ieq(success, false)")
    assert not matches('ieq(count, "5")')


def test_not_equal_is_the_negation_of_equal_so_a_missing_key_makes_it_true() -> None:
    assert matches('missing != "x"')
    assert not matches('changes.field != "suspended"')


def test_equal_nil_is_true_when_no_candidate_has_a_value() -> None:
    assert matches("xs == nil", {"xs": [None, None]})
    assert not matches("xs == nil", {"xs": [None, 1]})


def test_not_equal_nil_is_true_when_some_candidate_has_a_value() -> None:
    assert matches("xs != nil", {"xs": [None, 1]})
    assert not matches("xs != nil", {"xs": []})


def test_equality_between_two_paths_compares_their_values() -> None:
    assert matches("a == b", {"a": "x", "b": ["y", "x"]})
    assert not matches("a == b", {"a": "x"})


def test_objects_compare_deeply() -> None:
    assert matches("a == b", {"a": {"k": [1, True]}, "b": {"k": [1.0, True]}})
    assert not matches("a == b", {"a": {"k": [1]}, "b": {"k": [True]}})


def test_ordering_compares_numbers() -> None:
    assert matches("count > 4 && count >= 5 && count < 6 && count <= 5")
    assert not matches("count > 5")


def test_ordering_compares_rfc3339_strings_as_instants() -> None:
    assert matches('timestamp > "2025-03-02T10:00:00+01:00"')
    assert matches('timestamp == "2025-03-02T09:14:03Z" && timestamp <= "2025-03-02T10:14:03+01:00"')


def test_ordering_between_other_kinds_is_false() -> None:
    assert not matches("initiated_by.email > 1")
    assert not matches('count > "2025-03-02T09:14:03Z"')
    assert not matches("mfa > 0")


def test_ordering_with_a_string_literal_that_is_not_a_date_is_an_error() -> None:
    assert error('count > "abc"').column == 9


def test_in_tests_membership_in_an_array_literal() -> None:
    assert matches('initiated_by.type in ["user", "admin"]')
    assert not matches('initiated_by.type in ["ADMIN"]')


def test_in_tests_membership_in_an_array_of_the_event() -> None:
    assert matches('"auditor" in initiated_by.roles')
    assert not matches('"admin" in initiated_by.roles')


def test_not_in_is_the_negation_of_in() -> None:
    assert matches('initiated_by.type not in ["user"] && missing not in ["x"]')
    assert not matches('initiated_by.type not in ["admin"]')


def test_in_on_the_right_of_a_non_array_is_an_error() -> None:
    assert "needs an array" in error('x in "abc"').message


def test_contains_is_a_case_sensitive_substring_test() -> None:
    assert matches('initiated_by.email contains "@Example"')
    assert not matches('initiated_by.email contains "@example"')


def test_starts_with_and_ends_with() -> None:
    assert matches('initiated_by.email startsWith "Bob" && initiated_by.email endsWith ".com"')
    assert not matches('initiated_by.email startsWith "bob"')


def test_negated_word_operators() -> None:
    assert matches('initiated_by.email not contains "alice" && initiated_by.email not startsWith "x"')
    assert matches('initiated_by.email not endsWith ".org" && initiated_by.email not matches "^a"')


def test_contains_on_a_number_is_an_error() -> None:
    assert "works on strings" in error('"x" contains 1').message


def test_matches_is_an_re2_search() -> None:
    assert matches(r'initiated_by.email matches "@[A-Z]\\w+\\.com$"')
    assert not matches('initiated_by.email matches "^alice"')


def test_matches_pattern_must_be_a_string_literal() -> None:
    assert error("a matches b").column == 11


def test_invalid_regex_is_an_error_at_the_pattern() -> None:
    exc = error('success == false && initiated_by.email matches "(unclosed"')
    assert (exc.line, exc.column) == (1, 48)
    assert "invalid regular expression" in exc.message


# -- functions --------------------------------------------------------------------------


def test_lower_and_upper_map_over_candidates() -> None:
    assert matches('lower(initiated_by.roles) == "admin" && upper(initiated_by.type) == "ADMIN"')
    assert matches("lower(count) == 5")


def test_len_of_a_string_is_its_length() -> None:
    assert matches('len(initiated_by.email) == 15 && len("abc") == 3')


def test_len_of_an_array_counts_its_elements() -> None:
    assert matches("len(changes) == 2 && len(initiated_by.roles) == 2 && len([1, 2, 3]) == 3")


def test_len_of_a_missing_key_is_zero() -> None:
    assert matches("len(missing) == 0")


def test_in_cidr_takes_one_network_or_a_list() -> None:
    assert matches('inCidr(client_ip, "10.0.0.0/8") && inCidr(client_ip6, ["192.168.0.0/16", "2001:db8::/32"])')
    assert not matches('inCidr(client_ip, "192.168.0.0/16") || inCidr(initiated_by.email, "10.0.0.0/8")')


def test_in_cidr_with_a_bad_network_is_an_error_at_the_network() -> None:
    exc = error('inCidr(client_ip, "10.0.0.0/33")')
    assert exc.column == 19 and "Invalid CIDR" in exc.message


def test_changed_looks_at_changes_fields_ignoring_case() -> None:
    assert matches('changed("email") && changed("SUSPENDED")')
    assert not matches('changed("name")')


def test_changed_from_and_changed_to_compare_the_change_values() -> None:
    assert matches('changedFrom("suspended", false) && changedTo("suspended", true)')
    assert matches('changedTo("email", "NEW@example.com")')
    assert not matches('changedTo("suspended", false)')


def test_any_of_applies_a_filter_operator_like_a_field_filter() -> None:
    assert matches('anyOf(initiated_by.roles, "contains", "ADM") && anyOf(count, "gte", 5)')
    assert matches('anyOf(suspended, "changed_to", true)')


def test_any_of_with_a_negative_operator_is_true_for_a_missing_key() -> None:
    assert matches('anyOf(missing, "neq", "x") && anyOf(missing, "not_exists", nil)')


def test_any_of_with_an_unknown_operator_is_an_error_at_the_operator() -> None:
    exc = error('anyOf(initiated_by.email, "sounds_like", "bob")')
    assert exc.column == 27 and "unknown operator 'sounds_like'" in exc.message


def test_any_of_with_a_value_the_operator_does_not_take_is_an_error_at_the_value() -> None:
    exc = error('anyOf(count, "gt", true)')
    assert exc.column == 20 and "takes number or string" in exc.message


def test_any_of_needs_a_field_path_first() -> None:
    assert error('anyOf("x", "eq", "x")').column == 7


def test_exists_is_true_when_some_value_is_not_null() -> None:
    assert matches("exists(count) && !exists(nothing) && !exists(missing)")


def test_unknown_function_is_an_error_at_its_name() -> None:
    exc = error("success == false && trim(initiated_by.email) == 'x'")
    assert (exc.line, exc.column) == (1, 21)
    assert "unknown function 'trim'" in exc.message


def test_eval_is_just_an_unknown_function() -> None:
    assert "unknown function 'eval'" in error('eval("1 == 1")').message


def test_method_calls_are_not_part_of_the_language() -> None:
    assert error("initiated_by.email.lower() == 'x'").column == 25


def test_wrong_number_of_arguments_is_an_error() -> None:
    assert "takes 2 arguments, got 1" in error('ieq("a")').message


# -- logic ------------------------------------------------------------------------------


def test_and_or_not_are_words_or_symbols() -> None:
    assert matches("mfa == true and not (success == true) or false")
    assert matches("mfa == true && !(success == true) || false")


def test_and_binds_tighter_than_or() -> None:
    assert matches("a == 1 || b == 1 && c == 1", {"a": 1, "b": 0, "c": 0})


def test_parentheses_group() -> None:
    assert not matches("(a == 1 || b == 1) && c == 1", {"a": 1, "b": 0, "c": 0})


def test_not_binds_tighter_than_a_comparison_as_in_expr() -> None:
    exc = error('!initiated_by.email == "x"')
    assert exc.column == 2 and "write !(a == b)" in exc.message


def test_not_before_a_field_is_true_when_the_field_is_false() -> None:
    assert matches("!success") and matches("not success")
    assert not matches("!mfa")


def test_a_field_joined_by_or_counts_when_it_is_true() -> None:
    assert matches("a == 1 or mfa", {"a": 0, "mfa": True})
    assert not matches("a == 1 || mfa", {"a": 0, "mfa": False})


def test_a_field_joined_by_and_with_a_negated_field() -> None:
    assert matches("x and not success", {"x": True, "success": False})
    assert not matches("x && !success", {"x": False, "success": False})


@pytest.mark.parametrize("event", [{}, {"success": None}, {"success": "false"}, {"success": 0}, {"success": [False]}])
def test_a_missing_or_non_boolean_field_under_not_is_not_true(event: dict[str, Any]) -> None:
    assert matches("!success", event)
    assert not matches("success || false", event)


def test_a_field_under_not_through_an_array_is_true_when_some_element_is_true() -> None:
    assert not matches("!flags.on", {"flags": [{"on": False}, {"on": True}]})
    assert matches("!flags.on", {"flags": [{"on": False}, {"on": "true"}]})


@pytest.mark.parametrize(
    ("source", "column"), [('!"x"', 2), ("!1", 2), ("not nil", 5), ("![true]", 2), ("!len(a)", 2), ("! lower(a)", 3)]
)
def test_not_before_a_value_that_is_not_a_field_or_a_boolean_is_an_error(source: str, column: int) -> None:
    exc = error(source)
    assert exc.column == column and "needs true or false" in exc.message


def test_a_negated_field_compared_with_a_string_is_an_error_as_in_expr() -> None:
    assert "write not(a == b)" in error('not a == "x"').message


def test_comments_are_ignored() -> None:
    assert matches("mfa == true // a comment\n && /* another */ success == false")


# -- results and errors -----------------------------------------------------------------


def test_a_bare_field_is_not_a_boolean() -> None:
    exc = error("initiated_by.email")
    assert (exc.line, exc.column) == (1, 1)
    assert "must be true or false" in exc.message


@pytest.mark.parametrize("source", ['"x"', "42", "nil", "len(initiated_by.email)", "lower(x)", "[true]"])
def test_an_expression_that_is_not_boolean_is_rejected(source: str) -> None:
    assert "must be true or false" in error(source).message


def test_a_non_boolean_operand_of_and_is_an_error_at_the_operand() -> None:
    exc = error('success == false && "yes"')
    assert exc.column == 21 and "'&&' joins conditions" in exc.message


@pytest.mark.parametrize("source", ["a || lower(b)", "a && 1", "nil || a"])
def test_a_value_known_not_to_be_boolean_cannot_be_joined(source: str) -> None:
    assert "joins conditions" in error(source).message


def test_arithmetic_is_rejected() -> None:
    exc = error("1 + 2")
    assert exc.column == 3 and "arithmetic" in exc.message


def test_comparing_with_an_array_needs_in() -> None:
    assert "use 'in'" in error('x == ["a"]').message


def test_comparisons_do_not_chain() -> None:
    assert error("a == b == c").column == 8


def test_syntax_error_at_the_end_points_just_past_the_last_character() -> None:
    exc = error("initiated_by.email ==")
    assert (exc.line, exc.column) == (1, 22)
    assert exc.message == "expected a value, got the end of the expression"
    assert str(exc) == "line 1, column 22: expected a value, got the end of the expression"


def test_unterminated_string_is_an_error_at_its_opening_quote() -> None:
    exc = error("a == 'x")
    assert (exc.line, exc.column) == (1, 6)
    assert "unterminated string" in exc.message


def test_unknown_escape_is_an_error_at_the_backslash() -> None:
    assert error(r'a == "ok\q"').column == 9


def test_error_on_the_second_line_reports_line_two() -> None:
    exc = error('success == false &&\n  initiated_by.email === "x"')
    assert (exc.line, exc.column) == (2, 24)


def test_semantic_error_on_the_second_line_reports_its_position() -> None:
    exc = error("success == false\n  && nope(1)")
    assert (exc.line, exc.column) == (2, 6)


def test_empty_expression_is_rejected() -> None:
    assert "empty" in error("  ").message


def test_source_that_is_not_a_string_is_rejected() -> None:
    with pytest.raises(ExpressionError):
        expression_compile(["a == 1"])  # type: ignore[arg-type]


# -- limits -----------------------------------------------------------------------------


def test_4096_characters_are_allowed() -> None:
    source = "true" + " " * 4092
    assert len(source) == 4096 and matches(source)


def test_4097_characters_are_too_long() -> None:
    exc = error("true" + " " * 4093)
    assert exc.column == 4097 and "at most 4,096 characters" in exc.message


def test_100_nested_parentheses_are_too_deep() -> None:
    assert "nested more than 64 levels" in error("(" * 100 + "a == 1" + ")" * 100).message


def test_70_nested_negations_are_too_deep() -> None:
    assert "nested more than 64 levels" in error("!" * 70 + "(a == 1)").message


def test_60_nested_parentheses_are_allowed() -> None:
    assert matches("(" * 60 + "a == 1" + ")" * 60, {"a": 1})


def test_more_than_1000_nodes_are_too_many() -> None:
    source = " || ".join(["a == 1"] * 334)
    assert "more than 1000 parts" in error(source).message


def test_a_long_and_chain_is_not_deep() -> None:
    assert matches(" && ".join(["a == 1"] * 300), {"a": 1})


# -- run time ---------------------------------------------------------------------------


def test_compiled_expressions_are_cached_by_source() -> None:
    assert expression_compile("a == 1") is expression_compile("a == 1")


def test_the_result_is_a_bool() -> None:
    assert matches("changes.field == 'Email'") is True
    assert matches("len(changes) > 5") is False


@pytest.mark.parametrize(
    "event",
    [
        None,
        [],
        "text",
        {"initiated_by": [1, {"email": None}, [[{"email": 5}]]]},
        {"initiated_by": {"email": {"nested": "object"}}, "changes": "not-a-list"},
        {"changes": [None, 1, {"field": 5}, {"field": "email", "to": [[1]]}]},
        {
            "initiated_by": {"email": "\ud800 lone surrogate"},
            "count": float("nan"),
            "timestamp": "9999-99-99T99:99:99Z",
        },
    ],
)
def test_evaluation_never_raises_on_odd_events(event: Any) -> None:
    check = expression_compile(
        'initiated_by.email matches "a" || lower(initiated_by.email) contains "x" || count > 1 '
        '|| timestamp < "2025-01-01T00:00:00Z" || changedTo("email", 1) || len(initiated_by) == 2 '
        '|| inCidr(initiated_by.email, "10.0.0.0/8") || initiated_by == changes'
    )
    assert check(event) in (True, False)


def test_a_comparison_that_fails_at_run_time_is_false() -> None:
    deep: Any = "x"
    for _ in range(5000):
        deep = [deep]
    assert matches('a == "x"', {"a": deep}) is False
    assert matches('a != "x"', {"a": deep}) is True

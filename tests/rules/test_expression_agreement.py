"""Property tests: a converted filter set matches exactly what the field filters match, on any event."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from rules.expression import expression_compile, expression_to_filters, filters_to_expression
from rules.expression.conversion import literal, path_text, quote
from rules.operators import operators
from rules.paths import change_entries, path_parse, values_at

PROPERTY = settings(deadline=None, max_examples=300)


def filter_matches(event: Any, key: str, op_key: str, value: Any) -> bool:
    """The field-filter semantics, as rules/conditions.py evaluates one filter."""
    op = operators.get(op_key)
    pred = op.build(value)
    candidates = change_entries(event, key) if op.on_changes else values_at(event, path_parse(key))
    hit = any(pred(c) for c in candidates)
    return (not hit) if op.negated else hit


def filters_match(event: Any, filters: list[dict[str, Any]], match: str) -> bool:
    results = [filter_matches(event, f["key"], f["operator"], f.get("value")) for f in filters]
    return all(results) if match == "all" else any(results)


# -- events -----------------------------------------------------------------------------

SEGMENTS = [
    "a",
    "b",
    "email",
    "initiated_by",
    "changes",
    "field",
    "from",
    "to",
    "success",
    "client_ip",
    "ts",
    "@version",
    "user-agent",
    "in",
    "true",
    "$env",
    "2fa",
]
CHANGE_FIELDS = ["email", "Email", "SUSPENDED", "suspended", "a.b", "ß", "İ"]
SAMPLE_STRINGS = [
    "admin",
    "Admin",
    "ADMIN",
    "bob@example.com",
    "Bob@Example.COM",
    "İstanbul",
    "i̇stanbul",
    "ß",
    "SS",
    "ǅ",
    "ǆ",
    "",
    " ",
    "10.1.2.3",
    " 10.1.2.3",
    "192.168.1.7",
    "::1",
    "2001:db8::5",
    "::ffff:10.1.2.3",
    "2025-03-02T09:14:03Z",
    "2025-03-02T10:14:03+01:00",
    "2025-03-02t09:14:03.5z",
    "2024-12-31 23:59:59Z",
    "not-a-date",
    "true",
    "1",
    "\\",
    '"',
    "a\nb",
    "suspended",
    "email",
    "Email",
    "abc",
    "x123",
]
ADDRESSES = ["10.1.2.3", " 10.1.2.3 ", "192.168.1.7", "::1", "2001:db8::5", "::ffff:10.1.2.3", "8.8.8.8", "10.1.2.300"]
SAMPLE_DATES = ["2025-03-02T09:14:03Z", "2025-03-02T10:00:00+01:00", "1999-01-01T00:00:00.123456789Z"]

strings = st.one_of(st.sampled_from(SAMPLE_STRINGS), st.text(max_size=6))
finite_numbers = st.one_of(
    st.integers(-3, 3),
    st.sampled_from([0.0, -0.0, 1.0, 2.5, -1.5, 10**20, 1e-7]),
    st.floats(allow_nan=False, allow_infinity=False),
)
numbers = st.one_of(finite_numbers, st.sampled_from([float("nan"), float("inf"), float("-inf")]))
scalars = st.one_of(strings, numbers, st.booleans(), st.none())
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.sampled_from(SEGMENTS), children, max_size=4)
    ),
    max_leaves=10,
)
change_values = st.one_of(scalars, st.lists(scalars, max_size=2))
change_entries_strategy = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "field": st.one_of(st.sampled_from(CHANGE_FIELDS), scalars),
            "from": change_values,
            "to": change_values,
        },
    ),
    json_values,
)


@st.composite
def events(draw: st.DrawFn) -> dict[str, Any]:
    event = draw(st.dictionaries(st.sampled_from(SEGMENTS), json_values, max_size=6))
    if draw(st.booleans()):
        event["changes"] = draw(st.lists(change_entries_strategy, max_size=3))
    return event


any_events = st.one_of(events(), json_values)

# -- filters ----------------------------------------------------------------------------

keys = st.one_of(
    st.sampled_from(["initiated_by.email", "changes.field", "changes.to", "a.b", "@version", "a.user-agent"]),
    st.lists(st.sampled_from(SEGMENTS), min_size=1, max_size=3).map(".".join),
)
list_items = st.one_of(strings, finite_numbers, st.booleans())
ordered_values = st.one_of(finite_numbers, st.sampled_from(SAMPLE_DATES))
cidrs = st.sampled_from(["10.0.0.0/8", "192.168.1.0/24", " 10.1.2.0/24 ", "::1/128", "2001:db8::/32", "0.0.0.0/0"])
patterns = st.sampled_from(["^adm", "(?i)admin", "a.c", r"\d+", "", "ß$", "^$", "[A-Z]", "@example\\.com$"])
scalar_values = st.one_of(strings, finite_numbers, st.booleans())

VALUES: dict[str, st.SearchStrategy[Any]] = {
    "eq": scalar_values,
    "neq": scalar_values,
    "contains": strings,
    "not_contains": strings,
    "starts_with": strings,
    "ends_with": strings,
    "in": st.lists(list_items, min_size=1, max_size=4),
    "not_in": st.lists(list_items, min_size=1, max_size=4),
    "gt": ordered_values,
    "gte": ordered_values,
    "lt": ordered_values,
    "lte": ordered_values,
    "matches": patterns,
    "exists": st.none(),
    "not_exists": st.none(),
    "in_cidr": st.one_of(cidrs, st.lists(cidrs, min_size=1, max_size=3)),
    "not_in_cidr": st.one_of(cidrs, st.lists(cidrs, min_size=1, max_size=3)),
    "changed": st.none(),
    "changed_from": scalar_values,
    "changed_to": scalar_values,
}


def test_every_registered_operator_has_a_value_strategy() -> None:
    assert set(VALUES) == set(operators.keys())


@st.composite
def filters(draw: st.DrawFn) -> dict[str, Any]:
    op_key = draw(st.sampled_from(sorted(VALUES)))
    op = operators.get(op_key)
    key = draw(st.sampled_from(CHANGE_FIELDS) if op.on_changes else keys)
    value = draw(VALUES[op_key])
    op.validate(value)
    flt: dict[str, Any] = {"key": key, "operator": op_key}
    if value is not None:
        flt["value"] = value
    return flt


filter_sets = st.tuples(st.lists(filters(), min_size=1, max_size=5), st.sampled_from(["all", "any"]))

# -- events aimed at the filters ----------------------------------------------------------


def variants(value: Any) -> list[Any]:
    """Values near a filter's value: itself, other cases, around it, off by one, other types."""
    if isinstance(value, str):
        return [value, value.upper(), value.lower(), value.swapcase(), f"x{value}y", f"{value.upper()}!", value[1:]]
    if isinstance(value, bool):
        return [value, not value, int(value), str(value).lower()]
    if isinstance(value, (int, float)):
        return [value, value + 1, value - 1, float(value), -value, str(value), True]
    if isinstance(value, list):
        return [near for item in value for near in variants(item)]
    return [None]


def near(value: Any) -> st.SearchStrategy[Any]:
    one = st.one_of(st.sampled_from(variants(value)), scalars) if variants(value) != [None] else scalars
    return st.one_of(one, st.lists(one, min_size=1, max_size=3), st.none())


def plant(draw: st.DrawFn, event: dict[str, Any], segments: list[str], leaf: Any) -> None:
    """Put `leaf` at the path, making objects on the way and sometimes wrapping one in an array."""
    node = event
    for segment in segments[:-1]:
        child: dict[str, Any] = {}
        node[segment] = [draw(json_values), child] if draw(st.booleans()) else child
        node = child
    node[segments[-1]] = leaf


@st.composite
def cases(draw: st.DrawFn, max_filters: int = 5) -> tuple[list[dict[str, Any]], str, dict[str, Any]]:
    """A filter set and an event built to come close to its filters, so both outcomes are common."""
    flts = draw(st.lists(filters(), min_size=1, max_size=max_filters))
    match = draw(st.sampled_from(["all", "any"]))
    event = draw(events())
    for flt in flts:
        if draw(st.integers(0, 4)) == 4:
            continue  # leave this key to chance
        value = flt.get("value")
        if flt["operator"] in ("in_cidr", "not_in_cidr"):
            value = ADDRESSES
        elif flt["operator"] == "matches":
            value = SAMPLE_STRINGS
        if operators.get(flt["operator"]).on_changes:
            entry = {"field": draw(st.sampled_from(variants(flt["key"])))}
            for side in ("from", "to"):
                if draw(st.integers(0, 3)) != 3:
                    entry[side] = draw(near(value))
            changes = event.get("changes")
            event["changes"] = [*changes, entry] if isinstance(changes, list) else [entry]
        else:
            plant(draw, event, flt["key"].split("."), draw(near(value)))
    return flts, match, event


# -- random expressions -----------------------------------------------------------------

paths = st.one_of(keys.map(path_text), st.sampled_from(["$env", "a?.b", 'a?.["user-agent"]', "changes.field"]))
texts = st.one_of(paths, paths.map(lambda p: f"lower({p})"), paths.map(lambda p: f"upper({p})"), strings.map(quote))
scalar_literals = st.one_of(scalar_values.map(literal), st.just("nil"))
atoms = st.one_of(
    st.builds(
        lambda a, op, b: f"{a} {op} {b}", texts, st.sampled_from(["==", "!="]), st.one_of(scalar_literals, texts)
    ),
    st.builds(
        lambda a, op, b: f"{a} {op} {b}",
        st.one_of(paths, paths.map(lambda p: f"len({p})")),
        st.sampled_from(["<", ">", "<=", ">="]),
        st.one_of(ordered_values.map(literal), paths),
    ),
    st.builds(
        lambda a, op, b: f"{a} {op} {b}",
        texts,
        st.sampled_from(["in", "not in"]),
        st.one_of(st.lists(list_items, max_size=3).map(literal), paths),
    ),
    st.builds(
        lambda a, op, b: f"{a} {op} {b}",
        texts,
        st.sampled_from(["contains", "startsWith", "endsWith", "not contains", "not endsWith"]),
        st.one_of(strings.map(quote), texts),
    ),
    st.builds(lambda a, op, b: f"{a} {op} {quote(b)}", texts, st.sampled_from(["matches", "not matches"]), patterns),
    st.builds(lambda a, b: f"ieq({a}, {b})", texts, st.one_of(scalar_literals, texts)),
    st.builds(lambda a: f"exists({a})", texts),
    filters().map(lambda f: filters_to_expression([f], "all")),
    filters().map(lambda f: f"anyOf({path_text(f['key'])}, {quote(f['operator'])}, {literal(f.get('value'))})"),
    st.sampled_from(["true", "false"]),
    paths.map(lambda p: f"!{p}"),
)
expressions = st.recursive(
    atoms,
    lambda inner: st.one_of(
        st.builds(lambda a, b: f"({a}) && ({b})", inner, inner),
        st.builds(lambda p, b: f"{p} || ({b})", paths, inner),
        st.builds(lambda a, b: f"({a}) || ({b})", inner, inner),
        st.builds(lambda a, b: f"{a} and {b}", inner, inner),
        inner.map(lambda a: f"!({a})"),
        inner.map(lambda a: f"not ({a})"),
    ),
    max_leaves=6,
)


# -- properties -------------------------------------------------------------------------


@PROPERTY
@given(source=expressions, event=any_events)
def test_a_compiled_expression_never_raises_and_returns_a_bool(source: str, event: Any) -> None:
    assert expression_compile(source)(event) in (True, False)


@PROPERTY
@given(filter_set=filter_sets, event=any_events)
def test_a_converted_filter_set_compiles_and_never_raises(
    filter_set: tuple[list[dict[str, Any]], str], event: Any
) -> None:
    assert type(expression_compile(filters_to_expression(*filter_set))(event)) is bool


@PROPERTY
@given(case=cases())
def test_a_converted_filter_set_matches_exactly_what_the_filters_match(
    case: tuple[list[dict[str, Any]], str, dict[str, Any]],
) -> None:
    flts, match, event = case
    source = filters_to_expression(flts, match)
    assert expression_compile(source)(event) == filters_match(event, flts, match), source


@PROPERTY
@given(case=cases(max_filters=1))
def test_each_filter_and_its_expression_twin_agree(case: tuple[list[dict[str, Any]], str, dict[str, Any]]) -> None:
    (flt,), _, event = case
    source = filters_to_expression([flt], "all")
    assert expression_compile(source)(event) == filters_match(event, [flt], "all"), source


@PROPERTY
@given(filter_set=filter_sets)
def test_converting_to_an_expression_and_back_returns_the_same_filters(
    filter_set: tuple[list[dict[str, Any]], str],
) -> None:
    flts, match = filter_set
    back_match, back = expression_to_filters(filters_to_expression(flts, match))
    assert back == flts
    assert back_match == match or len(flts) == 1


@st.composite
def flag_cases(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """A key and an event that holds a boolean (or something like one) at it, or not."""
    key = draw(keys)
    event = draw(events())
    if draw(st.integers(0, 4)) != 4:
        flag = st.one_of(st.booleans(), st.sampled_from([None, 0, 1, "true", "false"]))
        plant(draw, event, key.split("."), draw(st.one_of(flag, st.lists(flag, min_size=1, max_size=3))))
    return key, event


@PROPERTY
@given(case=flag_cases())
def test_a_field_under_not_agrees_with_its_filter_twin(case: tuple[str, dict[str, Any]]) -> None:
    key, event = case
    source = f"!{path_text(key)}"
    assert expression_to_filters(source) == ("all", [{"key": key, "operator": "neq", "value": True}])
    assert expression_compile(source)(event) == filter_matches(event, key, "neq", True), source
    assert expression_compile(f"{path_text(key)} || false")(event) == filter_matches(event, key, "eq", True), source

"""Check an expression tree and compile it into nested closures over the event's JSON.

One pass does both: each node is type-checked as it is compiled, so a bad node is reported
with its own position. Every comparison and helper catches its own errors at run time and
counts as not matching, so a compiled expression never raises on any event.
"""

from __future__ import annotations

import operator as op
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import re2

from rules.expression.syntax import ExpressionError, Node, parse
from rules.operators import MAX_REGEX_LENGTH, loose_equal, normalize, operators, ordering_key
from rules.paths import change_entries, values_at

BOOLEAN, STRING, NUMBER, NIL, ARRAY, VALUE = "boolean", "string", "number", "nil", "array", "value"
DESCRIBE = {
    BOOLEAN: "a boolean",
    STRING: "a string",
    NUMBER: "a number",
    NIL: "nil",
    ARRAY: "an array",
    VALUE: "a field value",
}
SCALARS = frozenset({STRING, NUMBER, BOOLEAN, NIL, VALUE})
TEXTS = frozenset({STRING, VALUE})
NUMBER_TYPES = (int, float)
ORDERINGS: dict[str, Callable[[Any, Any], bool]] = {"<": op.lt, ">": op.gt, "<=": op.le, ">=": op.ge}
# The same options as re2.compile's defaults, without RE2 logging bad patterns to stderr.
QUIET_RE2 = re2.Options()
QUIET_RE2.log_errors = False
# Above this many candidate pairs, equality indexes one side instead of comparing every pair.
PAIRWISE_LIMIT = 64

Event = Any
Test = Callable[[Event], bool]
Values = Callable[[Event], Sequence[Any]]
Predicate = Callable[[Any], bool]


_MISSING = object()


@dataclass(slots=True)
class Compiled:
    """A compiled node: its static type, its candidates at run time and, for booleans, its test.

    Candidates are what a value stands for: a path's values (arrays flattened), a literal's
    one value, an array literal's items. `const` holds them when they are known statically.
    """

    type: str
    values: Values
    const: tuple[Any, ...] | None = None
    test: Test | None = None


@lru_cache(maxsize=4096)
def _compile_source(source: str) -> Test:
    return compile_tree(parse(source))


def expression_compile(source: str) -> Callable[[dict[str, Any]], bool]:
    """Compile `source` into `event -> bool`, or raise `ExpressionError` with the position of the problem."""
    if not isinstance(source, str):
        raise ExpressionError("an expression must be a string")
    return _compile_source(source)


parse_cached = lru_cache(maxsize=256)(parse)


def compile_tree(root: Node) -> Test:
    compiled = _compile(root)
    if compiled.type != BOOLEAN:
        hint = ""
        if compiled.type == VALUE:
            hint = '; compare it, e.g. initiated_by.email == "a@example.com" or initiated_by.email != nil'
        raise root.error(f"the expression must be true or false, but this is {DESCRIBE[compiled.type]}{hint}")
    assert compiled.test is not None
    return compiled.test


def _compile(node: Node) -> Compiled:
    return _COMPILERS[node.kind](node)


# -- run-time building blocks -----------------------------------------------------------


def _any(values: Values, predicate: Predicate) -> Test:
    def run(event: Event) -> bool:
        try:
            for candidate in values(event):  # a plain loop beats any(map(...)) for the usual one candidate
                if predicate(candidate):
                    return True
            return False
        except Exception:  # noqa: BLE001 - a failing test is no match, never an error
            return False

    return run


def _any_pair(left: Values, right: Values, predicate: Callable[[Any, Any], bool]) -> Test:
    def run(event: Event) -> bool:
        try:
            rights = right(event)
            return any(predicate(a, b) for a in left(event) for b in rights)
        except Exception:  # noqa: BLE001 - a failing test is no match, never an error
            return False

    return run


def _negate(test: Test) -> Test:
    return lambda event: not test(event)


def same(a: Any, b: Any) -> bool:
    """Equality as Expr means it: case-sensitive, booleans never equal numbers, 1 == 1.0, deep for JSON."""
    ta, tb = type(a), type(b)
    if ta is bool or tb is bool:
        return ta is tb and a == b
    if ta in NUMBER_TYPES:
        return tb in NUMBER_TYPES and a == b
    if ta is not tb:
        return False
    if ta is str or a is None:
        return a == b
    if ta is list:
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if ta is dict:
        return a.keys() == b.keys() and all(same(a[key], b[key]) for key in a)
    return False


def _equals(expected: Any) -> Predicate:
    kind = type(expected)
    if kind is str:
        return lambda candidate: type(candidate) is str and candidate == expected
    if kind is bool:
        return lambda candidate: candidate is expected
    if kind in NUMBER_TYPES:
        return lambda candidate: type(candidate) in NUMBER_TYPES and candidate == expected
    if expected is None:
        return lambda candidate: candidate is None
    return lambda candidate: same(candidate, expected)


def _member_of(items: Sequence[Any]) -> Predicate:
    strings = frozenset(item for item in items if type(item) is str)
    others = tuple(item for item in items if type(item) is not str)
    if not others:
        return lambda candidate: type(candidate) is str and candidate in strings
    return lambda candidate: (
        candidate in strings if type(candidate) is str else any(same(candidate, item) for item in others)
    )


def _hash_key(value: Any) -> tuple[str, Any] | None:
    """A key under which equal values (as `same` means it) collide; None for values that need `same`."""
    kind = type(value)
    if kind is str:
        return ("s", value)
    if kind is bool:
        return ("b", value)
    if kind in NUMBER_TYPES:
        return ("n", value) if value == value else ("nan", None)  # NaN equals nothing
    if value is None:
        return ("z", None)
    return None


def _intersects(left: Values, right: Values) -> Test:
    """Any candidate on the left equal to any on the right, without a quadratic loop for big arrays."""

    def run(event: Event) -> bool:
        try:
            lefts, rights = left(event), right(event)
            if len(lefts) * len(rights) <= PAIRWISE_LIMIT:
                return any(same(a, b) for a in lefts for b in rights)
            keys = set()
            containers = []
            for b in rights:
                key = _hash_key(b)
                if key is None:
                    containers.append(b)
                elif key[0] != "nan":
                    keys.add(key)
            for a in lefts:
                key = _hash_key(a)
                if key is None:
                    if any(same(a, b) for b in containers):
                        return True
                elif key in keys:
                    return True
            return False
        except Exception:  # noqa: BLE001 - a failing test is no match, never an error
            return False

    return run


# -- nodes ------------------------------------------------------------------------------


def _boolean(test: Test) -> Compiled:
    return Compiled(BOOLEAN, lambda event: (test(event),), None, test)


def _boolean_const(value: bool) -> Compiled:
    const = (value,)
    return Compiled(BOOLEAN, lambda event: const, const, (lambda event: True) if value else (lambda event: False))


def _constant(kind: str, const: tuple[Any, ...]) -> Compiled:
    return Compiled(kind, lambda event: const, const)


def _literal(node: Node) -> Compiled:
    value = node.value
    if type(value) is bool:
        return _boolean_const(value)
    kind = STRING if type(value) is str else NIL if value is None else NUMBER
    return _constant(kind, (value,))


def _array(node: Node) -> Compiled:
    return _constant(ARRAY, tuple(item.value for item in node.args))


def _path(node: Node) -> Compiled:
    return Compiled(VALUE, path_values(node.value))


def path_values(segments: tuple[str, ...]) -> Values:
    """`values_at` for one path, with a fast walk for the usual case of no arrays on the way."""
    if not segments:
        return lambda event: (event,)

    def walk(event: Event) -> Sequence[Any]:
        node = event
        for key in segments:
            if type(node) is not dict:
                return ()
            node = node.get(key, _MISSING)
            if node is _MISSING:
                return ()
            if type(node) is list:
                return values_at(event, segments)  # arrays on the way: the general rule flattens them
        return (node,)

    return walk


def _require_boolean(compiled: Compiled, node: Node, message: str) -> Test:
    if compiled.type != BOOLEAN:
        raise node.error(message.format(got=DESCRIBE[compiled.type]))
    assert compiled.test is not None
    return compiled.test


def _not(node: Node) -> Compiled:
    operand = _compile(node.args[0])
    test = _require_boolean(
        operand,
        node.args[0],
        f"'{node.value}' needs true or false after it, got {{got}}; "
        f"it applies to what follows it directly, so write {node.value}(a == b) to negate a comparison",
    )
    if operand.const is not None:
        return _boolean_const(not operand.const[0])
    return _boolean(_negate(test))


def _chain(node: Node) -> Compiled:
    word = "&&" if node.kind == "and" else "||"
    tests = tuple(
        _require_boolean(
            _compile(arg), arg, f"'{word}' joins conditions that are true or false; this is {{got}}, so compare it"
        )
        for arg in node.args
    )
    if node.kind == "and":
        if len(tests) == 2:
            first, second = tests
            return _boolean(lambda event: first(event) and second(event))

        def every(event: Event) -> bool:
            for test in tests:
                if not test(event):
                    return False
            return True

        return _boolean(every)

    if len(tests) == 2:
        first, second = tests
        return _boolean(lambda event: first(event) or second(event))

    def some(event: Event) -> bool:
        for test in tests:
            if test(event):
                return True
        return False

    return _boolean(some)


def _compare(node: Node) -> Compiled:
    operator: str = node.value
    negated = operator == "!=" or operator.startswith("not ")
    base = "==" if operator == "!=" else operator.removeprefix("not ")
    left_node, right_node = node.args
    left, right = _compile(left_node), _compile(right_node)
    if base == "==":
        test = _equality(left, right, left_node, right_node)
    elif base in ORDERINGS:
        test = _ordering(base, left, right, left_node, right_node)
    elif base == "in":
        test = _membership(left, right, left_node, right_node)
    elif base == "matches":
        test = _matches(left, left_node, right_node)
    else:
        test = _text(base, left, right, left_node, right_node)
    if negated:
        test = _negate(test)
    if left.const is not None and right.const is not None:
        return _boolean_const(test(None))
    return _boolean(test)


def _equality(left: Compiled, right: Compiled, left_node: Node, right_node: Node) -> Test:
    for side, side_node in ((left, left_node), (right, right_node)):
        if side.type == ARRAY:
            raise side_node.error("use 'in' to test whether a value is in an array")
    if left.type == NIL or right.type == NIL:
        values = left.values if right.type == NIL else right.values

        def no_value(event: Event) -> bool:
            try:
                return all(candidate is None for candidate in values(event))
            except Exception:  # noqa: BLE001 - a failing test is no match, never an error
                return False

        return no_value
    if right.const is not None and len(right.const) == 1:
        return _any(left.values, _equals(right.const[0]))
    if left.const is not None and len(left.const) == 1:
        return _any(right.values, _equals(left.const[0]))
    return _intersects(left.values, right.values)


def _ordering(base: str, left: Compiled, right: Compiled, left_node: Node, right_node: Node) -> Test:
    compare = ORDERINGS[base]
    for side, side_node in ((left, left_node), (right, right_node)):
        if side.type not in (NUMBER, STRING, VALUE):
            raise side_node.error(f"'{base}' compares numbers or RFC 3339 date-times, not {DESCRIBE[side.type]}")
        for value in side.const or ():
            if ordering_key(value) is None:
                raise side_node.error(
                    f"'{base}' compares numbers or RFC 3339 date-times such as 2025-03-02T09:14:03Z; got {value!r}"
                )
    if right.const is not None and len(right.const) == 1:
        return _any(left.values, _bounded(ordering_key(right.const[0]), compare, flip=False))
    if left.const is not None and len(left.const) == 1:
        return _any(right.values, _bounded(ordering_key(left.const[0]), compare, flip=True))

    def ordered(a: Any, b: Any) -> bool:
        key_a, key_b = ordering_key(a), ordering_key(b)
        return key_a is not None and key_b is not None and key_a[0] == key_b[0] and compare(key_a[1], key_b[1])

    return _any_pair(left.values, right.values, ordered)


def _bounded(key: tuple[str, Any] | None, compare: Callable[[Any, Any], bool], *, flip: bool) -> Predicate:
    assert key is not None
    kind, bound = key
    if kind == "number":
        if flip:
            return lambda candidate: type(candidate) in NUMBER_TYPES and compare(bound, candidate)
        return lambda candidate: type(candidate) in NUMBER_TYPES and compare(candidate, bound)

    def instant(candidate: Any) -> bool:
        if type(candidate) is not str:
            return False
        candidate_key = ordering_key(candidate)
        if candidate_key is None or candidate_key[0] != "time":
            return False
        return compare(bound, candidate_key[1]) if flip else compare(candidate_key[1], bound)

    return instant


def _membership(left: Compiled, right: Compiled, left_node: Node, right_node: Node) -> Test:
    if left.type == ARRAY:
        raise left_node.error("'in' tests one value against an array; the left side is an array")
    if right.type not in (ARRAY, VALUE):
        raise right_node.error(f"'in' needs an array (or a field holding one) on its right, got {DESCRIBE[right.type]}")
    if right.const is not None:
        return _any(left.values, _member_of(right.const))
    if left.const is not None and len(left.const) == 1:
        return _any(right.values, _equals(left.const[0]))
    return _intersects(left.values, right.values)


_TEXT_TESTS: dict[str, Callable[[str, str], bool]] = {
    "contains": lambda text, part: part in text,
    "startsWith": str.startswith,
    "endsWith": str.endswith,
}


def _text(base: str, left: Compiled, right: Compiled, left_node: Node, right_node: Node) -> Test:
    for side, side_node in ((left, left_node), (right, right_node)):
        if side.type not in TEXTS:
            raise side_node.error(f"'{base}' works on strings, not {DESCRIBE[side.type]}")
    if right.const is not None and len(right.const) == 1:
        part = right.const[0]
        if base == "contains":
            return _any(left.values, lambda candidate: type(candidate) is str and part in candidate)
        if base == "startsWith":
            return _any(left.values, lambda candidate: type(candidate) is str and candidate.startswith(part))
        return _any(left.values, lambda candidate: type(candidate) is str and candidate.endswith(part))
    test = _TEXT_TESTS[base]
    return _any_pair(
        left.values, right.values, lambda text, part: type(text) is str and type(part) is str and test(text, part)
    )


def _matches(left: Compiled, left_node: Node, right_node: Node) -> Test:
    if left.type not in TEXTS:
        raise left_node.error(f"'matches' works on strings, not {DESCRIBE[left.type]}")
    if right_node.kind != "literal" or type(right_node.value) is not str:
        raise right_node.error("the pattern of 'matches' must be a string literal")
    pattern: str = right_node.value
    if len(pattern) > MAX_REGEX_LENGTH:
        raise right_node.error(f"a regular expression is at most {MAX_REGEX_LENGTH} characters")
    try:
        search = re2.compile(pattern, QUIET_RE2).search
    except (re2.error, ValueError) as exc:
        reason = exc.args[0] if exc.args and isinstance(exc.args[0], bytes) else str(exc).encode()
        reason = reason.decode("utf-8", "replace")
        raise right_node.error(f"invalid regular expression: {reason}") from None
    return _any(left.values, lambda candidate: type(candidate) is str and search(candidate) is not None)


# -- functions --------------------------------------------------------------------------


def _value_arg(node: Node, function: str, allowed: frozenset[str]) -> Compiled:
    compiled = _compile(node)
    if compiled.type not in allowed:
        wanted = " or ".join(sorted(DESCRIBE[kind] for kind in allowed))
        raise node.error(f"{function}() takes {wanted} here, not {DESCRIBE[compiled.type]}")
    return compiled


def _literal_arg(node: Node, function: str) -> Any:
    if node.kind == "literal":
        return node.value
    if node.kind == "array":
        return [item.value for item in node.args]
    raise node.error(f"{function}() needs a literal here: a string, number, true, false, nil or [array]")


def _string_arg(node: Node, function: str, what: str) -> str:
    if node.kind != "literal" or type(node.value) is not str:
        raise node.error(f"{function}() takes the {what} as a string literal")
    return node.value


def _validated(operator_key: str, value: Any, node: Node, function: str) -> Predicate:
    operator = operators.get(operator_key)
    try:
        operator.validate(value)
    except ValueError as exc:  # OperatorValueError, or a pattern that is not valid Unicode
        raise node.error(f"{function}(): {exc}") from None
    return operator.build(value)


def _change_case(method: Callable[[str], str]) -> Callable[[Node], Compiled]:
    def build(node: Node) -> Compiled:
        arg = _value_arg(node.args[0], node.value, TEXTS)
        if arg.const is not None:
            return _constant(arg.type, tuple(method(v) if type(v) is str else v for v in arg.const))
        values = arg.values
        return Compiled(VALUE, lambda event: [method(c) if type(c) is str else c for c in values(event)])

    return build


def _len(node: Node) -> Compiled:
    arg = _value_arg(node.args[0], "len", frozenset({STRING, ARRAY, VALUE}))
    if arg.const is not None:
        return _constant(NUMBER, (len(arg.const[0]) if arg.type == STRING else len(arg.const),))
    values = arg.values

    def length(event: Event) -> list[int]:
        candidates = values(event)
        if len(candidates) == 1 and type(candidates[0]) is str:
            return [len(candidates[0])]
        return [len(candidates)]

    return Compiled(NUMBER, length)


def _ieq(node: Node) -> Compiled:
    left = _value_arg(node.args[0], "ieq", SCALARS)
    right = _value_arg(node.args[1], "ieq", SCALARS)
    if right.const is not None and len(right.const) == 1:
        test = _any(left.values, _equals_ignoring_case(right.const[0]))
    elif left.const is not None and len(left.const) == 1:
        test = _any(right.values, _equals_ignoring_case(left.const[0]))
    else:
        test = _any_pair(left.values, right.values, lambda a, b: loose_equal(a, normalize(b)))
    if left.const is not None and right.const is not None:
        return _boolean_const(test(None))
    return _boolean(test)


def _equals_ignoring_case(expected: Any) -> Predicate:
    """The `eq` filter's predicate; for a string, the same test without the generic dispatch."""
    if type(expected) is str:
        folded = expected.lower()
        return lambda candidate: type(candidate) is str and candidate.lower() == folded
    return operators.get("eq").build(expected)


def _in_cidr(node: Node) -> Compiled:
    address = _value_arg(node.args[0], "inCidr", TEXTS)
    networks = _literal_arg(node.args[1], "inCidr")
    return _boolean(_any(address.values, _validated("in_cidr", networks, node.args[1], "inCidr")))


def _changes(operator_key: str) -> Callable[[Node], Compiled]:
    def build(node: Node) -> Compiled:
        function: str = node.value
        field = _string_arg(node.args[0], function, "field name")
        value = _literal_arg(node.args[1], function) if len(node.args) > 1 else None
        predicate = _validated(operator_key, value, node.args[1] if len(node.args) > 1 else node, function)
        return _boolean(_any(lambda event: change_entries(event, field), predicate))

    return build


def _any_of(node: Node) -> Compiled:
    path_node, operator_node, value_node = node.args
    if path_node.kind != "path":
        raise path_node.error('anyOf() takes a field path first, e.g. anyOf(initiated_by.email, "contains", "admin")')
    operator_key = _string_arg(operator_node, "anyOf", "operator")
    if operator_key not in operators:
        raise operator_node.error(f"unknown operator {operator_key!r}; use one of {', '.join(operators.keys())}")
    operator = operators.get(operator_key)
    predicate = _validated(operator_key, _literal_arg(value_node, "anyOf"), value_node, "anyOf")
    segments: tuple[str, ...] = path_node.value
    if operator.on_changes:
        key = ".".join(segments)
        test = _any(lambda event: change_entries(event, key), predicate)
    else:
        test = _any(_path(path_node).values, predicate)
    return _boolean(_negate(test) if operator.negated else test)


def _exists(node: Node) -> Compiled:
    arg = _value_arg(node.args[0], "exists", SCALARS)
    return _boolean(_any(arg.values, lambda candidate: candidate is not None))


FUNCTIONS: dict[str, tuple[int, Callable[[Node], Compiled]]] = {
    "lower": (1, _change_case(str.lower)),
    "upper": (1, _change_case(str.upper)),
    "len": (1, _len),
    "ieq": (2, _ieq),
    "inCidr": (2, _in_cidr),
    "changed": (1, _changes("changed")),
    "changedFrom": (2, _changes("changed_from")),
    "changedTo": (2, _changes("changed_to")),
    "anyOf": (3, _any_of),
    "exists": (1, _exists),
}


def _call(node: Node) -> Compiled:
    name: str = node.value
    if name not in FUNCTIONS:
        raise node.error(f"unknown function {name!r}; the functions are {', '.join(sorted(FUNCTIONS))}")
    arity, build = FUNCTIONS[name]
    if len(node.args) != arity:
        plural = "" if arity == 1 else "s"
        raise node.error(f"{name}() takes {arity} argument{plural}, got {len(node.args)}")
    return build(node)


_COMPILERS: dict[str, Callable[[Node], Compiled]] = {
    "literal": _literal,
    "array": _array,
    "path": _path,
    "not": _not,
    "and": _chain,
    "or": _chain,
    "compare": _compare,
    "call": _call,
}

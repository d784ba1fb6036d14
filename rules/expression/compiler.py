"""Check an expression tree and compile it into nested closures over the event's JSON.

One pass does both: each node is type-checked as it is compiled, so a bad node is reported
with its own position. Every comparison and helper catches its own errors at run time and
counts as not matching, so a compiled expression never raises on any event.
"""

from __future__ import annotations

import operator as op
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import re2

from rules.expression.functions import FUNCTIONS
from rules.expression.runtime import (
    ARRAY,
    BOOLEAN,
    DESCRIBE,
    NIL,
    NUMBER,
    NUMBER_TYPES,
    STRING,
    TEXTS,
    VALUE,
    Compiled,
    Event,
    Predicate,
    Test,
    any_candidate,
    any_pair,
    boolean,
    boolean_const,
    constant,
    equals,
    intersects,
    member_of,
    negate,
    path_values,
)
from rules.expression.syntax import ExpressionError, Node, parse
from rules.operators import MAX_REGEX_LENGTH, ordering_key

ORDERINGS: dict[str, Callable[[Any, Any], bool]] = {"<": op.lt, ">": op.gt, "<=": op.le, ">=": op.ge}
# The same options as re2.compile's defaults, without RE2 logging bad patterns to stderr.
QUIET_RE2 = re2.Options()
QUIET_RE2.log_errors = False


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


def _literal(node: Node) -> Compiled:
    value = node.value
    if type(value) is bool:
        return boolean_const(value)
    kind = STRING if type(value) is str else NIL if value is None else NUMBER
    return constant(kind, (value,))


def _array(node: Node) -> Compiled:
    return constant(ARRAY, tuple(item.value for item in node.args))


def _path(node: Node) -> Compiled:
    return Compiled(VALUE, path_values(node.value))


def _require_boolean(compiled: Compiled, node: Node, message: str) -> Test:
    if compiled.type != BOOLEAN:
        raise node.error(message.format(got=DESCRIBE[compiled.type]))
    assert compiled.test is not None
    return compiled.test


def _condition(compiled: Compiled, node: Node, message: str) -> Test:
    """The test of an operand of `!`, `&&` or `||`: a boolean, or a field standing for `field == true`.

    Expr's checker types a field of the environment as unknown and lets it stand where a
    boolean is expected; only a value known not to be boolean (a string, number, nil, array,
    or what lower(), upper() and len() return) is refused. At run time Expr fails on a value
    that is not a boolean; here, as every failing test, it counts as false: the field is
    true only when some candidate is the boolean true.
    """
    if compiled.type == VALUE and node.kind == "path":
        return any_candidate(compiled.values, _is_true)
    if compiled.type == VALUE and node.kind == "call":
        raise node.error(message.format(got=f"what {node.value}() returns, which is not true or false"))
    return _require_boolean(compiled, node, message)


def _is_true(candidate: Any) -> bool:
    return candidate is True


def _not(node: Node) -> Compiled:
    operand = _compile(node.args[0])
    test = _condition(
        operand,
        node.args[0],
        f"'{node.value}' needs true or false (or a field holding one) after it, got {{got}}; "
        f"it applies to what follows it directly, so write {node.value}(a == b) to negate a comparison",
    )
    if operand.const is not None:
        return boolean_const(not operand.const[0])
    return boolean(negate(test))


def _chain(node: Node) -> Compiled:
    word = "&&" if node.kind == "and" else "||"
    tests = tuple(
        _condition(
            _compile(arg), arg, f"'{word}' joins conditions that are true or false; this is {{got}}, so compare it"
        )
        for arg in node.args
    )
    if node.kind == "and":
        if len(tests) == 2:
            first, second = tests
            return boolean(lambda event: first(event) and second(event))

        def every(event: Event) -> bool:
            for test in tests:
                if not test(event):
                    return False
            return True

        return boolean(every)

    if len(tests) == 2:
        first, second = tests
        return boolean(lambda event: first(event) or second(event))

    def some(event: Event) -> bool:
        for test in tests:
            if test(event):
                return True
        return False

    return boolean(some)


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
        test = negate(test)
    if left.const is not None and right.const is not None:
        return boolean_const(test(None))
    return boolean(test)


def _equality(left: Compiled, right: Compiled, left_node: Node, right_node: Node) -> Test:
    for side, side_node in ((left, left_node), (right, right_node)):
        if side.type == ARRAY:
            raise side_node.error("use 'in' to test whether a value is in an array")
    for side, side_node, other in ((left, left_node, right), (right, right_node, left)):
        # As Expr's checker: a computed true/false never equals a string or a number.
        if side.type == BOOLEAN and side.const is None and other.type in (STRING, NUMBER):
            if side_node.kind == "not":
                raise side_node.args[0].error(
                    f"'{side_node.value}' applies to what follows it directly, so this compares true or false "
                    f"with {DESCRIBE[other.type]}; write {side_node.value}(a == b) to negate a comparison"
                )
            raise side_node.error(f"this is true or false, so it never equals {DESCRIBE[other.type]}")
    if left.type == NIL or right.type == NIL:
        values = left.values if right.type == NIL else right.values

        def no_value(event: Event) -> bool:
            try:
                return all(candidate is None for candidate in values(event))
            except Exception:  # noqa: BLE001 - a failing test is no match, never an error
                return False

        return no_value
    if right.const is not None and len(right.const) == 1:
        return any_candidate(left.values, equals(right.const[0]))
    if left.const is not None and len(left.const) == 1:
        return any_candidate(right.values, equals(left.const[0]))
    return intersects(left.values, right.values)


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
        return any_candidate(left.values, _bounded(ordering_key(right.const[0]), compare, flip=False))
    if left.const is not None and len(left.const) == 1:
        return any_candidate(right.values, _bounded(ordering_key(left.const[0]), compare, flip=True))

    def ordered(a: Any, b: Any) -> bool:
        key_a, key_b = ordering_key(a), ordering_key(b)
        return key_a is not None and key_b is not None and key_a[0] == key_b[0] and compare(key_a[1], key_b[1])

    return any_pair(left.values, right.values, ordered)


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
        return any_candidate(left.values, member_of(right.const))
    if left.const is not None and len(left.const) == 1:
        return any_candidate(right.values, equals(left.const[0]))
    return intersects(left.values, right.values)


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
            return any_candidate(left.values, lambda candidate: type(candidate) is str and part in candidate)
        if base == "startsWith":
            return any_candidate(left.values, lambda candidate: type(candidate) is str and candidate.startswith(part))
        return any_candidate(left.values, lambda candidate: type(candidate) is str and candidate.endswith(part))
    test = _TEXT_TESTS[base]
    return any_pair(
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
    return any_candidate(left.values, lambda candidate: type(candidate) is str and search(candidate) is not None)


def _call(node: Node) -> Compiled:
    name: str = node.value
    if name not in FUNCTIONS:
        raise node.error(f"unknown function {name!r}; the functions are {', '.join(sorted(FUNCTIONS))}")
    arity, build = FUNCTIONS[name]
    if len(node.args) != arity:
        plural = "" if arity == 1 else "s"
        raise node.error(f"{name}() takes {arity} argument{plural}, got {len(node.args)}")
    return build(node, _compile)


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

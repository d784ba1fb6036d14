"""The allow-listed functions: `lower`, `upper`, `len` and the filter twins.

Each builder checks its arguments (literal where a literal is needed, operator values
validated by the operator registry) and returns the compiled call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rules.expression.runtime import (
    ARRAY,
    DESCRIBE,
    NUMBER,
    SCALARS,
    STRING,
    TEXTS,
    VALUE,
    Compiled,
    Event,
    Predicate,
    any_candidate,
    any_pair,
    boolean,
    boolean_const,
    constant,
    negate,
    path_values,
)
from rules.expression.syntax import Node
from rules.operators import loose_equal, normalize, operators
from rules.paths import change_entries

CompileNode = Callable[[Node], Compiled]
Builder = Callable[[Node, CompileNode], Compiled]


def _value_arg(compile_node: CompileNode, node: Node, function: str, allowed: frozenset[str]) -> Compiled:
    compiled = compile_node(node)
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


def _change_case(method: Callable[[str], str]) -> Builder:
    def build(node: Node, compile_node: CompileNode) -> Compiled:
        arg = _value_arg(compile_node, node.args[0], node.value, TEXTS)
        if arg.const is not None:
            return constant(arg.type, tuple(method(v) if type(v) is str else v for v in arg.const))
        values = arg.values
        return Compiled(VALUE, lambda event: [method(c) if type(c) is str else c for c in values(event)])

    return build


def _len(node: Node, compile_node: CompileNode) -> Compiled:
    arg = _value_arg(compile_node, node.args[0], "len", frozenset({STRING, ARRAY, VALUE}))
    if arg.const is not None:
        return constant(NUMBER, (len(arg.const[0]) if arg.type == STRING else len(arg.const),))
    values = arg.values

    def length(event: Event) -> list[int]:
        candidates = values(event)
        if len(candidates) == 1 and type(candidates[0]) is str:
            return [len(candidates[0])]
        return [len(candidates)]

    return Compiled(NUMBER, length)


def _ieq(node: Node, compile_node: CompileNode) -> Compiled:
    left = _value_arg(compile_node, node.args[0], "ieq", SCALARS)
    right = _value_arg(compile_node, node.args[1], "ieq", SCALARS)
    if right.const is not None and len(right.const) == 1:
        test = any_candidate(left.values, _equals_ignoring_case(right.const[0]))
    elif left.const is not None and len(left.const) == 1:
        test = any_candidate(right.values, _equals_ignoring_case(left.const[0]))
    else:
        test = any_pair(left.values, right.values, lambda a, b: loose_equal(a, normalize(b)))
    if left.const is not None and right.const is not None:
        return boolean_const(test(None))
    return boolean(test)


def _equals_ignoring_case(expected: Any) -> Predicate:
    """The `eq` filter's predicate; for a string, the same test without the generic dispatch."""
    if type(expected) is str:
        folded = expected.lower()
        return lambda candidate: type(candidate) is str and candidate.lower() == folded
    return operators.get("eq").build(expected)


def _in_cidr(node: Node, compile_node: CompileNode) -> Compiled:
    address = _value_arg(compile_node, node.args[0], "inCidr", TEXTS)
    networks = _literal_arg(node.args[1], "inCidr")
    return boolean(any_candidate(address.values, _validated("in_cidr", networks, node.args[1], "inCidr")))


def _changes(operator_key: str) -> Builder:
    def build(node: Node, compile_node: CompileNode) -> Compiled:
        function: str = node.value
        field = _string_arg(node.args[0], function, "field name")
        value = _literal_arg(node.args[1], function) if len(node.args) > 1 else None
        predicate = _validated(operator_key, value, node.args[1] if len(node.args) > 1 else node, function)
        return boolean(any_candidate(lambda event: change_entries(event, field), predicate))

    return build


def _any_of(node: Node, compile_node: CompileNode) -> Compiled:
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
        test = any_candidate(lambda event: change_entries(event, key), predicate)
    else:
        test = any_candidate(path_values(segments), predicate)
    return boolean(negate(test) if operator.negated else test)


def _exists(node: Node, compile_node: CompileNode) -> Compiled:
    arg = _value_arg(compile_node, node.args[0], "exists", SCALARS)
    return boolean(any_candidate(arg.values, lambda candidate: candidate is not None))


# name -> (number of arguments, builder)
FUNCTIONS: dict[str, tuple[int, Builder]] = {
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

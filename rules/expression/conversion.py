"""Switch a condition between field filters and an expression, both ways, without changing what it matches.

`filters_to_expression` writes each filter as its expression twin: an idiomatic form where
that is exactly equivalent, a helper (`ieq`, `inCidr`, `anyOf`, ...) otherwise.
`expression_to_filters` reads back exactly those forms, so the round trip returns the
same filters; anything else stays an expression and the error says why.
"""

from __future__ import annotations

import math
import re
from typing import Any

from rules.expression.compiler import expression_compile, parse_cached
from rules.expression.syntax import KEYWORDS, ExpressionError, Node
from rules.operators import operators

IDENTIFIER_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# contains / starts_with / ends_with: the filter ignores case, so the expression lowers the key.
TEXT_OPERATORS = {
    "contains": "contains",
    "not_contains": "not contains",
    "starts_with": "startsWith",
    "ends_with": "endsWith",
}
TEXT_FILTERS = {word: key for key, word in TEXT_OPERATORS.items()}
ORDERING_OPERATORS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
ORDERING_FILTERS = {symbol: key for key, symbol in ORDERING_OPERATORS.items()}
CHANGE_FUNCTIONS = {"changed": "changed", "changed_from": "changedFrom", "changed_to": "changedTo"}
CHANGE_FILTERS = {function: key for key, function in CHANGE_FUNCTIONS.items()}


# -- writing --------------------------------------------------------------------------


def quote(text: str) -> str:
    """A double-quoted string literal that reads back as exactly `text`."""
    out = ['"']
    for char in text:
        code = ord(char)
        if char == '"':
            out.append('\\"')
        elif char == "\\":
            out.append("\\\\")
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif char == "\r":
            out.append("\\r")
        elif code < 0x20 or 0x7F <= code <= 0x9F or 0xD800 <= code <= 0xDFFF or code in (0x2028, 0x2029):
            out.append(f"\\u{code:04x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def literal(value: Any) -> str:
    """The expression literal for a filter value."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ExpressionError(f"{value!r} cannot be written in an expression")
        return repr(float(value))
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, list):
        return "[" + ", ".join(literal(item) for item in value) + "]"
    raise ExpressionError(f"a {type(value).__name__} cannot be written in an expression")


def path_text(key: str) -> str:
    """A filter key as an expression path: dotted where the segments allow it, brackets otherwise."""
    parts = []
    for index, segment in enumerate(key.split(".")):
        plain = IDENTIFIER_RE.fullmatch(segment) is not None and segment not in KEYWORDS
        if plain:
            parts.append(segment if index == 0 else f".{segment}")
        else:
            parts.append(f"$env[{quote(segment)}]" if index == 0 else f"[{quote(segment)}]")
    return "".join(parts)


def filter_to_expression(flt: dict[str, Any]) -> str:
    """One filter as an expression that matches exactly the same events."""
    if not isinstance(flt, dict) or not isinstance(flt.get("key"), str) or flt.get("operator") not in operators:
        raise ExpressionError(f"not a valid filter: {flt!r}")
    key, operator_key, value = flt["key"], flt["operator"], flt.get("value")
    operator = operators.get(operator_key)
    try:
        operator.validate(value)
    except ValueError as exc:  # OperatorValueError, or a pattern that is not valid Unicode
        raise ExpressionError(f"filter on {key!r}: {exc}") from None

    if operator_key in CHANGE_FUNCTIONS:
        args = [quote(key)] + ([] if operator_key == "changed" else [literal(value)])
        return f"{CHANGE_FUNCTIONS[operator_key]}({', '.join(args)})"
    path = path_text(key)
    if operator.on_changes:
        return f"anyOf({path}, {quote(operator_key)}, {literal(value)})"
    if operator_key in ("eq", "neq"):
        if isinstance(value, str):
            form = f"ieq({path}, {literal(value)})"
            return form if operator_key == "eq" else f"!{form}"
        return f"{path} {'==' if operator_key == 'eq' else '!='} {literal(value)}"
    if operator_key in TEXT_OPERATORS:
        # lower() and the filter both use str.lower, so this is exact; a literal that is not
        # lower case is wrapped in lower() too, which keeps its spelling for the way back.
        needle = literal(value) if value == value.lower() else f"lower({literal(value)})"
        return f"lower({path}) {TEXT_OPERATORS[operator_key]} {needle}"
    if operator_key in ("in", "not_in"):
        word = "in" if operator_key == "in" else "not in"
        strings = [item for item in value if isinstance(item, str)]
        if not strings:
            return f"{path} {word} {literal(value)}"
        if all(item == item.lower() for item in strings):
            return f"lower({path}) {word} {literal(value)}"
        return f"anyOf({path}, {quote(operator_key)}, {literal(value)})"
    if operator_key in ORDERING_OPERATORS:
        return f"{path} {ORDERING_OPERATORS[operator_key]} {literal(value)}"
    if operator_key == "matches":
        return f"{path} matches {literal(value)}"
    if operator_key == "exists":
        return f"{path} != nil"
    if operator_key == "not_exists":
        return f"{path} == nil"
    if operator_key == "in_cidr":
        return f"inCidr({path}, {literal(value)})"
    if operator_key == "not_in_cidr":
        return f"!inCidr({path}, {literal(value)})"
    return f"anyOf({path}, {quote(operator_key)}, {literal(value)})"


def filters_to_expression(filters: list[dict[str, Any]], match: str) -> str:
    """Write a field-mode filter set as an expression that matches exactly the same events.

    Raises `ExpressionError` for a filter that is not valid, or when the result would break
    the expression limits (a very large filter set).
    """
    if match not in ("all", "any"):
        raise ExpressionError(f"match must be 'all' or 'any', got {match!r}")
    if not filters:
        return "true"
    # Every term is a comparison, a call or `!call`, which bind tighter than && and ||.
    source = (" && " if match == "all" else " || ").join(filter_to_expression(flt) for flt in filters)
    expression_compile(source)
    return source


# -- reading ----------------------------------------------------------------------------


class _NotAFilter(Exception):
    """This atom has no field-filter form; the message says why."""


def expression_to_filters(source: str) -> tuple[str, list[dict[str, Any]]]:
    """Read an expression back as `(match, filters)`, or raise `ExpressionError` saying why it cannot be.

    Succeeds for `true`, a single filter form, or a flat `&&` or `||` chain of filter forms
    (the forms `filters_to_expression` writes, and a field or `!field` in a chain, read as
    `eq true` / `neq true`). Filters come back in the contract's shape:
    `{"key", "operator", "value"}`, without `value` for operators that take none.
    """
    expression_compile(source)  # the expression must be valid before anything else is said about it
    root = parse_cached(source)
    if root.kind == "literal" and root.value is True:
        return "all", []
    if root.kind in ("and", "or"):
        match = "all" if root.kind == "and" else "any"
        atoms = _flatten(root, root.kind)
    else:
        match, atoms = "all", [root]
    filters = []
    for atom in atoms:
        if atom.kind in ("and", "or"):
            raise atom.error(
                "cannot show this as fields: it mixes && and ||, and fields match either all or any of the filters"
            )
        try:
            filters.append(_atom_to_filter(atom))
        except _NotAFilter as exc:
            snippet = source[atom.start : atom.end]
            if len(snippet) > 60:
                snippet = snippet[:57] + "..."
            raise atom.error(f"cannot show this as fields: {snippet} {exc}") from None
    return match, filters


def _flatten(node: Node, kind: str) -> list[Node]:
    atoms: list[Node] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if current.kind == kind:
            stack.extend(reversed(current.args))
        else:
            atoms.append(current)
    return atoms


def _key(node: Node) -> str:
    if node.kind != "path":
        raise _NotAFilter("does not start with a field")
    segments: tuple[str, ...] = node.value
    if not segments:
        raise _NotAFilter("uses the whole event ($env) where a field filter needs a key")
    for segment in segments:
        if "." in segment:
            raise _NotAFilter(f"reaches the key {segment!r}, whose dot a field filter would read as a path")
    return ".".join(segments)


def _lowered_key(node: Node) -> str:
    if node.kind == "call" and node.value == "lower" and len(node.args) == 1 and node.args[0].kind == "path":
        return _key(node.args[0])
    raise _NotAFilter("needs lower(field) on the left to ignore case as field filters do")


def _constant(node: Node) -> Any:
    if node.kind == "literal":
        return node.value
    if node.kind == "array":
        return [item.value for item in node.args]
    raise _NotAFilter("compares with something that is not a literal value")


def _filter(key: str, operator_key: str, value: Any = None) -> dict[str, Any]:
    try:
        operators.get(operator_key).validate(value)
    except ValueError as exc:
        raise _NotAFilter(f"is not a valid filter: {exc}") from None
    flt: dict[str, Any] = {"key": key, "operator": operator_key}
    if value is not None:
        flt["value"] = value
    return flt


def _atom_to_filter(node: Node) -> dict[str, Any]:
    if node.kind == "path":
        # A field where a condition is expected stands for `field == true`.
        return _filter(_key(node), "eq", True)
    if node.kind == "not":
        inner = node.args[0]
        if inner.kind == "path":
            return _filter(_key(inner), "neq", True)
        if inner.kind == "call" and inner.value in ("ieq", "inCidr", "exists"):
            positive = _call_to_filter(inner)
            negative = {"eq": "neq", "in_cidr": "not_in_cidr", "exists": "not_exists"}[positive["operator"]]
            return _filter(positive["key"], negative, positive.get("value"))
        raise _NotAFilter("is a negation with no field-filter twin")
    if node.kind == "call":
        return _call_to_filter(node)
    if node.kind == "compare":
        return _compare_to_filter(node)
    if node.kind == "literal":
        raise _NotAFilter("is a constant")
    raise _NotAFilter("has no field-filter form")


def _call_to_filter(node: Node) -> dict[str, Any]:
    name, args = node.value, node.args
    if name == "ieq":
        value = _constant(args[1])
        if value is None or isinstance(value, list):
            raise _NotAFilter("compares with nil or an array")
        return _filter(_key(args[0]), "eq", value)
    if name == "inCidr":
        return _filter(_key(args[0]), "in_cidr", _constant(args[1]))
    if name == "exists":
        return _filter(_key(args[0]), "exists")
    if name in CHANGE_FILTERS:
        value = _constant(args[1]) if len(args) > 1 else None
        return _filter(args[0].value, CHANGE_FILTERS[name], value)
    if name == "anyOf":
        path: tuple[str, ...] = args[0].value
        key = ".".join(path) if operators.get(args[1].value).on_changes else _key(args[0])
        return _filter(key, args[1].value, _constant(args[2]))
    raise _NotAFilter(f"uses {name}(), which has no field-filter form")


def _compare_to_filter(node: Node) -> dict[str, Any]:
    operator: str = node.value
    left, right = node.args
    if operator in ("==", "!="):
        value = _constant(right)
        if value is None:
            return _filter(_key(left), "not_exists" if operator == "==" else "exists")
        if isinstance(value, str):
            raise _NotAFilter('compares strings case-sensitively; field filters ignore case (use ieq(field, "..."))')
        return _filter(_key(left), "eq" if operator == "==" else "neq", value)
    if operator in ORDERING_FILTERS:
        return _filter(_key(left), ORDERING_FILTERS[operator], _constant(right))
    if operator == "matches":
        return _filter(_key(left), "matches", _constant(right))
    if operator in ("in", "not in"):
        operator_key = "in" if operator == "in" else "not_in"
        if right.kind != "array":
            raise _NotAFilter("tests membership in a field, not in a list of values")
        items = _constant(right)
        strings = [item for item in items if isinstance(item, str)]
        if left.kind == "path" and not strings:
            return _filter(_key(left), operator_key, items)
        key = _lowered_key(left)
        if any(item != item.lower() for item in strings):
            raise _NotAFilter("compares lower(field) with values that are not lower case, so it never matches them")
        return _filter(key, operator_key, items)
    if operator in TEXT_FILTERS:
        key = _lowered_key(left)
        if right.kind == "call" and right.value == "lower" and right.args[0].kind == "literal":
            value = right.args[0].value
        else:
            value = _constant(right)
            if not isinstance(value, str) or value != value.lower():
                raise _NotAFilter("compares lower(field) with a value that is not lower case, so it never matches it")
        return _filter(key, TEXT_FILTERS[operator], value)
    raise _NotAFilter(f"uses '{operator}', which has no field-filter form")

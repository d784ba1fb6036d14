"""Run-time building blocks of compiled expressions: candidates, predicates and safe tests.

A value compiles to a function returning its candidates (a path's values, arrays flattened;
a literal's one value; an array literal's items). A boolean compiles to a test. Every test
built here catches its own errors and answers False, so evaluation never raises.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rules.paths import values_at

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


# -- run-time building blocks -----------------------------------------------------------


def any_candidate(values: Values, predicate: Predicate) -> Test:
    def run(event: Event) -> bool:
        try:
            for candidate in values(event):  # a plain loop beats any(map(...)) for the usual one candidate
                if predicate(candidate):
                    return True
            return False
        except Exception:  # noqa: BLE001 - a failing test is no match, never an error
            return False

    return run


def any_pair(left: Values, right: Values, predicate: Callable[[Any, Any], bool]) -> Test:
    def run(event: Event) -> bool:
        try:
            rights = right(event)
            return any(predicate(a, b) for a in left(event) for b in rights)
        except Exception:  # noqa: BLE001 - a failing test is no match, never an error
            return False

    return run


def negate(test: Test) -> Test:
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


def equals(expected: Any) -> Predicate:
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


def member_of(items: Sequence[Any]) -> Predicate:
    strings = frozenset(item for item in items if type(item) is str)
    others = tuple(item for item in items if type(item) is not str)
    if not others:
        return lambda candidate: type(candidate) is str and candidate in strings
    return lambda candidate: (
        candidate in strings if type(candidate) is str else any(same(candidate, item) for item in others)
    )


def hash_key(value: Any) -> tuple[str, Any] | None:
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


def intersects(left: Values, right: Values) -> Test:
    """Any candidate on the left equal to any on the right, without a quadratic loop for big arrays."""

    def run(event: Event) -> bool:
        try:
            lefts, rights = left(event), right(event)
            if len(lefts) * len(rights) <= PAIRWISE_LIMIT:
                return any(same(a, b) for a in lefts for b in rights)
            keys = set()
            containers = []
            for b in rights:
                key = hash_key(b)
                if key is None:
                    containers.append(b)
                elif key[0] != "nan":
                    keys.add(key)
            for a in lefts:
                key = hash_key(a)
                if key is None:
                    if any(same(a, b) for b in containers):
                        return True
                elif key in keys:
                    return True
            return False
        except Exception:  # noqa: BLE001 - a failing test is no match, never an error
            return False

    return run


# -- compiled values ----------------------------------------------------------------------


def boolean(test: Test) -> Compiled:
    return Compiled(BOOLEAN, lambda event: (test(event),), None, test)


def boolean_const(value: bool) -> Compiled:
    const = (value,)
    return Compiled(BOOLEAN, lambda event: const, const, (lambda event: True) if value else (lambda event: False))


def constant(kind: str, const: tuple[Any, ...]) -> Compiled:
    return Compiled(kind, lambda event: const, const)


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

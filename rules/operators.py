"""The filter operators: one registry entry per operator (api.md section 4).

Each operator has a key, the label the console shows, the value kinds it accepts, a
validator that runs at save time (bad regex, bad CIDR) and `build(expected)`, which
prepares the expected value once and returns a pure predicate over one candidate value.

Semantics shared by every operator:
- A key's candidates are all values at its path, arrays flattened (rules.paths); a filter
  matches when any candidate matches.
- Negative operators (`neq`, `not_contains`, `not_in`, `not_in_cidr`, `not_exists`) are
  the negation of their positive twin, so a missing key makes them true.
- String comparisons ignore case (`matches` excepted). Booleans never equal numbers.
- `changed`, `changed_from`, `changed_to` look at the event's `changes[]` entries whose
  `field` is the filter's key instead of at a path.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import re2

from alertsite.registry import Registry
from events.validation import parse_timestamp

Predicate = Callable[[Any], bool]

STRING, NUMBER, BOOLEAN, LIST, NONE = "string", "number", "boolean", "list", "none"
MAX_LIST_ITEMS = 500
MAX_REGEX_LENGTH = 1000


class OperatorValueError(ValueError):
    """The value does not suit the operator; the message says why."""


@dataclass(frozen=True)
class Operator:
    key: str
    label: str
    value_kinds: frozenset[str]
    build: Callable[[Any], Predicate]
    negated: bool = False
    on_changes: bool = False  # candidates are changes[] entries, not values at a path
    check: Callable[[Any], None] | None = None  # extra save-time validation

    def validate(self, value: Any) -> None:
        kind = value_kind(value)
        if kind not in self.value_kinds:
            wanted = " or ".join(sorted(self.value_kinds))
            raise OperatorValueError(f"Operator {self.key!r} takes {wanted}, got {kind}.")
        if kind == LIST:
            if not value:
                raise OperatorValueError(f"Operator {self.key!r} needs at least one value in the list.")
            if len(value) > MAX_LIST_ITEMS:
                raise OperatorValueError(f"At most {MAX_LIST_ITEMS} values in a list.")
            for item in value:
                if value_kind(item) not in (STRING, NUMBER, BOOLEAN):
                    raise OperatorValueError("List values must be strings, numbers or booleans.")
        if self.check is not None:
            self.check(value)

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "label": self.label, "value_kinds": sorted(self.value_kinds)}


operators: Registry[Operator] = Registry("operator")


def value_kind(value: Any) -> str:
    if value is None:
        return NONE
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, (int, float)):
        return NUMBER
    if isinstance(value, str):
        return STRING
    if isinstance(value, list):
        return LIST
    return type(value).__name__


# -- comparison helpers ---------------------------------------------------------------


def normalize(expected: Any) -> Any:
    """Fold strings once at build time, so the per-event work is a plain comparison."""
    return expected.lower() if isinstance(expected, str) else expected


def loose_equal(actual: Any, folded: Any) -> bool:
    """Equality as filters mean it: strings ignore case, booleans only equal booleans."""
    if type(actual) is str:
        return type(folded) is str and actual.lower() == folded
    if type(actual) is bool or type(folded) is bool:
        return type(actual) is type(folded) and actual == folded
    if type(actual) in (int, float) and type(folded) in (int, float):
        return actual == folded
    return False


def ordering_key(value: Any) -> tuple[str, Any] | None:
    """Numbers compare as numbers, RFC 3339 strings as instants; nothing else is ordered."""
    if type(value) in (int, float):
        return ("number", value)
    if type(value) is str:
        parsed = parse_timestamp(value)
        if isinstance(parsed, datetime):
            return ("time", parsed)
    return None


def ordered(actual: Any, expected_key: tuple[str, Any], compare: Callable[[Any, Any], bool]) -> bool:
    actual_key = ordering_key(actual)
    return actual_key is not None and actual_key[0] == expected_key[0] and compare(actual_key[1], expected_key[1])


Network = tuple[int, int, int]  # (IP version, network address as int, netmask as int)


def networks(value: str | list[str]) -> list[Network]:
    """CIDRs as integer (version, network, mask) triples: membership is then one AND and compare."""
    items = [value] if isinstance(value, str) else value
    nets = (ipaddress.ip_network(item.strip(), strict=False) for item in items)
    return [(net.version, int(net.network_address), int(net.netmask)) for net in nets]


@lru_cache(maxsize=65536)
def ip_parse(text: str) -> tuple[int, int] | None:
    """An address as (version, int), or None. Client IPs repeat a lot: parse each once."""
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    return address.version, int(address)


def ip_in(actual: Any, nets: list[Network]) -> bool:
    if type(actual) is not str:
        return False
    parsed = ip_parse(actual)
    if parsed is None:
        return False
    version, number = parsed
    for net_version, network, mask in nets:
        if net_version == version and number & mask == network:
            return True
    return False


# -- validators -----------------------------------------------------------------------


# re2.compile's defaults, without RE2 logging every bad pattern to stderr.
QUIET_RE2 = re2.Options()
QUIET_RE2.log_errors = False


def check_regex(value: Any) -> None:
    if len(value) > MAX_REGEX_LENGTH:
        raise OperatorValueError(f"Regular expression longer than {MAX_REGEX_LENGTH} characters.")
    try:
        re2.compile(value, QUIET_RE2)
    except re2.error as exc:
        message = exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise OperatorValueError(f"Invalid regular expression: {message}") from exc
    except (UnicodeError, ValueError, TypeError) as exc:
        raise OperatorValueError(f"Invalid regular expression: {exc}") from exc


def check_cidr(value: Any) -> None:
    items = [value] if isinstance(value, str) else value
    for item in items:
        if not isinstance(item, str):
            raise OperatorValueError("CIDR values must be strings such as 10.0.0.0/8 or 2001:db8::/32.")
        try:
            ipaddress.ip_network(item.strip(), strict=False)
        except ValueError as exc:
            raise OperatorValueError(f"Invalid CIDR {item!r}: {exc}") from exc


def check_ordered(value: Any) -> None:
    if isinstance(value, str) and ordering_key(value) is None:
        raise OperatorValueError("Takes a number or an RFC 3339 date-time.")


# -- builders -------------------------------------------------------------------------


def build_eq(expected: Any) -> Predicate:
    folded = normalize(expected)
    return lambda actual: loose_equal(actual, folded)


def build_contains(expected: Any) -> Predicate:
    folded = normalize(expected)
    return lambda actual: type(actual) is str and folded in actual.lower()


def build_starts_with(expected: Any) -> Predicate:
    folded = normalize(expected)
    return lambda actual: type(actual) is str and actual.lower().startswith(folded)


def build_ends_with(expected: Any) -> Predicate:
    folded = normalize(expected)
    return lambda actual: type(actual) is str and actual.lower().endswith(folded)


def build_in(expected: Any) -> Predicate:
    items = [normalize(item) for item in expected]
    strings = frozenset(item for item in items if type(item) is str)
    others = [item for item in items if type(item) is not str]

    def predicate(actual: Any) -> bool:
        if type(actual) is str:
            return actual.lower() in strings
        return any(loose_equal(actual, item) for item in others)

    return predicate


def build_ordered(compare: Callable[[Any, Any], bool]) -> Callable[[Any], Predicate]:
    def build(expected: Any) -> Predicate:
        expected_key = ordering_key(expected)
        if expected_key is None:
            return lambda actual: False
        return lambda actual: ordered(actual, expected_key, compare)

    return build


def build_matches(expected: Any) -> Predicate:
    search = re2.compile(expected, QUIET_RE2).search

    def predicate(actual: Any) -> bool:
        if type(actual) is not str:
            return False
        try:
            return search(actual) is not None
        except UnicodeError:  # a lone surrogate cannot be encoded for RE2: no match
            return False

    return predicate


def build_exists(expected: Any) -> Predicate:
    return lambda actual: actual is not None


def build_in_cidr(expected: Any) -> Predicate:
    nets = networks(expected)
    return lambda actual: ip_in(actual, nets)


def build_changed(expected: Any) -> Predicate:
    return lambda entry: True


def build_changed_side(side: str) -> Callable[[Any], Predicate]:
    def build(expected: Any) -> Predicate:
        folded = normalize(expected)

        def predicate(entry: dict[str, Any]) -> bool:
            if side not in entry:
                return False
            value = entry[side]
            values = value if type(value) is list else [value]
            return any(loose_equal(item, folded) for item in values)

        return predicate

    return build


SCALAR = frozenset({STRING, NUMBER, BOOLEAN})


def register(operator: Operator) -> Operator:
    operators.add(operator.key, operator)
    return operator


def register_pair(positive: Operator, negative_key: str, negative_label: str) -> None:
    register(positive)
    register(
        Operator(
            key=negative_key,
            label=negative_label,
            value_kinds=positive.value_kinds,
            build=positive.build,
            negated=True,
            on_changes=positive.on_changes,
            check=positive.check,
        )
    )


register_pair(Operator("eq", "equals", SCALAR, build_eq), "neq", "does not equal")
register_pair(Operator("contains", "contains", frozenset({STRING}), build_contains), "not_contains", "does not contain")
register(Operator("starts_with", "starts with", frozenset({STRING}), build_starts_with))
register(Operator("ends_with", "ends with", frozenset({STRING}), build_ends_with))
register_pair(Operator("in", "is one of", frozenset({LIST}), build_in), "not_in", "is not one of")
register(
    Operator(
        "gt", "is greater than", frozenset({NUMBER, STRING}), build_ordered(lambda a, b: a > b), check=check_ordered
    )
)
register(
    Operator("gte", "is at least", frozenset({NUMBER, STRING}), build_ordered(lambda a, b: a >= b), check=check_ordered)
)
register(
    Operator("lt", "is less than", frozenset({NUMBER, STRING}), build_ordered(lambda a, b: a < b), check=check_ordered)
)
register(
    Operator("lte", "is at most", frozenset({NUMBER, STRING}), build_ordered(lambda a, b: a <= b), check=check_ordered)
)
register(Operator("matches", "matches regex", frozenset({STRING}), build_matches, check=check_regex))
register_pair(Operator("exists", "exists", frozenset({NONE}), build_exists), "not_exists", "does not exist")
register_pair(
    Operator("in_cidr", "is in network", frozenset({STRING, LIST}), build_in_cidr, check=check_cidr),
    "not_in_cidr",
    "is not in network",
)
register(Operator("changed", "changed", frozenset({NONE}), build_changed, on_changes=True))
register(Operator("changed_from", "changed from", SCALAR, build_changed_side("from"), on_changes=True))
register(Operator("changed_to", "changed to", SCALAR, build_changed_side("to"), on_changes=True))

"""Compile the vendor's `search_term` into a Django `Q` over the event log.

Shape: `{"and": {...}, "or": {...}, "not": {...}}`, each a map of dotted field name to value.
- `and`: every pair holds; `or`: at least one holds; `not`: none holds (a missing field does
  not hold, so `not` keeps events without it). An empty map asks for nothing.
- A value that is a list means any of its values; a value that is an object under the key
  `and`, `or` or `not` nests another conjunction (`{"and": {"or": {...}, "success": false}}`).
- Equality is JSON equality with the stored value, except that `"true"`/`"false"` and
  `true`/`false` match each other (the vendor's term queries coerce them); a field holding an
  array is not searched inside.

Where the stored column says the same thing as the payload (event_type, service, success,
client_ip, the event id) the column is used, for its indexes. On PostgreSQL payload fields
compile to containment (`payload @> '{"a": {"b": v}}'`), which the GIN index answers.
"""

from __future__ import annotations

from functools import reduce
from typing import Any

from django.db import connection
from django.db.models import BooleanField, JSONField, Q, Value
from django.db.models.fields.json import KeyTransform
from django.db.models.functions import Coalesce

from events.insights.query import PATH_RE, QueryError

CONJUNCTIONS = ("and", "or", "not")
MAX_TERMS = 200
MAX_VALUES = 1_000
MAX_DEPTH = 8
# Columns that hold exactly the payload's top-level value when that is a non-empty string
# no longer than the column (events.validation fills them).
TEXT_COLUMNS = {"event_type": ("event_type", 100), "service": ("service", 64), "client_ip": ("client_ip", 64)}


def search_term_q(term: dict[str, Any]) -> Q:
    """The Q of a whole `search_term` (its conjunctions are all required)."""
    unknown = sorted(set(term) - set(CONJUNCTIONS))
    if unknown:
        raise QueryError(f"search_term takes and, or, not; got {', '.join(unknown)}.", "search_term")
    budget = [MAX_TERMS]
    return _all(_conjunction(name, term[name], depth=1, budget=budget) for name in CONJUNCTIONS if name in term)


def field_any_of(path: tuple[str, ...], values: list[Any]) -> Q:
    """Events whose field at `path` equals one of `values` (x-org-id uses it on `organization`)."""
    return _any(_equals(path, value) for value in values)


def _conjunction(name: str, terms: Any, *, depth: int, budget: list[int]) -> Q:
    if not isinstance(terms, dict):
        raise QueryError(f"search_term: {name} must be an object of field names to values.", "search_term")
    if depth > MAX_DEPTH:
        raise QueryError(f"search_term nests deeper than {MAX_DEPTH} levels.", "search_term")
    parts: list[Q] = []
    for field, value in terms.items():
        budget[0] -= 1
        if budget[0] < 0:
            raise QueryError(f"search_term has more than {MAX_TERMS} terms.", "search_term")
        if field in CONJUNCTIONS and isinstance(value, dict):
            parts.append(_conjunction(field, value, depth=depth + 1, budget=budget))
        else:
            parts.append(_term(field, value))
    if not parts:
        return Q()
    if name == "and":
        return _all(parts)
    either = _any(parts)
    return ~either if name == "not" else either


def _term(field: str, value: Any) -> Q:
    if not PATH_RE.fullmatch(field) or len(field) > 200:
        raise QueryError(f"search_term: {field[:64]!r} is not a dotted field name.", "search_term")
    values = value if isinstance(value, list) else [value]
    if not values or len(values) > MAX_VALUES:
        raise QueryError(f"search_term: {field} takes a value or a list of 1 to {MAX_VALUES} values.", "search_term")
    if any(isinstance(item, (dict, list)) for item in values):
        raise QueryError(f"search_term: {field} takes strings, numbers, booleans or null.", "search_term")
    return field_any_of(tuple(field.split(".")), _with_boolean_spellings(values))


def _equals(path: tuple[str, ...], value: Any) -> Q:
    if len(path) == 1:
        column = _column(path[0], value)
        if column is not None:
            return column
    if connection.vendor == "postgresql":
        nested: Any = value
        for part in reversed(path):
            nested = {part: nested}
        return Q(payload__contains=nested)
    expression: Any = "payload"
    for part in path:
        expression = KeyTransform(part, expression)
    # JSON_EXTRACT of a missing key is NULL, and NOT NULL is NULL: coalesce so `not` keeps those rows.
    equal = expression.get_lookup("exact")(expression, Value(value, output_field=JSONField()))
    return Q(Coalesce(equal, Value(False), output_field=BooleanField()))


def _with_boolean_spellings(values: list[Any]) -> list[Any]:
    spelled: list[Any] = []
    for value in values:
        spelled.append(value)
        if isinstance(value, bool):
            spelled.append("true" if value else "false")
        elif value in ("true", "false"):
            spelled.append(value == "true")
    return spelled


def _column(name: str, value: Any) -> Q | None:
    if name == "id" and isinstance(value, str) and 0 < len(value) <= 64:
        return Q(event_id=value)
    if name == "success" and isinstance(value, bool):
        return Q(success=value)
    if name in TEXT_COLUMNS and isinstance(value, str):
        column, length = TEXT_COLUMNS[name]
        if 0 < len(value) <= length:
            return Q(**{column: value})
    return None


def _all(parts: Any) -> Q:
    return reduce(lambda left, right: left & right, parts, Q())


def _any(parts: Any) -> Q:
    items = list(parts)
    return reduce(lambda left, right: left | right, items[1:], items[0]) if items else Q()

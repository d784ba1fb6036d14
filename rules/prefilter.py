"""A SQL condition that keeps every stored event some rule conditions could match, and drops most others.

Backtests (rules.preview) read a week of events of a type: a busy type is ~100,000 rows, and
decoding each payload and running the engine on it cost most of a preview. This prefilter lets
the database drop, before anything reaches Python, events that cannot match: it is a superset
of the matches (never narrower), so the engine still decides every match exactly.

Per condition: its event type, and, when the condition needs all of its filters ("all"), each
filter that the stored row can answer:
- `success eq true|false`: the `success` column, or a row whose `success` is not a boolean;
- on PostgreSQL, a string `eq` / `in` / `contains` / `starts_with` / `ends_with` of printable ASCII
  on a path of plain keys: the value at that path (`payload #>> path`, read from the binary jsonb,
  no text made of the payload) contains it, ignoring case. Rows where the path meets an array
  (the engine looks inside arrays) or whose value holds U+212A or U+0130 (their `str.lower()` is or
  holds ASCII) are kept.
With "any", the condition narrows only when every filter can be checked. Expressions and other
operators narrow nothing beyond the event type.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Iterable
from functools import reduce

from django.db import connection
from django.db.models import BooleanField, Q
from django.db.models.expressions import RawSQL

from rules.conditions import Condition, Filter
from rules.paths import path_parse

TEXT_OPERATORS = frozenset({"eq", "in", "contains", "starts_with", "ends_with"})
PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
PAYLOAD = '"events_auditevent"."payload"'
# Characters whose str.lower() is or holds ASCII (KELVIN SIGN -> "k", U+0130 -> "i" + a combining dot).
ASCII_BY_LOWER = ("\u212a", "\u0130")


def _ascii(value: object) -> bool:
    return isinstance(value, str) and value != "" and all(" " <= char <= "~" for char in value)


def _text_check(flt: Filter) -> Q | None:
    """PostgreSQL: the value at the filter's path, lowered, equals (or contains) one of its values."""
    path = list(path_parse(flt.key))
    if not all(PLAIN_KEY.fullmatch(part) for part in path):
        return None
    values = flt.value if flt.operator == "in" else [flt.value]
    if not isinstance(values, list) or not values or not all(_ascii(value) for value in values):
        return None
    folded = sorted({value.lower() for value in values})
    arrays = " OR ".join(f"jsonb_typeof({PAYLOAD} #> %s::text[]) = 'array'" for _ in path)
    params: list[object] = [path[: depth + 1] for depth in range(len(path))]
    if flt.operator in ("eq", "in"):
        found = f"lower({PAYLOAD} #>> %s::text[]) = ANY(%s::text[])"
        params += [path, folded]
    else:  # contains, starts_with, ends_with: containing is enough (a superset)
        found = " OR ".join(f"strpos(lower({PAYLOAD} #>> %s::text[]), %s) > 0" for _ in folded)
        params += [item for value in folded for item in (path, value)]
    odd = " OR ".join(f"strpos({PAYLOAD} #>> %s::text[], %s) > 0" for _ in ASCII_BY_LOWER)
    params += [item for char in ASCII_BY_LOWER for item in (path, char)]
    sql = f"({arrays} OR {found} OR {odd})"
    return Q(RawSQL(sql, params, output_field=BooleanField()))


def filter_prefilter(flt: Filter) -> Q | None:
    """A superset of the rows this filter can match, or None when the row alone cannot tell."""
    if flt.key == "success" and flt.operator == "eq" and isinstance(flt.value, bool):
        return Q(success=flt.value) | Q(success__isnull=True)
    if flt.operator in TEXT_OPERATORS and connection.vendor == "postgresql":
        return _text_check(flt)
    return None


def condition_prefilter(condition: Condition) -> Q:
    narrowed = Q(event_type=condition.event_type)
    if condition.expression is not None or not condition.filters:
        return narrowed
    checks = [filter_prefilter(flt) for flt in condition.filters]
    known = [check for check in checks if check is not None]
    if condition.match == "all":
        return reduce(operator.and_, known, narrowed)
    return narrowed & reduce(operator.or_, known) if len(known) == len(checks) else narrowed


def conditions_prefilter(conditions: Iterable[Condition]) -> Q:
    """Events any of these conditions could match."""
    checks = [condition_prefilter(condition) for condition in conditions]
    return reduce(operator.or_, checks) if checks else Q(pk__in=[])

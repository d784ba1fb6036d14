"""Learning a new_value rule's history in SQL: one row per distinct combination, not per event.

Why: learning reads up to a year of a busy type (a million events). Parsing each payload in
Python and running the engine on it cost ~15 s; most events repeat a few combinations.

How it stays exact: the database reads, for each event, only the JSON paths the rule can look
at (its conditions' filter keys, `changes` / `association` for change filters and actions,
`event_type`, and the detection's `fields`) and groups the events on those values, as jsonb
text (so `1` and `1.0`, or `"A"` and `"a"`, stay apart). Python rebuilds each group's payload
from the projected paths and runs the very engine and `value_key` of the Python path on it, so
both decide alike: the engine sees the same values at every path it reads. A path that meets
an array on the way (where the engine flattens and `#>` would index) brings its whole
top-level key instead. Conditions with a real expression (whose paths are not listed here)
take the Python path.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from django.db import connection, transaction
from django.db.models import Count, Max, Min, QuerySet, TextField
from django.db.models.expressions import RawSQL

from rules.conditions import Condition
from rules.detections.base import key_paths
from rules.engine import condition_as_filters
from rules.operators import operators
from rules.paths import Path, path_parse
from rules.prefilter import PAYLOAD

WHOLE = "W"  # before a column's text: it is the path's whole top-level key (an array on the way)


def condition_paths(condition: Condition) -> set[Path] | None:
    """Every path the engine may read deciding this condition, or None when it cannot tell (an expression)."""
    condition = condition_as_filters(condition)
    if condition.expression is not None:
        return None
    paths: set[Path] = set()
    if condition.action:
        paths.add(("association",))
    for flt in condition.filters:
        paths.add(("changes",) if operators.get(flt.operator).on_changes else path_parse(flt.key))
    return paths


def projection_paths(conditions: Iterable[Condition], fields: Sequence[str]) -> list[Path] | None:
    """The paths to read from each event for these conditions and detection fields (None: not in SQL)."""
    paths: set[Path] = {("event_type",), *key_paths(fields)}
    for condition in conditions:
        read = condition_paths(condition)
        if read is None:
            return None
        paths |= read
    return sorted(paths)


def _column(path: Path) -> RawSQL:
    """The value at the path as jsonb text; or W and its top-level key's text when an array is on the way.

    jsonb text never starts with W (it starts with `{`, `[`, `"`, a digit, `-`, `t`, `f` or `n`).
    """
    if len(path) == 1:
        return RawSQL(f"({PAYLOAD} -> %s)::text", [path[0]], output_field=TextField())
    arrays = " OR ".join(f"jsonb_typeof({PAYLOAD} #> %s::text[]) = 'array'" for _ in path[:-1])
    params: list[Any] = [list(path[: depth + 1]) for depth in range(len(path) - 1)]
    sql = f"CASE WHEN {arrays} THEN '{WHOLE}' || ({PAYLOAD} -> %s)::text ELSE ({PAYLOAD} #> %s::text[])::text END"
    return RawSQL(sql, [*params, path[0], list(path)], output_field=TextField())


@dataclass(frozen=True, slots=True)
class Group:
    """Events that look alike to the rule: the payload they share, when, and how many."""

    payload: dict[str, Any]
    first: Any
    last: Any
    count: int


def groups(events: QuerySet[Any], paths: Sequence[Path]) -> list[Group]:
    """The events grouped on the values at `paths` (one query; PostgreSQL)."""
    names = [f"p{index}" for index in range(len(paths))]
    rows = (
        events.order_by()
        .annotate(**{name: _column(path) for name, path in zip(names, paths, strict=True)})
        .values(*names)
        .annotate(first=Min("timestamp"), last=Max("timestamp"), n=Count("pk"))
        .values_list(*names, "first", "last", "n")
    )
    with transaction.atomic(), connection.cursor() as cursor:
        # JIT compiling this query's expressions costs ~0.2 s, each slice anew: more than it saves.
        cursor.execute("SET LOCAL jit = off")
        found = list(rows)
    return [Group(payload_rebuild(paths, columns), first, last, count) for *columns, first, last, count in found]


def payload_rebuild(paths: Sequence[Path], columns: Sequence[str | None]) -> dict[str, Any]:
    """A payload holding exactly what the columns say is at each path: what the engine reads of the event."""
    payload: dict[str, Any] = {}
    wholes = set()
    for path, column in zip(paths, columns, strict=True):
        if column is not None and column.startswith(WHOLE):
            payload[path[0]] = orjson.loads(column[1:])
            wholes.add(path[0])
    for path, column in sorted(zip(paths, columns, strict=True), key=lambda item: len(item[0])):
        if column is None or path[0] in wholes:
            continue
        node = payload
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if type(child) is not dict:  # a shorter path's value was no object: nothing lies below it
                break
            node = child
        else:
            node[path[-1]] = orjson.loads(column)
    return payload

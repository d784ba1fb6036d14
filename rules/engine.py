"""The rule engine: an index of compiled conditions, so cost doesn't grow with rules that can't match.

Index layout, per event type (association actions index under `association_change`):
- `unindexed`: conditions with no usable equality filter (expressions, `any` sets, ...).
- `by_key[path][value]`: conditions whose `all` set holds an `eq`/`in` filter on `path`;
  only the buckets of the event's own values at `path` are visited. The index is a
  superset filter: every candidate is still checked with its full predicate.

The engine is built once per process and rebuilt when the rules version counter
(bumped in the same transaction as any rule change) moves.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from rules.conditions import Condition, EventPredicate, Filter, condition_compile
from rules.expression import ExpressionError, expression_to_filters
from rules.paths import Path, path_parse, values_at

logger = logging.getLogger(__name__)

INDEXABLE_OPERATORS = frozenset({"eq", "in"})


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """What the engine needs of a rule: plain data, so the engine itself never touches the DB."""

    id: int
    conditions: tuple[Condition, ...]
    group_by: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CompiledCondition:
    rule_id: int
    position: int
    predicate: EventPredicate


@dataclass
class TypeIndex:
    unindexed: list[CompiledCondition] = field(default_factory=list)
    by_key: dict[Path, dict[Hashable, list[CompiledCondition]]] = field(default_factory=dict)


def index_key(value: Any) -> Hashable | None:
    """The bucket a value falls in: equal values as filters mean it share a bucket."""
    kind = type(value)
    if kind is str:
        return value.lower()
    if kind is bool:
        return (bool, value)
    if kind is int or kind is float:
        return (float, float(value))
    return None


def _as_filters(condition: Condition) -> Condition:
    """An expression that is a flat chain of filter twins is evaluated (and indexed) as those filters."""
    if condition.expression is None:
        return condition
    try:
        match, filters = expression_to_filters(condition.expression)
    except ExpressionError:
        return condition
    return replace(
        condition,
        expression=None,
        match=match,
        filters=tuple(Filter(f["key"], f["operator"], f.get("value")) for f in filters),
    )


def _index_filter(condition: Condition) -> tuple[Filter, Path, list[Hashable]] | None:
    """The condition's most selective equality filter to index on, or None when it has none usable.

    Strings beat booleans (a `success` bucket holds half the traffic), then fewer values win.
    """
    if condition.expression is not None or not condition.filters:
        return None
    if condition.match == "any" and len(condition.filters) > 1:
        return None
    best: tuple[tuple[bool, int], Filter, list[Hashable]] | None = None
    for flt in condition.filters:
        if flt.operator not in INDEXABLE_OPERATORS:
            continue
        values = flt.value if isinstance(flt.value, list) else [flt.value]
        keys = [index_key(value) for value in values]
        if any(key is None for key in keys):
            continue
        score = (any(isinstance(value, bool) for value in values), len(keys))
        if best is None or score < best[0]:
            best = (score, flt, keys)
    if best is None:
        return None
    return best[1], path_parse(best[1].key), best[2]


def _implied_by_bucket(flt: Filter) -> bool:
    """A bucket hit proves the filter true when its values are strings or booleans (numbers are re-checked)."""
    values = flt.value if isinstance(flt.value, list) else [flt.value]
    return all(isinstance(value, (str, bool)) for value in values)


class RuleEngine:
    def __init__(self, rules: Iterable[RuleSpec]) -> None:
        self.by_type: dict[str, TypeIndex] = {}
        self.group_by: dict[int, tuple[Path, ...]] = {}
        self.rule_count = 0
        for rule in rules:
            self.rule_count += 1
            self.group_by[rule.id] = tuple(path_parse(key) for key in rule.group_by)
            for position, original in enumerate(rule.conditions):
                condition = _as_filters(original)
                type_index = self.by_type.setdefault(condition.event_type, TypeIndex())
                indexed = _index_filter(condition)
                if indexed is None:
                    type_index.unindexed.append(CompiledCondition(rule.id, position, condition_compile(condition)))
                    continue
                flt, path, keys = indexed
                if _implied_by_bucket(flt) and (condition.match == "all" or len(condition.filters) == 1):
                    # Reached only through the bucket, so that filter already holds: don't check it again.
                    condition = replace(condition, filters=tuple(f for f in condition.filters if f is not flt))
                compiled = CompiledCondition(rule.id, position, condition_compile(condition))
                buckets = type_index.by_key.setdefault(path, {})
                for key in dict.fromkeys(keys):
                    buckets.setdefault(key, []).append(compiled)

    def candidates(self, event: dict[str, Any]) -> list[CompiledCondition]:
        type_index = self.by_type.get(event.get("event_type"))  # type: ignore[arg-type]
        if type_index is None:
            return []
        found = list(type_index.unindexed)
        for path, buckets in type_index.by_key.items():
            for value in values_at(event, path):
                key = value.lower() if type(value) is str else index_key(value)
                if key is not None:
                    bucket = buckets.get(key)
                    if bucket:
                        found.extend(bucket)
        return found

    def matching_rules(self, event: dict[str, Any]) -> list[int]:
        """Ids of the rules the event matches, in first-matched order. Never raises."""
        if event.get("event_type") not in self.by_type:
            return []
        matched: list[int] = []
        seen: set[int] = set()
        for condition in self.candidates(event):
            rule_id = condition.rule_id
            if rule_id in seen:
                continue
            try:
                hit = condition.predicate(event)
            except Exception:
                logger.exception("rule raised while evaluating; counted as no match", extra={"rule_id": rule_id})
                continue
            if hit:
                seen.add(rule_id)
                matched.append(rule_id)
        return matched

    def match_batch(self, events: Sequence[dict[str, Any]]) -> list[tuple[int, int]]:
        """(event position, rule id) for every match in the batch."""
        return [(position, rule_id) for position, event in enumerate(events) for rule_id in self.matching_rules(event)]

    def group_key(self, rule_id: int, event: dict[str, Any]) -> str:
        return group_key_for(self.group_by.get(rule_id, ()), event)


def group_key_for(paths: Sequence[Path], event: dict[str, Any]) -> str:
    """SHA-1 of the canonical JSON of the group_by values; empty for rules without grouping."""
    if not paths:
        return ""
    values = []
    for path in paths:
        found = values_at(event, path)
        value = found[0] if found else None
        values.append(value.lower() if isinstance(value, str) else value)
    return hashlib.sha1(orjson.dumps(values, option=orjson.OPT_SORT_KEYS)).hexdigest()

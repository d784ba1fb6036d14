"""The rule engine: an index of compiled conditions, so cost doesn't grow with rules that can't match.

Index layout, per event type (association actions index under `association_change`):
- `unindexed`: conditions with no usable equality filter (expressions, `any` sets, ...).
- `by_key[paths][values]`: conditions whose `all` set holds `eq`/`in` filters, keyed on the
  tuple of those filters' paths (a compound key: `(geoip.country_code, success)`), so a
  rule on a busy value (country US) is visited only when its other equalities hold too.
  Only the buckets of the event's own values at those paths are visited. The index is a
  superset filter: every candidate is still checked with what the bucket doesn't prove.

The engine is built once per process and rebuilt when the rules version counter
(bumped in the same transaction as any rule change) moves.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import math
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from rules.conditions import Condition, EventPredicate, Filter, condition_compile
from rules.expression import ExpressionError, expression_to_filters
from rules.paths import Path, path_parse, values_at, values_reader

logger = logging.getLogger(__name__)

INDEXABLE_OPERATORS = frozenset({"eq", "in"})
MAX_KEY_PATHS = 3  # equality filters joined into one compound key
MAX_KEY_COMBINATIONS = 16  # buckets one condition may sit in (the product of its `in` sizes)


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """What the engine needs of a rule: plain data, so the engine itself never touches the DB."""

    id: int
    conditions: tuple[Condition, ...]
    group_by: tuple[str, ...] = ()
    # api.md section 12 (rules.detections); the engine reports every condition such a rule's event matches.
    detection: dict[str, Any] | None = None
    # A new_value rule still learning its history: its values are recorded, none fires yet.
    learning: bool = False


@dataclass(frozen=True, slots=True)
class CompiledCondition:
    rule_id: int
    position: int
    predicate: EventPredicate


@dataclass
class TypeIndex:
    unindexed: list[CompiledCondition] = field(default_factory=list)
    by_key: dict[tuple[Path, ...], dict[tuple[Hashable, ...], list[CompiledCondition]]] = field(default_factory=dict)
    # Filled by seal(): each indexed path read once per event, and each compound key as positions in `paths`.
    readers: list[Callable[[Any], Sequence[Any]]] = field(default_factory=list)
    lookups: list[tuple[tuple[int, ...], dict[tuple[Hashable, ...], list[CompiledCondition]]]] = field(
        default_factory=list
    )

    def seal(self) -> None:
        paths = sorted({path for compound in self.by_key for path in compound})
        position = {path: index for index, path in enumerate(paths)}
        self.readers = [values_reader(path) for path in paths]
        self.lookups = [
            (tuple(position[path] for path in compound), buckets) for compound, buckets in self.by_key.items()
        ]

    def candidates(self, event: dict[str, Any]) -> list[CompiledCondition]:
        found = list(self.unindexed)
        keys_at = [_event_keys(read(event)) for read in self.readers]
        for positions, buckets in self.lookups:
            if len(positions) == 1:
                for key in keys_at[positions[0]]:
                    bucket = buckets.get((key,))
                    if bucket:
                        found.extend(bucket)
                continue
            if len(positions) == 2:
                first, second = keys_at[positions[0]], keys_at[positions[1]]
                if len(first) == 1 and len(second) == 1:  # the common case, without itertools
                    bucket = buckets.get((first[0], second[0]))
                    if bucket:
                        found.extend(bucket)
                    continue
            per_path = [keys_at[position] for position in positions]
            if math.prod(len(keys) for keys in per_path) <= len(buckets):
                for combination in itertools.product(*per_path):
                    bucket = buckets.get(combination)
                    if bucket:
                        found.extend(bucket)
                continue
            # Arrays at several paths: their combinations outnumber the buckets, so walk the buckets.
            present = [set(keys) for keys in per_path]
            for combination, bucket in buckets.items():
                if all(key in keys for key, keys in zip(combination, present, strict=True)):
                    found.extend(bucket)
        return found


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


def condition_as_filters(condition: Condition) -> Condition:
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


def _index_filters(condition: Condition) -> list[tuple[Filter, Path, list[Hashable]]]:
    """The condition's equality filters to index on, most selective first; empty when none is usable.

    Strings beat booleans (a `success` bucket holds half the traffic), then fewer values win.
    Up to MAX_KEY_PATHS filters on distinct paths join the compound key, as long as the
    condition sits in at most MAX_KEY_COMBINATIONS buckets.
    """
    if condition.expression is not None or not condition.filters:
        return []
    if condition.match == "any" and len(condition.filters) > 1:
        return []
    usable: list[tuple[tuple[bool, int], Filter, list[Hashable]]] = []
    for flt in condition.filters:
        if flt.operator not in INDEXABLE_OPERATORS:
            continue
        values = flt.value if isinstance(flt.value, list) else [flt.value]
        keys = list(dict.fromkeys(index_key(value) for value in values))
        if not keys or any(key is None for key in keys):
            continue
        usable.append(((any(isinstance(value, bool) for value in values), len(keys)), flt, keys))
    usable.sort(key=lambda entry: entry[0])
    chosen: list[tuple[Filter, Path, list[Hashable]]] = []
    combinations = 1
    for _, flt, keys in usable:
        path = path_parse(flt.key)
        if len(chosen) == MAX_KEY_PATHS or any(path == taken for _, taken, _ in chosen):
            continue
        if chosen and combinations * len(keys) > MAX_KEY_COMBINATIONS:
            continue
        combinations *= len(keys)
        chosen.append((flt, path, keys))
    return sorted(chosen, key=lambda entry: entry[1])  # one compound key per set of paths, whatever the order


def _implied_by_bucket(flt: Filter) -> bool:
    """A bucket hit proves the filter true when its values are strings or booleans (numbers are re-checked)."""
    values = flt.value if isinstance(flt.value, list) else [flt.value]
    return all(isinstance(value, (str, bool)) for value in values)


class RuleEngine:
    def __init__(self, rules: Iterable[RuleSpec]) -> None:
        self.by_type: dict[str, TypeIndex] = {}
        self.group_by: dict[int, tuple[Path, ...]] = {}
        self.detections: dict[int, dict[str, Any]] = {}
        self.step_labels: dict[int, tuple[str, ...]] = {}
        self.learning: set[int] = set()
        self.rule_count = 0
        for rule in rules:
            self.rule_count += 1
            if rule.detection is not None:
                self.detections[rule.id] = rule.detection
                self.step_labels[rule.id] = tuple(c.action or c.event_type for c in rule.conditions)
                if rule.learning:
                    self.learning.add(rule.id)
            self.group_by[rule.id] = tuple(path_parse(key) for key in rule.group_by)
            for position, original in enumerate(rule.conditions):
                condition = condition_as_filters(original)
                type_index = self.by_type.setdefault(condition.event_type, TypeIndex())
                indexed = _index_filters(condition)
                if not indexed:
                    type_index.unindexed.append(CompiledCondition(rule.id, position, condition_compile(condition)))
                    continue
                if condition.match == "all" or len(condition.filters) == 1:
                    # Reached only through its buckets, so those filters already hold: don't check them again.
                    proven = {id(flt) for flt, _, _ in indexed if _implied_by_bucket(flt)}
                    condition = replace(condition, filters=tuple(f for f in condition.filters if id(f) not in proven))
                compiled = CompiledCondition(rule.id, position, condition_compile(condition))
                buckets = type_index.by_key.setdefault(tuple(path for _, path, _ in indexed), {})
                for key in itertools.product(*(keys for _, _, keys in indexed)):
                    buckets.setdefault(key, []).append(compiled)
        for type_index in self.by_type.values():
            type_index.seal()

    def candidates(self, event: dict[str, Any]) -> list[CompiledCondition]:
        type_index = self.by_type.get(event.get("event_type"))  # type: ignore[arg-type]
        return [] if type_index is None else type_index.candidates(event)

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

    def matching_positions(self, event: dict[str, Any]) -> list[tuple[int, int]]:
        """(rule id, condition position) for every condition the event matches of a rule with a
        detection (a sequence needs to know which steps an event is); plain rules report their
        first hit only. Never raises."""
        if event.get("event_type") not in self.by_type:
            return []
        detecting = self.detections
        matched: list[tuple[int, int]] = []
        done: set[int] = set()
        for condition in self.candidates(event):
            rule_id = condition.rule_id
            if rule_id in done:
                continue
            try:
                hit = condition.predicate(event)
            except Exception:
                logger.exception("rule raised while evaluating; counted as no match", extra={"rule_id": rule_id})
                continue
            if hit:
                matched.append((rule_id, condition.position))
                if rule_id not in detecting:
                    done.add(rule_id)
        return matched

    def match_batch(self, events: Sequence[dict[str, Any]]) -> list[tuple[int, int]]:
        """(event position, rule id) for every match in the batch."""
        return [(position, rule_id) for position, event in enumerate(events) for rule_id in self.matching_rules(event)]

    def group_key(self, rule_id: int, event: dict[str, Any]) -> str:
        return group_key_for(self.group_by.get(rule_id, ()), event)


def _event_keys(values: Sequence[Any]) -> list[Hashable]:
    """The distinct bucket keys of an event's values at one path."""
    if len(values) == 1:
        value = values[0]
        key = value.lower() if type(value) is str else index_key(value)
        return [] if key is None else [key]
    keys = (index_key(value) for value in values)
    return list(dict.fromkeys(key for key in keys if key is not None))


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

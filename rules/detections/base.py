"""What every detection kind shares: the events it reads, the decisions it makes, and its keys.

Pure code (no database): the live path (rules.detections.live), `test`, `preview` and
`preview-change` all feed these the same way, so what a preview counts is what fires live.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, TypeGuard

import orjson

from alertsite.registry import Registry
from rules.conditions import KEY_RE
from rules.paths import Path, path_parse, values_at

EXPLICIT_PREFIX = "$."  # `$.custom.field`: a path the catalog does not list, taken as written
MAX_KEYS = 5


@dataclass(frozen=True, slots=True)
class DetectionEvent:
    """A matched event as a detection sees it."""

    pk: int  # AuditEvent pk (in `test`, a negative index for unsaved events)
    timestamp: datetime
    payload: dict[str, Any]
    positions: frozenset[int]  # which of the rule's conditions this event matches (sequence steps)


@dataclass(frozen=True, slots=True)
class Decision:
    """A match that counts: it becomes a RuleMatch row and an alert."""

    event_pk: int  # the event the match counts for (a sequence's last step)
    event_pks: tuple[int, ...]  # every step's event pk in order; (event_pk,) for new_value
    explanation: str


def event_order(event: DetectionEvent) -> tuple[datetime, int]:
    """Event-time order; the pk breaks ties so every path orders equal timestamps alike."""
    return (event.timestamp, event.pk)


class DetectionKind(Protocol):
    """One kind of detection (a registry entry): how it is checked, replayed and explained."""

    label: str
    fields: frozenset[str]

    def clean(
        self, detection: dict[str, Any], *, conditions: Sequence[dict[str, Any]], keys: KeyCheck
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """The detection with defaults filled in, and errors by field path."""
        ...

    def replay(
        self,
        detection: dict[str, Any],
        events: Iterable[DetectionEvent],
        *,
        history: Iterable[DetectionEvent],
        step_labels: Sequence[str],
    ) -> list[Decision]: ...

    def explain(
        self,
        detection: dict[str, Any],
        event: DetectionEvent,
        *,
        history: Iterable[DetectionEvent],
        step_labels: Sequence[str],
    ) -> tuple[bool, str]: ...


detection_kinds: Registry[DetectionKind] = Registry("detection kind")


class KeyCheck:
    """Whether a key names something the selected events can carry.

    `carried` maps each selected event type to its catalog keys; None skips the check (stored
    rules, previews of unsaved bodies that passed it already). Keys the rule's own filters read
    count too, and `$.`-prefixed keys are explicit paths, taken as written.
    """

    def __init__(self, carried: Mapping[str, Collection[str]] | None, conditions: Sequence[dict[str, Any]]) -> None:
        self.known: set[str] | None = None
        if carried is not None:
            self.known = {key for keys in carried.values() for key in keys}
            for condition in conditions:
                for flt in condition.get("filters") or ():
                    if isinstance(flt, dict) and isinstance(flt.get("key"), str):
                        self.known.add(flt["key"])

    def check(self, key: Any) -> str | None:
        """The problem with `key`, or None when it is fine."""
        if not isinstance(key, str) or not key:
            return "Must be a dotted key such as initiated_by.email."
        explicit = key.startswith(EXPLICIT_PREFIX)
        bare = key[len(EXPLICIT_PREFIX) :] if explicit else key
        if not KEY_RE.fullmatch(bare):
            return f"Not a valid key: {key[:100]!r}. Use a dotted path such as initiated_by.email."
        if explicit or self.known is None or key in self.known:
            return None
        return (
            f"The selected events do not carry {key!r}. Pick a key of those events, "
            f"or write an explicit path as $.{key}."
        )


def keys_clean(value: Any, where: str, keys: KeyCheck, errors: dict[str, str], *, minimum: int) -> list[str]:
    """A list of 1..MAX_KEYS distinct keys (`fields`, `by`), each checked; errors go in `errors`."""
    if not isinstance(value, list):
        errors[where] = "Must be a list of keys."
        return []
    if len(value) < minimum:
        errors[where] = f"Name at least {minimum} key{'s' if minimum > 1 else ''}."
    elif len(value) > MAX_KEYS:
        errors[where] = f"At most {MAX_KEYS} keys."
    for index, key in enumerate(value):
        problem = keys.check(key)
        if problem is None and value.index(key) != index:
            problem = "Listed twice."
        if problem is not None:
            errors[f"{where}[{index}]"] = problem
    return list(value)


def key_paths(keys: Sequence[str]) -> tuple[Path, ...]:
    """The paths to read for `fields` / `by` (parsed once per distinct list: the live path asks per event)."""
    return _key_paths(tuple(keys))


@functools.lru_cache(maxsize=4096)
def _key_paths(keys: tuple[str, ...]) -> tuple[Path, ...]:
    return tuple(path_parse(key[len(EXPLICIT_PREFIX) :] if key.startswith(EXPLICIT_PREFIX) else key) for key in keys)


def key_values(payload: dict[str, Any], paths: Sequence[Path]) -> list[Any] | None:
    """The first value at each path, or None when one is missing or null (such an event does not count)."""
    values = []
    for path in paths:
        found = values_at(payload, path)
        if not found or found[0] is None:
            return None
        values.append(found[0])
    return values


def values_hash(values: Sequence[Any]) -> str:
    """SHA-1 of the values' canonical JSON, strings case-folded as group keys are."""
    normal = [value.lower() if isinstance(value, str) else value for value in values]
    return hashlib.sha1(orjson.dumps(normal, option=orjson.OPT_SORT_KEYS)).hexdigest()


def values_words(values: Sequence[Any]) -> str:
    return ", ".join(value if isinstance(value, str) else orjson.dumps(value).decode() for value in values)


def when(at: datetime, *, date: bool = True) -> str:
    at = at.astimezone(UTC) if at.tzinfo is not None else at
    return at.strftime("%Y-%m-%d %H:%M:%S" if date else "%H:%M:%S")


def is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)

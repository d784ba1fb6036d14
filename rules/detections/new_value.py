"""`new_value`: a match counts only when its combination of values is new for the rule.

"New" means not seen in matching events of the previous `history_days` days, by event time:
an event counts when no earlier-learned event with the same values lies within those days
before it. An event already learned with a later timestamp (events arriving out of order)
makes the value known too, so a late event never fires for a value that already fired.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from rules.detections.base import (
    Decision,
    DetectionEvent,
    KeyCheck,
    detection_kinds,
    event_order,
    is_int,
    key_paths,
    key_values,
    keys_clean,
    values_hash,
    values_words,
    when,
)

DEFAULT_HISTORY_DAYS = 30
MAX_HISTORY_DAYS = 365


@dataclass(frozen=True, slots=True)
class ValueKey:
    hash: str
    values: list[Any]


def value_key(detection: dict[str, Any], payload: dict[str, Any]) -> ValueKey | None:
    """The event's combination of values, or None when it lacks one of the fields."""
    values = key_values(payload, key_paths(detection["fields"]))
    return None if values is None else ValueKey(values_hash(values), values)


def history_span(detection: dict[str, Any]) -> timedelta:
    return timedelta(days=int(detection.get("history_days", DEFAULT_HISTORY_DAYS)))


def is_new(last_seen: datetime | None, at: datetime, span: timedelta) -> bool:
    """The one rule of new values, shared by replay and the live path."""
    return last_seen is None or last_seen < at - span


def explanation(detection: dict[str, Any], key: ValueKey) -> str:
    return f"first time in {int(detection.get('history_days', DEFAULT_HISTORY_DAYS))} days: {values_words(key.values)}"


class NewValue:
    label = "New value"
    fields = frozenset({"type", "fields", "history_days"})

    def clean(
        self, detection: dict[str, Any], *, conditions: Sequence[dict[str, Any]], keys: KeyCheck
    ) -> tuple[dict[str, Any], dict[str, str]]:
        errors: dict[str, str] = {}
        fields = keys_clean(detection.get("fields"), "detection.fields", keys, errors, minimum=1)
        days = detection.get("history_days", DEFAULT_HISTORY_DAYS)
        if not is_int(days) or not 1 <= days <= MAX_HISTORY_DAYS:
            errors["detection.history_days"] = f"Must be a whole number of days from 1 to {MAX_HISTORY_DAYS}."
        return {"type": "new_value", "fields": fields, "history_days": days}, errors

    def replay(
        self,
        detection: dict[str, Any],
        events: Iterable[DetectionEvent],
        *,
        history: Iterable[DetectionEvent] = (),
        step_labels: Sequence[str] = (),
    ) -> list[Decision]:
        span = history_span(detection)
        seen: dict[str, datetime] = {}
        for event in sorted(history, key=event_order):
            key = value_key(detection, event.payload)
            if key is not None:
                seen[key.hash] = max(seen.get(key.hash, event.timestamp), event.timestamp)
        decisions: list[Decision] = []
        for event in sorted(events, key=event_order):
            key = value_key(detection, event.payload)
            if key is None:
                continue
            last = seen.get(key.hash)
            if is_new(last, event.timestamp, span):
                decisions.append(Decision(event.pk, (event.pk,), explanation(detection, key)))
            seen[key.hash] = event.timestamp if last is None else max(last, event.timestamp)
        return decisions

    def explain(
        self,
        detection: dict[str, Any],
        event: DetectionEvent,
        *,
        history: Iterable[DetectionEvent] = (),
        step_labels: Sequence[str] = (),
    ) -> tuple[bool, str]:
        key = value_key(detection, event.payload)
        if key is None:
            missing = [
                field
                for field, path in zip(detection["fields"], key_paths(detection["fields"]), strict=True)
                if key_values(event.payload, [path]) is None
            ]
            return False, f"does not count: the event lacks {', '.join(missing)}"
        span = history_span(detection)
        earlier = [
            past.timestamp
            for past in history
            if (past_key := value_key(detection, past.payload)) is not None and past_key.hash == key.hash
        ]
        last = max(earlier, default=None)
        if is_new(last, event.timestamp, span):
            return True, explanation(detection, key)
        assert last is not None
        return False, f"seen before at {when(last)}: {values_words(key.values)}"


detection_kinds.add("new_value", NewValue())

"""Detections beyond one event (api.md section 12): which of a rule's matches count.

A rule's `detection` is null (every matching event counts) or one of the kinds registered in
`detection_kinds`: `new_value` (rules.detections.new_value) and `sequence`
(rules.detections.sequence). This package is pure: checks, replay in event-time order and
explanations. The live path keeps their state in the database (rules.detections.live).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from rules.detections import new_value as _new_value  # noqa: F401  (registers the kind)
from rules.detections import sequence as _sequence  # noqa: F401  (registers the kind)
from rules.detections.base import Decision, DetectionEvent, DetectionKind, KeyCheck, detection_kinds

__all__ = [
    "Decision",
    "DetectionEvent",
    "DetectionKind",
    "detection_clean",
    "detection_explain",
    "detection_kinds",
    "detection_replay",
    "detection_validate",
]


def detection_clean(
    detection: Any,
    *,
    conditions: Sequence[dict[str, Any]],
    threshold: Any,
    selected_event_types: Mapping[str, Collection[str]] | None = None,
) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """The detection with its defaults filled in, and its problems by field path.

    `selected_event_types` maps each event type the conditions select to the keys it carries
    (the catalog's); `fields` and `by` must name one of them (or a key the rule's filters
    read, or an explicit `$.` path). None skips that check.
    """
    if detection is None:
        return None, {}
    if not isinstance(detection, dict):
        return None, {"detection": 'Must be null, {"type": "new_value", ...} or {"type": "sequence", ...}.'}
    kind_name = detection.get("type")
    if not isinstance(kind_name, str) or kind_name not in detection_kinds:
        return None, {"detection.type": f"Must be one of {', '.join(detection_kinds.keys())}."}
    kind = detection_kinds.get(kind_name)
    errors = {f"detection.{name}": "Unknown field." for name in sorted(set(detection) - kind.fields)}
    cleaned, kind_errors = kind.clean(detection, conditions=conditions, keys=KeyCheck(selected_event_types, conditions))
    errors.update(kind_errors)
    if threshold is not None:
        errors["detection"] = (
            "A detection cannot be combined with a threshold: the threshold counts every match, "
            f"while {kind_name} decides which matches count. Remove one of them."
        )
    return cleaned, errors


def detection_validate(
    detection: Any,
    *,
    conditions: Sequence[dict[str, Any]],
    threshold: Any,
    selected_event_types: Mapping[str, Collection[str]] | None = None,
) -> dict[str, str]:
    """Errors by field path ('detection.fields[1]', 'detection.within_minutes', ...): empty when valid."""
    return detection_clean(
        detection, conditions=conditions, threshold=threshold, selected_event_types=selected_event_types
    )[1]


def detection_replay(
    detection: dict[str, Any],
    events: Iterable[DetectionEvent],
    *,
    history: Iterable[DetectionEvent] = (),
    step_labels: Sequence[str] = (),
) -> list[Decision]:
    """Pure, in memory: feed `history` (primes state, never fires) then `events`, each in
    event-time order; the decisions the live path reaches too. `step_labels` names the rule's
    conditions by position for the explanations (default: the event type)."""
    return detection_kinds.get(detection["type"]).replay(detection, events, history=history, step_labels=step_labels)


def detection_explain(
    detection: dict[str, Any],
    event: DetectionEvent,
    *,
    history: Iterable[DetectionEvent] = (),
    step_labels: Sequence[str] = (),
) -> tuple[bool, str]:
    """Whether `event` counts after `history`, and why (or why not): 'first time in 30 days: ...',
    'seen before at 2026-12-01 10:00:00: ...', 'waiting for step 1 (...) within 10 minutes'."""
    return detection_kinds.get(detection["type"]).explain(detection, event, history=history, step_labels=step_labels)

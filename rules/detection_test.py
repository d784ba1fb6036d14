"""`POST /rules/{id}/test` with `"history"` (api.md section 12): would this event count, and why.

The history is a list of unsaved events (as sent to the ingestion API) that happened before
the tested one; each gets a negative pk by its index so explanations can point at it. Only
history events that match the rule's conditions and are not later than the tested event
take part, in timestamp order, the way the live path and previews see them.
"""

from __future__ import annotations

from typing import Any

from alertsite.errors import FieldErrors
from events.validation import parse_timestamp
from rules.conditions import Condition
from rules.detections import DetectionEvent, detection_explain, detection_kinds
from rules.engine import RuleEngine, RuleSpec

MAX_HISTORY_EVENTS = 1000
RULE_ID = 0


class HistoryError(FieldErrors):
    """Problems with the `event` or `history` of a test body: path -> message."""


def history_check(history: Any, *, required_timestamp: bool, event: dict[str, Any]) -> None:
    """Raise HistoryError naming each bad part of `history` (and the event's timestamp, when needed)."""
    errors: dict[str, str] = {}
    if not isinstance(history, list):
        raise HistoryError({"history": "Must be a list of events."})
    if len(history) > MAX_HISTORY_EVENTS:
        raise HistoryError({"history": f"At most {MAX_HISTORY_EVENTS} events."})
    for index, item in enumerate(history):
        if not isinstance(item, dict):
            errors[f"history[{index}]"] = "Must be an event (a JSON object)."
            continue
        parsed = parse_timestamp(item.get("timestamp"))
        if isinstance(parsed, str):
            errors[f"history[{index}].timestamp"] = f"Timestamp {parsed}."
    if required_timestamp:
        parsed = parse_timestamp(event.get("timestamp"))
        if isinstance(parsed, str):
            errors["event.timestamp"] = f"Timestamp {parsed}: a detection needs the event's time."
    if errors:
        raise HistoryError(errors)


def step_labels(conditions: tuple[Condition, ...]) -> list[str]:
    """Each condition as explanations name a step: its association action or its event type."""
    return [condition.action or condition.event_type for condition in conditions]


def detection_test(
    *,
    conditions: tuple[Condition, ...],
    detection: dict[str, Any],
    event: dict[str, Any],
    history: list[dict[str, Any]],
) -> dict[str, Any]:
    """`{"type", "counts", "explanation"}`: whether the event counts for the detection given the history.

    Call history_check first: timestamps are taken as valid here.
    """
    if detection.get("type") not in detection_kinds:  # a stored rule from a newer or older version
        return {
            "type": detection.get("type"),
            "counts": False,
            "explanation": "The rule's detection is of an unknown kind, so the rule is left out of evaluation.",
        }
    engine = RuleEngine([RuleSpec(id=RULE_ID, conditions=conditions, detection=detection)])

    def positions(payload: dict[str, Any]) -> frozenset[int]:
        return frozenset(position for rule_id, position in engine.matching_positions(payload) if rule_id == RULE_ID)

    def stamped(payload: dict[str, Any], pk: int, where: frozenset[int]) -> DetectionEvent:
        moment = parse_timestamp(payload.get("timestamp"))
        assert not isinstance(moment, str)
        return DetectionEvent(pk=pk, timestamp=moment, payload=payload, positions=where)

    tested_positions = positions(event)
    if not tested_positions:
        return {
            "type": detection.get("type"),
            "counts": False,
            "explanation": "The event matches none of the rule's conditions, so the detection does not see it.",
        }
    tested = stamped(event, -(len(history) + 1), tested_positions)
    prior = []
    for index, payload in enumerate(history):
        where = positions(payload)
        if where:
            earlier = stamped(payload, -(index + 1), where)
            if earlier.timestamp <= tested.timestamp:
                prior.append((earlier.timestamp, index, earlier))
    prior.sort(key=lambda item: (item[0], item[1]))
    counts, explanation = detection_explain(
        detection, tested, history=[item[2] for item in prior], step_labels=step_labels(conditions)
    )
    return {"type": detection.get("type"), "counts": counts, "explanation": explanation}

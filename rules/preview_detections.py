"""Detections in previews (api.md section 12): which of a rule's matching events would have counted.

A preview collects the matching events of a rule with a detection while it scans, then replays
them in timestamp order through `detection_replay`, primed with the stored events just before
the preview's window (the last `history_days` for new_value, `within_minutes` for a sequence),
so the first day of a preview does not count every value as new. Only the top-level parts of
each payload that the detection and the grouping read are kept in memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from rules.detections import Decision, DetectionEvent, detection_replay
from rules.detections.base import EXPLICIT_PREFIX
from rules.engine import RuleEngine
from rules.preview_scan import HistoryScan

# Always kept: explanations name an event by its type and time.
KEPT_ALWAYS = ("event_type", "timestamp", "id")


def detection_span(detection: dict[str, Any]) -> timedelta:
    """How far before a preview's window a detection's memory reaches."""
    if detection.get("type") == "new_value":
        return timedelta(days=int(detection.get("history_days") or 0))
    return timedelta(minutes=int(detection.get("within_minutes") or 0))


def _kept_keys(detection: dict[str, Any], group_by: Iterable[str]) -> frozenset[str]:
    keys = [str(key).removeprefix(EXPLICIT_PREFIX) for key in (*detection.get("fields", ()), *detection.get("by", ()))]
    return frozenset({*KEPT_ALWAYS, *(key.split(".", 1)[0] for key in (*keys, *group_by))})


def _slim(payload: Any, kept: frozenset[str]) -> dict[str, Any]:
    if not isinstance(payload, dict):
        return {}
    return {key: value for key, value in payload.items() if key in kept}


@dataclass
class DetectionFeed:
    """One rule's matching events in a preview, and the decisions its detection reaches on them."""

    rule_id: int
    detection: dict[str, Any]
    group_by: tuple[str, ...] = ()
    step_labels: tuple[str, ...] = ()
    events: list[DetectionEvent] = field(default_factory=list)
    history_scanned: int = 0
    history_truncated: bool = False

    def __post_init__(self) -> None:
        self.kept = _kept_keys(self.detection, self.group_by)

    def event(self, pk: int, timestamp: datetime, payload: Any, positions: Iterable[int]) -> DetectionEvent:
        return DetectionEvent(
            pk=pk, timestamp=timestamp, payload=_slim(payload, self.kept), positions=frozenset(positions)
        )

    def add(self, pk: int, timestamp: datetime, payload: Any, positions: Iterable[int]) -> None:
        self.events.append(self.event(pk, timestamp, payload, positions))

    def payload_of(self) -> dict[int, dict[str, Any]]:
        return {event.pk: event.payload for event in self.events}

    def decisions(self, engine: RuleEngine, *, types: list[str], since: datetime) -> list[Decision]:
        """Replay the collected events in timestamp order, primed with the stored history before `since`."""
        self.events.sort(key=lambda event: (event.timestamp, event.pk))
        span = detection_span(self.detection)
        scan = HistoryScan(types, since - span, since)
        decisions = detection_replay(
            self.detection, self.events, history=self._history(engine, scan), step_labels=self.step_labels
        )
        self.history_scanned, self.history_truncated = scan.scanned, scan.truncated
        return decisions

    def _history(self, engine: RuleEngine, scan: HistoryScan) -> Iterator[DetectionEvent]:
        for pk, timestamp, payload in scan.rows():
            positions = [
                position for rule_id, position in engine.matching_positions(payload) if rule_id == self.rule_id
            ]
            if positions:
                yield self.event(pk, timestamp, payload, positions)

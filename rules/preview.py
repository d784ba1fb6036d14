"""Backtesting: what an unsaved rule would have matched, and how many alerts it would have opened;
and for a change to a saved rule, which events and alerts the change would add and remove.

A rule with a detection (api.md section 12) counts only the matching events its detection
decides on (rules.preview_detections); a sequence's match is its last step's event.
Grouping and thresholds are replayed in event-time order with the contract's semantics
(no alert is resolved during a preview, since nobody acted on it yet):
- group window W > 0: a match joins the open alert of its group key while that alert's
  last event is within W minutes; otherwise it opens a new one. W = 0: every match opens one.
- threshold {count N, window W}: a group key fires when N of its matches fall within W
  minutes of each other; after that its matches join the alert it opened.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from events.models import AuditEvent
from rules.conditions import conditions_parse
from rules.detections import detection_kinds
from rules.engine import RuleEngine, RuleSpec, group_key_for
from rules.paths import path_parse
from rules.preview_detections import DetectionFeed
from rules.preview_scan import MAX_SCANNED, SCAN_CHUNK, WindowScan

__all__ = ["MAX_SCANNED", "SCAN_CHUNK", "alerts_replay", "alerts_replay_detail", "rule_change_preview", "rule_preview"]


@dataclass
class PreviewResult:
    scanned: int = 0
    matched: int = 0  # the events that count (with a detection: those it decided on)
    alerts: int = 0
    truncated: bool = False
    sample: list[AuditEvent] = field(default_factory=list)  # newest first; with a detection, each has `explanation`
    conditions_matched: int = 0  # the events the conditions match, before any detection
    history_scanned: int = 0  # stored events before `since` read to prime the detection


@dataclass
class ReplayedAlert:
    """An alert a replay would open: known by its group key and the event that opened it."""

    group_key: str
    opened_by: int  # the AuditEvent pk
    opened_at: datetime
    last_seen_at: datetime
    event_count: int

    @property
    def identity(self) -> tuple[str, int]:
        return (self.group_key, self.opened_by)


def alerts_replay(
    matches: Iterable[tuple[datetime, str]], *, group_window_minutes: int, threshold: dict[str, int] | None
) -> int:
    """Count the alerts a time-ordered stream of (event time, group key) matches would open."""
    replayed = alerts_replay_detail(
        ((at, key, 0) for at, key in matches), group_window_minutes=group_window_minutes, threshold=threshold
    )
    return len(replayed)


def alerts_replay_detail(
    matches: Iterable[tuple[datetime, str, int]], *, group_window_minutes: int, threshold: dict[str, int] | None
) -> list[ReplayedAlert]:
    """The alerts a stream of (event time, group key, event pk) matches would open, in the order opened."""
    alerts: list[ReplayedAlert] = []
    open_alerts: dict[str, ReplayedAlert] = {}  # the open alert of each group key
    recent: dict[str, deque[datetime]] = {}
    window = timedelta(minutes=group_window_minutes)
    for at, key, pk in sorted(matches, key=lambda item: item[0]):
        current = open_alerts.get(key)
        if threshold is not None:
            if current is not None:
                current.last_seen_at, current.event_count = at, current.event_count + 1
                continue
            times = recent.setdefault(key, deque())
            times.append(at)
            span = timedelta(minutes=threshold["window_minutes"])
            while times and at - times[0] > span:
                times.popleft()
            if len(times) >= threshold["count"]:
                opened = ReplayedAlert(key, pk, at, at, len(times))
                alerts.append(opened)
                open_alerts[key] = opened
                times.clear()
            continue
        if group_window_minutes > 0 and current is not None and at - current.last_seen_at <= window:
            current.last_seen_at, current.event_count = at, current.event_count + 1
            continue
        opened = ReplayedAlert(key, pk, at, at, 1)
        alerts.append(opened)
        open_alerts[key] = opened
    return alerts


@dataclass
class Counted:
    """One event that counts for a rule in a replay: when, its group key, and why (with a detection)."""

    pk: int
    at: datetime
    group_key: str
    explanation: str = ""


@dataclass
class _Side:
    """One rule replayed over the scan: its counted events, straight or through its detection."""

    rule_id: int
    values: dict[str, Any]
    spec: RuleSpec
    feed: DetectionFeed | None = None
    counted: list[Counted] = field(default_factory=list)
    conditions_matched: int = 0

    @classmethod
    def of(cls, rule_id: int, values: dict[str, Any]) -> _Side:
        detection = values.get("detection") or None
        conditions = tuple(conditions_parse(values["conditions"]))
        if detection is not None and detection.get("type") not in detection_kinds:
            detection, conditions = None, ()  # an unknown kind: the engine leaves such a rule out
        group_by = tuple(values.get("group_by") or ())
        spec = RuleSpec(id=rule_id, conditions=conditions, group_by=group_by, detection=detection)
        labels = tuple(condition.action or condition.event_type for condition in spec.conditions)
        feed = DetectionFeed(rule_id, detection, group_by, labels) if detection else None
        return cls(rule_id, values, spec, feed)

    def take(self, engine: RuleEngine, pk: int, at: datetime, payload: Any, positions: list[int]) -> None:
        self.conditions_matched += 1
        if self.feed is not None:
            self.feed.add(pk, at, payload, positions)
        else:
            self.counted.append(Counted(pk, at, engine.group_key(self.rule_id, payload)))

    def finish(self, engine: RuleEngine, *, types: list[str], since: datetime) -> None:
        """With a detection: replay its events in timestamp order; its decisions are what counts."""
        if self.feed is None:
            return
        decisions = self.feed.decisions(engine, types=types, since=since)
        payloads = self.feed.payload_of()
        moments = {event.pk: event.timestamp for event in self.feed.events}
        paths = tuple(path_parse(key) for key in self.spec.group_by)
        self.counted = [
            Counted(
                decision.event_pk,
                moments[decision.event_pk],
                group_key_for(paths, payloads[decision.event_pk]),
                decision.explanation,
            )
            for decision in decisions
        ]
        self.feed.events.clear()

    def alerts(self) -> list[ReplayedAlert]:
        if not self.values.get("generate_alerts", True):
            return []
        return alerts_replay_detail(
            ((item.at, item.group_key, item.pk) for item in self.counted),
            group_window_minutes=self.values.get("group_window_minutes") or 0,
            threshold=self.values.get("threshold"),
        )


def _replay(sides: list[_Side], since: datetime) -> WindowScan:
    """Scan the stored events since `since` once, for every side."""
    engine = RuleEngine(side.spec for side in sides)
    by_id = {side.rule_id: side for side in sides}
    types = sorted({condition.event_type for side in sides for condition in side.spec.conditions})
    scan = WindowScan(types, since, [condition for side in sides for condition in side.spec.conditions])
    for chunk in scan.chunks():
        for pk, at, payload in chunk:
            hits: dict[int, list[int]] = {}
            for rule_id, position in engine.matching_positions(payload):
                hits.setdefault(rule_id, []).append(position)
            for rule_id, positions in hits.items():
                by_id[rule_id].take(engine, pk, at, payload, positions)
    for side in sides:
        side.finish(engine, types=types, since=since)
    return scan


def _newest(counted: Iterable[Counted], size: int) -> list[Counted]:
    return sorted(counted, key=lambda item: (item.at, item.pk), reverse=True)[:size]


def _events_of(items: list[Counted]) -> list[AuditEvent]:
    """The stored events of some counted items, in their order, each with its `explanation`."""
    stored = AuditEvent.objects.in_bulk([item.pk for item in items])
    events = []
    for item in items:
        event = stored.get(item.pk)
        if event is not None:
            setattr(event, "explanation", item.explanation)  # noqa: B010 - shown beside the sample
            events.append(event)
    return events


def rule_preview(*, values: dict[str, Any], since: datetime, sample_size: int = 10) -> PreviewResult:
    """Run a validated rule body over stored events since `since` (newest MAX_SCANNED at most)."""
    side = _Side.of(0, values)
    scan = _replay([side], since)
    result = PreviewResult(
        scanned=scan.scanned,
        truncated=scan.truncated,
        matched=len(side.counted),
        conditions_matched=side.conditions_matched,
        history_scanned=side.feed.history_scanned if side.feed is not None else 0,
    )
    result.alerts = len(
        alerts_replay_detail(
            ((item.at, item.group_key, item.pk) for item in side.counted),
            group_window_minutes=values.get("group_window_minutes") or 0,
            threshold=values.get("threshold"),
        )
    )
    result.sample = _events_of(_newest(side.counted, sample_size))
    return result


# -- preview of a change ---------------------------------------------------------------------------

BEFORE, AFTER = 0, 1


@dataclass
class ChangeSide:
    """Events or alerts: how many before and after the change, which it adds and removes (with samples)."""

    before: int = 0
    after: int = 0
    added: int = 0
    removed: int = 0
    added_sample: list[Any] = field(default_factory=list)
    removed_sample: list[Any] = field(default_factory=list)


@dataclass
class AlertSample:
    alert: ReplayedAlert
    event: AuditEvent | None


@dataclass
class ChangePreviewResult:
    scanned: int = 0
    truncated: bool = False
    events: ChangeSide = field(default_factory=ChangeSide)
    alerts: ChangeSide = field(default_factory=ChangeSide)


def rule_change_preview(
    *, before: dict[str, Any], after: dict[str, Any], since: datetime, sample_size: int = 10
) -> ChangePreviewResult:
    """Replay a rule as it is (`before`) and as changed (`after`) over the same stored events.

    Both are validated rule bodies, replayed as if enabled; a side with Generate Alerts off opens
    no alerts. An event is on a side when it counts there (with a detection: when the detection
    decided on it). An alert is the same on both sides when it has the same group key and was
    opened by the same event; otherwise the change adds or removes it.
    """
    sides = [_Side.of(BEFORE, before), _Side.of(AFTER, after)]
    scan = _replay(sides, since)
    result = ChangePreviewResult(scanned=scan.scanned, truncated=scan.truncated)

    counted = [{item.pk: item for item in side.counted} for side in sides]
    added_events = [item for pk, item in counted[AFTER].items() if pk not in counted[BEFORE]]
    removed_events = [item for pk, item in counted[BEFORE].items() if pk not in counted[AFTER]]
    result.events = ChangeSide(
        before=len(counted[BEFORE]),
        after=len(counted[AFTER]),
        added=len(added_events),
        removed=len(removed_events),
        added_sample=_events_of(_newest(added_events, sample_size)),
        removed_sample=_events_of(_newest(removed_events, sample_size)),
    )

    replayed = [side.alerts() for side in sides]
    known = [{alert.identity for alert in alerts} for alerts in replayed]
    added = [alert for alert in replayed[AFTER] if alert.identity not in known[BEFORE]]
    removed = [alert for alert in replayed[BEFORE] if alert.identity not in known[AFTER]]
    # Newest first, like the event samples.
    added_shown = sorted(added, key=lambda alert: alert.opened_at, reverse=True)[:sample_size]
    removed_shown = sorted(removed, key=lambda alert: alert.opened_at, reverse=True)[:sample_size]
    opened_by = AuditEvent.objects.in_bulk([alert.opened_by for alert in (*added_shown, *removed_shown)])
    result.alerts = ChangeSide(
        before=len(replayed[BEFORE]),
        after=len(replayed[AFTER]),
        added=len(added),
        removed=len(removed),
        added_sample=[AlertSample(alert, opened_by.get(alert.opened_by)) for alert in added_shown],
        removed_sample=[AlertSample(alert, opened_by.get(alert.opened_by)) for alert in removed_shown],
    )
    return result

"""Backtesting: what an unsaved rule would have matched, and how many alerts it would have opened;
and for a change to a saved rule, which events and alerts the change would add and remove.

Grouping and thresholds are replayed in event-time order with the contract's semantics
(no alert is resolved during a preview, since nobody acted on it yet):
- group window W > 0: a match joins the open alert of its group key while that alert's
  last event is within W minutes; otherwise it opens a new one. W = 0: every match opens one.
- threshold {count N, window W}: a group key fires when N of its matches fall within W
  minutes of each other; after that its matches join the alert it opened.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
from django.db.models import Q, TextField
from django.db.models.functions import Cast

from events.models import AuditEvent
from rules.conditions import Condition, conditions_parse
from rules.engine import RuleEngine, RuleSpec
from rules.prefilter import conditions_prefilter

MAX_SCANNED = 200_000
TEXT = "payload_text"  # the payload as JSON text, for orjson
SCAN_CHUNK = 2000


@dataclass
class PreviewResult:
    scanned: int = 0
    matched: int = 0
    alerts: int = 0
    truncated: bool = False
    sample: list[AuditEvent] = field(default_factory=list)


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
class _Scan:
    """The stored events some conditions could match since a date (the newest MAX_SCANNED of their
    types at most), in chunks of (pk, time, payload).

    `scanned` counts the events of the conditions' types since the date (one index-only count);
    only those that rules.prefilter cannot rule out are read: one streamed query (a server-side
    cursor on PostgreSQL), no ORDER BY (sorting a week of wide rows spilled to disk), only the pk,
    the time and the payload as text, decoded by orjson rather than the JSON field's json.loads.
    Callers order what they keep themselves (`newest`).
    """

    conditions: list[Condition]
    since: datetime
    scanned: int = 0
    truncated: bool = False

    def chunks(self) -> Iterator[list[tuple[int, datetime, dict[str, Any]]]]:
        types = sorted({condition.event_type for condition in self.conditions})
        events = AuditEvent.objects.filter(event_type__in=types, timestamp__gte=self.since)
        self.scanned = events.order_by()[: MAX_SCANNED + 1].count()
        if self.scanned > MAX_SCANNED:
            self.scanned, self.truncated = MAX_SCANNED, True
            at, pk = events.order_by("-timestamp", "-id").values_list("timestamp", "id")[MAX_SCANNED - 1]
            events = events.filter(Q(timestamp__gt=at) | Q(timestamp=at, id__gte=pk))
        rows = (
            events.annotate(**{TEXT: Cast("payload", output_field=TextField())})
            .filter(conditions_prefilter(self.conditions))
            .order_by()
            .values_list("pk", "timestamp", TEXT)
        )
        chunk: list[tuple[int, datetime, dict[str, Any]]] = []
        loads = orjson.loads
        for pk, at, text in rows.iterator(chunk_size=SCAN_CHUNK):
            chunk.append((pk, at, loads(text)))
            if len(chunk) == SCAN_CHUNK:
                yield chunk
                chunk = []
        if chunk:
            yield chunk


def newest(found: list[tuple[datetime, int]], count: int) -> list[int]:
    """The pks of the `count` newest of these (time, pk), newest first (ties: the higher pk)."""
    return [pk for _, pk in heapq.nlargest(count, found)]


def in_time_order(matches: list[tuple[datetime, str, int]]) -> list[tuple[datetime, str, int]]:
    """Oldest first; events of the same time in descending pk order (as a newest-first scan gave them)."""
    return sorted(matches, key=lambda match: (match[0], -match[2]))


def _events_by_pk(pks: list[int]) -> list[AuditEvent]:
    """The sample events, in the order given (one query)."""
    found = AuditEvent.objects.in_bulk(pks)
    return [found[pk] for pk in pks if pk in found]


def rule_preview(*, values: dict[str, Any], since: datetime, sample_size: int = 10) -> PreviewResult:
    """Run a validated rule body over stored events since `since` (newest MAX_SCANNED at most)."""
    conditions = tuple(conditions_parse(values["conditions"]))
    engine = RuleEngine([RuleSpec(id=0, conditions=conditions, group_by=tuple(values.get("group_by") or ()))])
    scan = _Scan(list(conditions), since)
    result = PreviewResult()
    matches: list[tuple[datetime, str, int]] = []
    for chunk in scan.chunks():
        for position, _ in engine.match_batch([payload for _, _, payload in chunk]):
            pk, at, payload = chunk[position]
            matches.append((at, engine.group_key(0, payload), pk))
    result.matched = len(matches)
    result.scanned, result.truncated = scan.scanned, scan.truncated
    result.sample = _events_by_pk(newest([(at, pk) for at, _, pk in matches], sample_size))
    result.alerts = alerts_replay(
        ((at, key) for at, key, _ in in_time_order(matches)),
        group_window_minutes=values.get("group_window_minutes") or 0,
        threshold=values.get("threshold"),
    )
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
    no alerts. An alert is the same on both sides when it has the same group key and was opened
    by the same event; otherwise the change adds or removes it.
    """
    sides = {BEFORE: before, AFTER: after}
    specs = []
    for side, values in sides.items():
        specs.append(
            RuleSpec(
                id=side,
                conditions=tuple(conditions_parse(values["conditions"])),
                group_by=tuple(values.get("group_by") or ()),
            )
        )
    engine = RuleEngine(specs)
    scan = _Scan([condition for spec in specs for condition in spec.conditions], since)
    result = ChangePreviewResult()
    events = result.events
    matches: dict[int, list[tuple[datetime, str, int]]] = {BEFORE: [], AFTER: []}
    added_events: list[tuple[datetime, int]] = []
    removed_events: list[tuple[datetime, int]] = []
    for chunk in scan.chunks():
        hits: dict[int, int] = {}  # position -> bit 1 (before) | bit 2 (after)
        for position, side in engine.match_batch([payload for _, _, payload in chunk]):
            pk, at, payload = chunk[position]
            matches[side].append((at, engine.group_key(side, payload), pk))
            hits[position] = hits.get(position, 0) | (1 << side)
        for position, mask in hits.items():
            if mask == 1 << AFTER:
                added_events.append((chunk[position][1], chunk[position][0]))
            elif mask == 1 << BEFORE:
                removed_events.append((chunk[position][1], chunk[position][0]))
    result.scanned, result.truncated = scan.scanned, scan.truncated
    events.before, events.after = len(matches[BEFORE]), len(matches[AFTER])
    events.added, events.removed = len(added_events), len(removed_events)
    events_added, events_removed = newest(added_events, sample_size), newest(removed_events, sample_size)
    shown = AuditEvent.objects.in_bulk([*events_added, *events_removed])
    events.added_sample = [shown[pk] for pk in events_added if pk in shown]
    events.removed_sample = [shown[pk] for pk in events_removed if pk in shown]

    replayed = {
        side: alerts_replay_detail(
            in_time_order(matches[side]),
            group_window_minutes=values.get("group_window_minutes") or 0,
            threshold=values.get("threshold"),
        )
        if values.get("generate_alerts", True)
        else []
        for side, values in sides.items()
    }
    known = {side: {alert.identity for alert in alerts} for side, alerts in replayed.items()}
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

"""Backtesting: what an unsaved rule would have matched, and how many alerts it would have opened.

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
from rules.engine import RuleEngine, RuleSpec

MAX_SCANNED = 200_000
SCAN_CHUNK = 2000


@dataclass
class PreviewResult:
    scanned: int = 0
    matched: int = 0
    alerts: int = 0
    truncated: bool = False
    sample: list[AuditEvent] = field(default_factory=list)


def alerts_replay(
    matches: Iterable[tuple[datetime, str]], *, group_window_minutes: int, threshold: dict[str, int] | None
) -> int:
    """Count the alerts a time-ordered stream of (event time, group key) matches would open."""
    alerts = 0
    last_seen: dict[str, datetime] = {}  # open alert per group key -> its last event time
    recent: dict[str, deque[datetime]] = {}
    window = timedelta(minutes=group_window_minutes)
    for at, key in sorted(matches, key=lambda item: item[0]):
        if threshold is not None:
            if key in last_seen:
                last_seen[key] = at
                continue
            times = recent.setdefault(key, deque())
            times.append(at)
            span = timedelta(minutes=threshold["window_minutes"])
            while times and at - times[0] > span:
                times.popleft()
            if len(times) >= threshold["count"]:
                alerts += 1
                last_seen[key] = at
                times.clear()
            continue
        if group_window_minutes > 0 and key in last_seen and at - last_seen[key] <= window:
            last_seen[key] = at
            continue
        alerts += 1
        last_seen[key] = at
    return alerts


def rule_preview(*, values: dict[str, Any], since: datetime, sample_size: int = 10) -> PreviewResult:
    """Run a validated rule body over stored events since `since` (newest MAX_SCANNED at most)."""
    conditions = tuple(conditions_parse(values["conditions"]))
    engine = RuleEngine([RuleSpec(id=0, conditions=conditions, group_by=tuple(values.get("group_by") or ()))])
    types = sorted({condition.event_type for condition in conditions})
    result = PreviewResult()
    matches: list[tuple[datetime, str]] = []
    queryset = AuditEvent.objects.filter(event_type__in=types, timestamp__gte=since).order_by("-timestamp", "-id")
    last: tuple[datetime, int] | None = None
    while result.scanned < MAX_SCANNED:
        page = queryset
        if last is not None:
            page = page.filter(timestamp__lte=last[0]).exclude(timestamp=last[0], id__gte=last[1])
        chunk = list(page[:SCAN_CHUNK])
        if not chunk:
            break
        last = (chunk[-1].timestamp, chunk[-1].pk)
        result.scanned += len(chunk)
        for event in chunk:
            if engine.matching_rules(event.payload):
                result.matched += 1
                matches.append((event.timestamp, engine.group_key(0, event.payload)))
                if len(result.sample) < sample_size:
                    result.sample.append(event)
    else:
        result.truncated = queryset.count() > MAX_SCANNED
    result.alerts = alerts_replay(
        matches, group_window_minutes=values.get("group_window_minutes") or 0, threshold=values.get("threshold")
    )
    return result

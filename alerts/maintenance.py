"""When maintenance windows are open, and whom they cover: pure calculation, no database.

A window is a first occurrence (`starts_at` to `ends_at`) in an IANA time zone, repeated by an
optional RFC 5545 RRULE (python-dateutil). Occurrences are computed in the window's zone on the
wall clock: a window from Saturday 22:00 to Sunday 02:00 Berlin time opens at 22:00 local on
every Saturday, on both sides of a daylight-saving change, and closes at 02:00 local (its length
is the wall-clock length of the first occurrence). The rrule objects are compiled once per
process per window version (`WindowSpec` is hashable) and keep the occurrences generated so
far, searched by bisection, so the hot path (`WindowCalendar`, one per batch) costs a few
in-memory comparisons per match.
"""

from __future__ import annotations

import math
import threading
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from dateutil.rrule import DAILY, HOURLY, WEEKLY, rrule, rrulestr

MUTE_NOTIFICATIONS = "notifications"
MUTE_ALERTS = "alerts"
MUTES = (MUTE_NOTIFICATIONS, MUTE_ALERTS)
RRULE_PREFIX = "RRULE:"
MAX_RECURRENCE_LENGTH = 500


class MaintenanceInputError(ValueError):
    """A window field that cannot be used; `field` names it (the API answers 400)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class WindowSpec:
    """A window as the calculation needs it; hashable, so its compiled recurrence is cached."""

    id: int
    name: str
    starts_at: datetime
    ends_at: datetime
    timezone: str = "UTC"
    recurrence: str = ""
    rule_ids: tuple[int, ...] = ()
    priorities: tuple[str, ...] = ()
    event_types: tuple[str, ...] = ()
    mute: str = MUTE_NOTIFICATIONS

    def in_scope(self, *, rule_id: int | None, priority: str, event_type: str) -> bool:
        """Every non-empty scope list must name the value (an empty list means all)."""
        return (
            (not self.rule_ids or rule_id in self.rule_ids)
            and (not self.priorities or priority in self.priorities)
            and (not self.event_types or event_type in self.event_types)
        )


def zone_parse(name: str) -> ZoneInfo:
    """The IANA zone, or MaintenanceInputError on `timezone`."""
    if not isinstance(name, str) or not name.strip():
        raise MaintenanceInputError("timezone", "Required: an IANA time zone such as Europe/Berlin.")
    name = name.strip()
    if name not in zone_names() and name != "UTC":
        raise MaintenanceInputError("timezone", f"Unknown time zone {name!r}: use an IANA name such as Europe/Berlin.")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:  # pragma: no cover - listed but unreadable
        raise MaintenanceInputError("timezone", f"Unknown time zone {name!r}.") from exc


@lru_cache(maxsize=1)
def zone_names() -> frozenset[str]:
    """Every IANA zone name this system knows (read once)."""
    return frozenset(available_timezones())


def recurrence_normalize(text: str | None) -> str:
    """`RRULE:FREQ=...` (upper case, prefix added) or "" for a one-off; syntax is checked by recurrence_parse."""
    if text is None:
        return ""
    if not isinstance(text, str):
        raise MaintenanceInputError("recurrence", 'Must be an RRULE such as "RRULE:FREQ=WEEKLY;BYDAY=SA,SU", or null.')
    text = text.strip()
    if not text:
        return ""
    if len(text) > MAX_RECURRENCE_LENGTH:
        raise MaintenanceInputError("recurrence", f"At most {MAX_RECURRENCE_LENGTH} characters.")
    if "\n" in text or "\r" in text:
        raise MaintenanceInputError("recurrence", "One RRULE line only (DTSTART is the window's starts_at).")
    upper = text.upper()
    body = upper.removeprefix(RRULE_PREFIX)
    if ":" in body:
        raise MaintenanceInputError("recurrence", "Only an RRULE is accepted (no DTSTART, RDATE or EXDATE).")
    return RRULE_PREFIX + body


def recurrence_parse(text: str, dtstart: datetime) -> rrule:
    """The dateutil rule starting at `dtstart` (aware, in the window's zone), or MaintenanceInputError.

    Rules repeating more often than hourly are refused: a window is for maintenance, and every
    occurrence is work on the hot path.
    """
    try:
        parsed = rrulestr(text, dtstart=dtstart)
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        message = str(exc) or type(exc).__name__
        if isinstance(exc, TypeError) and "freq" in message:
            message = "FREQ is required (e.g. FREQ=WEEKLY)."
        raise MaintenanceInputError("recurrence", f"Invalid RRULE: {message}") from exc
    if not isinstance(parsed, rrule):  # pragma: no cover - one RRULE line always gives an rrule
        raise MaintenanceInputError("recurrence", "Invalid RRULE: one rule only.")
    if parsed._freq > HOURLY:  # MINUTELY and SECONDLY have higher numbers in dateutil
        raise MaintenanceInputError("recurrence", "Invalid RRULE: FREQ must be HOURLY or longer.")
    return parsed


# Repeating by hours, days or weeks without COUNT, a rule gives the same occurrences when its
# start moves on by whole periods: those are generated in segments of about SEGMENT_SPAN from
# the nearest period boundary, so a window repeating hourly for a year is not walked from its
# first occurrence. Other rules (COUNT, monthly, yearly) have few occurrences and are generated
# once, from their start, as far as asked.
SEGMENT_SPAN = timedelta(days=35)
SEGMENTS_KEPT = 64
SEGMENT_OCCURRENCES = 168  # an hourly rule: segments of a week
_PERIODS = {HOURLY: timedelta(hours=1), DAILY: timedelta(days=1), WEEKLY: timedelta(weeks=1)}


class _Compiled:
    """A window ready to answer: its zone, wall-clock length and its occurrence starts (UTC, in
    order), generated on demand and searched by bisection."""

    def __init__(self, spec: WindowSpec, rule: rrule | None, zone: ZoneInfo, wall_length: timedelta) -> None:
        self.spec, self.rule, self.zone, self.wall_length = spec, rule, zone, wall_length
        self._lock = threading.Lock()
        self._segment_steps = 0
        self._step = timedelta(0)
        if rule is not None and rule._count is None and rule._freq in _PERIODS:
            self._step = _PERIODS[rule._freq] * rule._interval
            self._segment_steps = max(1, min(SEGMENT_SPAN // self._step, SEGMENT_OCCURRENCES))
        self._segments: OrderedDict[int, tuple[list[datetime], list[datetime]]] = OrderedDict()
        # The unsegmented way: everything from the first occurrence on, as far as asked.
        self._starts: list[datetime] = []  # UTC
        self._local: list[datetime] = []  # the same starts on the zone's wall clock
        self._source: Iterator[datetime] | None = iter(rule) if rule is not None and not self._segment_steps else None

    def occurrence_end(self, start: datetime) -> datetime:
        """Where an occurrence starting at `start` (aware, local) ends, in UTC."""
        naive = start.replace(tzinfo=None) + self.wall_length
        return naive.replace(tzinfo=self.zone).astimezone(UTC)

    def between(self, start: datetime, end: datetime) -> list[datetime]:
        """Local starts with start <= begin <= end (both UTC)."""
        if self._segment_steps:
            found: list[datetime] = []
            slack = timedelta(days=1)  # either side of a DST change, the neighbouring segment may hold a start
            for index in range(self._segment_of(start - slack), self._segment_of(end + slack) + 1):
                starts, local = self._segment(index)
                found.extend(local[bisect_left(starts, start) : bisect_right(starts, end)])
            return found
        self._generate_until(end)
        return self._local[bisect_left(self._starts, start) : bisect_right(self._starts, end)]

    def after(self, moment: datetime) -> datetime | None:
        """The first start after `moment`, UTC."""
        if self._segment_steps:
            index = self._segment_of(moment - timedelta(days=1))
            until = self.rule._until if self.rule is not None else None
            for offset in range(400):  # at most ~38 years ahead
                starts, _ = self._segment(index + offset)
                position = bisect_right(starts, moment)
                if position < len(starts):
                    return starts[position]
                if until is not None and self._anchor(index + offset) > until:
                    return None
            return None
        self._generate_until(moment)
        position = bisect_right(self._starts, moment)
        return self._starts[position] if position < len(self._starts) else None

    # -- segments
    def _anchor(self, index: int) -> datetime:
        """The start of segment `index`, aware in the window's zone (wall clock)."""
        assert self.rule is not None
        first = self.rule._dtstart
        naive = first.replace(tzinfo=None) + self._step * self._segment_steps * index
        return naive.replace(tzinfo=self.zone)

    def _segment_of(self, moment: datetime) -> int:
        assert self.rule is not None
        first = self.rule._dtstart.replace(tzinfo=None)
        local = moment.astimezone(self.zone).replace(tzinfo=None)
        return max(0, (local - first) // (self._step * self._segment_steps))

    def _segment(self, index: int) -> tuple[list[datetime], list[datetime]]:
        with self._lock:
            kept = self._segments.get(index)
            if kept is not None:
                self._segments.move_to_end(index)
                return kept
            assert self.rule is not None
            anchor = self._anchor(index)
            stop = anchor.replace(tzinfo=None) + self._step * self._segment_steps
            local: list[datetime] = []
            for begin in self.rule.replace(dtstart=anchor) if index else self.rule:
                if begin.replace(tzinfo=None) >= stop:
                    break
                local.append(begin)
            made = ([begin.astimezone(UTC) for begin in local], local)
            self._segments[index] = made
            while len(self._segments) > SEGMENTS_KEPT:
                self._segments.popitem(last=False)
            return made

    def _generate_until(self, moment: datetime) -> None:
        """Generate starts until one lies after `moment` (or none is left)."""
        with self._lock:
            while self._source is not None and (not self._starts or self._starts[-1] <= moment):
                local = next(self._source, None)
                if local is None:
                    self._source = None
                    break
                self._local.append(local)
                self._starts.append(local.astimezone(UTC))


@lru_cache(maxsize=4096)
def compiled(spec: WindowSpec) -> _Compiled:
    """The window, checked and ready (MaintenanceInputError when it cannot be used); cached per version."""
    try:
        zone = ZoneInfo(spec.timezone)  # checked against the zone list when saved; this is the hot path
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise MaintenanceInputError("timezone", f"Unknown time zone {spec.timezone!r}.") from exc
    local_start, local_end = spec.starts_at.astimezone(zone), spec.ends_at.astimezone(zone)
    wall = local_end.replace(tzinfo=None) - local_start.replace(tzinfo=None)
    if wall <= timedelta(0):  # a short window across a fall-back hour: keep its real length
        wall = spec.ends_at - spec.starts_at
    rule = recurrence_parse(spec.recurrence, local_start) if spec.recurrence else None
    return _Compiled(spec=spec, rule=rule, zone=zone, wall_length=wall)


def occurrences(spec: WindowSpec, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """The (start, end) of every occurrence overlapping [start, end), in UTC, in order."""
    window = compiled(spec)
    if window.rule is None:
        if spec.starts_at < end and spec.ends_at > start:
            return [(spec.starts_at.astimezone(UTC), spec.ends_at.astimezone(UTC))]
        return []
    # An occurrence that started up to its length before `start` may still be open.
    reach = max(window.wall_length, spec.ends_at - spec.starts_at) + timedelta(hours=3)
    found = []
    for begin in window.between(start - reach, end):
        closes = window.occurrence_end(begin)
        opened = begin.astimezone(UTC)
        if opened < end and closes > start:
            found.append((opened, closes))
    return found


# Patterns whose occurrences repeat exactly every week of wall-clock time, so moving the first one
# back by whole weeks keeps every later one where it is.
WEEK_ALIGNED_FREQUENCIES = ("FREQ=HOURLY", "FREQ=DAILY", "FREQ=WEEKLY")


def pattern_before(spec: WindowSpec, since: datetime) -> WindowSpec:
    """The same window with its first occurrence moved back by whole weeks (wall clock, in its
    time zone) to at or before `since`, when it repeats hourly, daily or weekly and starts later.

    For a preview: "weekends from next Saturday" has no occurrence in the last 7 days, but what
    a user asks before saving it is what that pattern would have muted there.
    """
    text = spec.recurrence.upper()
    if not text or spec.starts_at <= since or not any(freq in text for freq in WEEK_ALIGNED_FREQUENCIES):
        return spec
    if "COUNT=" in text:
        return spec  # a counted series would end earlier once moved
    zone = ZoneInfo(spec.timezone)
    weeks = math.ceil((spec.starts_at - since) / timedelta(weeks=1))
    shift = timedelta(weeks=weeks)

    def back(moment: datetime) -> datetime:
        local = moment.astimezone(zone).replace(tzinfo=None) - shift
        return local.replace(tzinfo=zone)

    return replace(spec, starts_at=back(spec.starts_at), ends_at=back(spec.ends_at))


def covers(spec: WindowSpec, at: datetime) -> bool:
    """Whether an occurrence of the window is open at `at` (start included, end excluded)."""
    return any(begin <= at < end for begin, end in occurrences(spec, at, at + timedelta(microseconds=1)))


def next_start(spec: WindowSpec, now: datetime) -> datetime | None:
    """The start of the next occurrence after `now` (UTC), or None when none is left."""
    window = compiled(spec)
    if window.rule is None:
        return spec.starts_at.astimezone(UTC) if spec.starts_at > now else None
    return window.after(now)


def current_end(spec: WindowSpec, now: datetime) -> datetime | None:
    """When the occurrence open at `now` closes, or None when none is open."""
    ends = [end for begin, end in occurrences(spec, now, now + timedelta(microseconds=1)) if begin <= now < end]
    return max(ends) if ends else None


def windows_active(windows: Iterable[WindowSpec], at: datetime) -> list[WindowSpec]:
    """The windows open at `at`."""
    return [spec for spec in windows if covers(spec, at)]


@dataclass
class WindowCalendar:
    """The windows' occurrences over one batch's time range, to decide each match in memory.

    `suppressing` answers the window that mutes a match (mute=alerts before mute=notifications,
    then the lowest id), or None. Build with `calendar_for`.
    """

    intervals: list[tuple[WindowSpec, list[tuple[datetime, datetime]]]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.intervals)

    def suppressing(self, *, rule_id: int | None, priority: str, event_type: str, at: datetime) -> WindowSpec | None:
        for spec, spans in self.intervals:
            if spec.in_scope(rule_id=rule_id, priority=priority, event_type=event_type) and any(
                begin <= at < end for begin, end in spans
            ):
                return spec
        return None


def calendar_for(windows: Sequence[WindowSpec], start: datetime, end: datetime) -> WindowCalendar:
    """The occurrences of `windows` overlapping [start, end] (end included), strongest mute first."""
    ordered = sorted(windows, key=lambda spec: (spec.mute != MUTE_ALERTS, spec.id))
    stop = end + timedelta(microseconds=1)
    calendar = WindowCalendar()
    for spec in ordered:
        spans = occurrences(spec, start, stop)
        if spans:
            calendar.intervals.append((spec, spans))
    return calendar

"""Reading stored events for previews: keyset pages of (pk, timestamp, payload), nothing else.

Two walks: the preview's own window, newest first (so a truncated scan keeps the newest
events), and the history before it that primes a detection's state, oldest first (the
order a replay needs) but starting late enough that only its newest MAX_HISTORY events are read.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet

from events.models import AuditEvent

MAX_SCANNED = 200_000
MAX_HISTORY = 200_000
SCAN_CHUNK = 2000

Row = tuple[int, datetime, dict]


def _rows(queryset: QuerySet[AuditEvent]) -> QuerySet:
    return queryset.values_list("id", "timestamp", "payload")


@dataclass
class WindowScan:
    """Stored events of some types since a date, newest first, in chunks (MAX_SCANNED at most)."""

    types: list[str]
    since: datetime
    scanned: int = 0
    truncated: bool = False

    def chunks(self) -> Iterator[list[Row]]:
        queryset = AuditEvent.objects.filter(event_type__in=self.types, timestamp__gte=self.since).order_by(
            "-timestamp", "-id"
        )
        last: Row | None = None
        while self.scanned < MAX_SCANNED:
            page = queryset
            if last is not None:
                page = page.filter(timestamp__lte=last[1]).exclude(timestamp=last[1], id__gte=last[0])
            chunk: list[Row] = list(_rows(page)[: min(SCAN_CHUNK, MAX_SCANNED - self.scanned)])
            if not chunk:
                return
            last = chunk[-1]
            self.scanned += len(chunk)
            yield chunk
        self.truncated = queryset.count() > MAX_SCANNED


@dataclass
class HistoryScan:
    """Stored events of some types in [start, end), oldest first: what a detection remembers.

    When more than MAX_HISTORY events fall in the span, the walk starts at the newest
    MAX_HISTORY of them (`truncated`), which matter most to what comes next.
    """

    types: list[str]
    start: datetime
    end: datetime
    scanned: int = 0
    truncated: bool = False

    def rows(self) -> Iterator[Row]:
        span = AuditEvent.objects.filter(event_type__in=self.types, timestamp__gte=self.start, timestamp__lt=self.end)
        cutoff = list(span.order_by("-timestamp", "-id").values_list("timestamp", "id")[MAX_HISTORY - 1 : MAX_HISTORY])
        queryset = span.order_by("timestamp", "id")
        if cutoff:
            self.truncated = True
            at, pk = cutoff[0]
            queryset = queryset.filter(timestamp__gte=at).exclude(timestamp=at, id__lt=pk)
        last: Row | None = None
        while True:
            page = queryset
            if last is not None:
                page = page.filter(timestamp__gte=last[1]).exclude(timestamp=last[1], id__lte=last[0])
            chunk: list[Row] = list(_rows(page)[:SCAN_CHUNK])
            if not chunk:
                return
            last = chunk[-1]
            self.scanned += len(chunk)
            yield from chunk

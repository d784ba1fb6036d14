"""Reading stored events for previews: keyset pages of (pk, timestamp, payload), nothing else.

Two walks: the preview's own window (a truncated scan keeps the newest events), and the history before it that primes a detection's state, oldest first (the
order a replay needs) but starting late enough that only its newest MAX_HISTORY events are read.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

import orjson
from django.db.models import Q, QuerySet, TextField
from django.db.models.functions import Cast

from events.models import AuditEvent
from rules.conditions import Condition
from rules.prefilter import conditions_prefilter

MAX_SCANNED = 200_000
MAX_HISTORY = 200_000
SCAN_CHUNK = 2000
TEXT = "payload_text"  # the payload as JSON text, for orjson

Row = tuple[int, datetime, dict]


def _rows(queryset: QuerySet[AuditEvent]) -> QuerySet:
    return queryset.values_list("id", "timestamp", "payload")


@dataclass
class WindowScan:
    """Stored events of some types since a date (the newest MAX_SCANNED at most), in chunks.

    `scanned` counts the events of those types since the date (one index-only count); only those
    that rules.prefilter cannot rule out for `conditions` are read: one streamed query (a
    server-side cursor on PostgreSQL), no ORDER BY (sorting a week of wide rows spilled to disk),
    only the pk, the time and the payload as text, decoded by orjson rather than the JSON field's
    json.loads. Chunks come in no particular order: callers order what they keep.
    """

    types: list[str]
    since: datetime
    conditions: list[Condition] = field(default_factory=list)
    scanned: int = 0
    truncated: bool = False

    def chunks(self) -> Iterator[list[Row]]:
        events = AuditEvent.objects.filter(event_type__in=self.types, timestamp__gte=self.since)
        self.scanned = events.order_by()[: MAX_SCANNED + 1].count()
        if self.scanned > MAX_SCANNED:
            self.scanned, self.truncated = MAX_SCANNED, True
            at, pk = events.order_by("-timestamp", "-id").values_list("timestamp", "id")[MAX_SCANNED - 1]
            events = events.filter(Q(timestamp__gt=at) | Q(timestamp=at, id__gte=pk))
        if self.conditions:
            events = events.filter(conditions_prefilter(self.conditions))
        rows = (
            events.annotate(**{TEXT: Cast("payload", output_field=TextField())})
            .order_by()
            .values_list("pk", "timestamp", TEXT)
        )
        chunk: list[Row] = []
        loads = orjson.loads
        for pk, at, text in rows.iterator(chunk_size=SCAN_CHUNK):
            chunk.append((pk, at, loads(text)))
            if len(chunk) == SCAN_CHUNK:
                yield chunk
                chunk = []
        if chunk:
            yield chunk


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

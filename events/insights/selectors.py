"""Run a compatible query against the event log: keyset pages and aggregates, in SQL.

- Pages are ordered by (timestamp, id), ascending or descending, and continue after the
  previous page's last row with a row comparison `(timestamp, id) > (%s, %s)` that the
  (timestamp, id) indexes answer: never OFFSET, so the millionth row costs what the first did
  and rows sharing a timestamp are neither skipped nor repeated.
- Events are answered as stored: on PostgreSQL `payload::text`, on SQLite the stored text,
  joined into one JSON array without decoding them (unless `fields` asks for a projection).
- count, distinct and interval are one SQL statement each (GROUP BY; `date_bin` on
  PostgreSQL, integer arithmetic on the epoch on SQLite).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
from django.db import connection, transaction
from django.db.models import BigIntegerField, BooleanField, Count, Q, QuerySet, TextField
from django.db.models.expressions import RawSQL
from django.db.models.fields.json import KeyTransform
from django.db.models.functions import Cast

from events.insights.query import Cursor, DistinctQuery, EventQuery, Filters, IntervalQuery
from events.insights.search_term import field_any_of, search_term_q
from events.models import AuditEvent

TABLE = AuditEvent._meta.db_table
MAX_BUCKETS = 10_000
INTERVAL_WORK_MEM = "64MB"
# Buckets of a week start on Monday, as the vendor's (Elasticsearch's) do: 1970-01-05 was one.
WEEK_ORIGIN_DAYS = 4
# Distinct values of these fields are read from their column (same value, indexed).
DISTINCT_COLUMNS: dict[tuple[str, ...], str] = {("event_type",): "event_type", ("service",): "service"}


@dataclass(frozen=True, slots=True)
class Page:
    body: bytes
    count: int
    last: Cursor | None


def events_filter(filters: Filters, *, org_ids: list[str]) -> QuerySet[AuditEvent]:
    """The events a query's filters select, in no order."""
    queryset = AuditEvent.objects.filter(timestamp__gte=filters.start_time)
    if filters.end_time is not None:
        queryset = queryset.filter(timestamp__lt=filters.end_time)
    if filters.services:
        queryset = queryset.filter(service__in=filters.services)
    if org_ids:
        queryset = queryset.filter(field_any_of(("organization",), list(org_ids)))
    if filters.search_term:
        queryset = queryset.filter(search_term_q(filters.search_term))
    return queryset


def events_page(query: EventQuery, *, org_ids: list[str]) -> Page:
    """One page of events after `query.search_after`, as a JSON array of the stored events."""
    queryset = events_filter(query.filters, org_ids=org_ids)
    if query.search_after is not None:
        queryset = queryset.filter(_after(query.search_after, descending=query.descending))
    order = ("-timestamp", "-id") if query.descending else ("timestamp", "id")
    # Timestamps come as text and only the last row's is parsed (for the cursor): Django's
    # psycopg loader parses each timestamptz in Python, which cost as much as the query.
    rows = list(
        queryset.order_by(*order)
        .annotate(stored=Cast("payload", output_field=TextField()), stamp=Cast("timestamp", output_field=TextField()))
        .values_list("id", "stored", "stamp")[: query.limit]
    )
    if not rows:
        return Page(body=b"[]", count=0, last=None)
    if query.fields:
        body = orjson.dumps([_project(orjson.loads(text), query.fields) for _, text, _ in rows])
    else:
        body = b"[" + ",".join(text for _, text, _ in rows).encode() + b"]"
    pk, _, stamp_text = rows[-1]
    stamp = datetime.fromisoformat(stamp_text)
    if stamp.tzinfo is None:  # SQLite stores UTC without an offset
        stamp = stamp.replace(tzinfo=UTC)
    return Page(body=body, count=len(rows), last=Cursor(timestamp=stamp, pk=pk))


def events_count(filters: Filters, *, org_ids: list[str]) -> int:
    return events_filter(filters, org_ids=org_ids).count()


def events_distinct(query: DistinctQuery, *, org_ids: list[str]) -> dict[str, Any]:
    """Buckets of the field's values, most frequent first (at most MAX_BUCKETS; the rest summed)."""
    queryset = events_filter(query.filters, org_ids=org_ids)
    column = DISTINCT_COLUMNS.get(query.field)
    if column is not None:
        key = column
        grouped = queryset.exclude(**{column: ""}).values_list(column)
    else:
        key = "value"
        expression: Any = "payload"
        for part in query.field:
            expression = KeyTransform(part, expression)
        grouped = queryset.annotate(value=expression).filter(value__isnull=False).values_list("value")
    rows = list(grouped.annotate(doc_count=Count("*")).order_by("-doc_count", key)[: MAX_BUCKETS + 1])
    buckets = [{"key": _key_text(key), "doc_count": doc_count} for key, doc_count in rows[:MAX_BUCKETS]]
    other = 0
    if len(rows) > MAX_BUCKETS:
        total = grouped.count()
        other = total - sum(bucket["doc_count"] for bucket in buckets)
    return {"buckets": buckets, "doc_count_error_upper_bound": 0, "sum_other_doc_count": other}


def events_interval(query: IntervalQuery, *, org_ids: list[str]) -> dict[str, Any]:
    """Event counts a bucket of `query.width`, buckets aligned on the epoch in the query's time zone."""
    queryset = events_filter(query.filters, org_ids=org_ids)
    width = int(query.width.total_seconds())
    offset = int(query.tz.utcoffset(None).total_seconds())
    # Local midnight of 1970-01-01 (or Monday 1970-01-05 for weeks), in epoch seconds.
    origin = (WEEK_ORIGIN_DAYS * 86_400 if query.unit == "w" else 0) - offset
    grouped = (
        queryset.annotate(bucket=_bucket_start(width, origin))
        .values_list("bucket")
        .annotate(doc_count=Count("*"))
        .order_by("bucket")
    )
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # The planner cannot know how few buckets there are (it guesses one a distinct timestamp),
            # so it sorts every row: let that sort stay in memory instead of spilling to disk.
            with connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL work_mem = '{INTERVAL_WORK_MEM}'")
        rows = list(grouped)
    return {
        "buckets": [
            {"key": start * 1000, "key_as_string": _iso(start, query.tz), "doc_count": doc_count}
            for start, doc_count in rows
        ]
    }


# -- parts ------------------------------------------------------------------------------------------


def _after(cursor: Cursor, *, descending: bool) -> Q:
    stamp: Any = cursor.timestamp
    if connection.vendor != "postgresql":
        stamp = connection.ops.adapt_datetimefield_value(cursor.timestamp)
    operator = "<" if descending else ">"
    sql = f'("{TABLE}"."timestamp", "{TABLE}"."id") {operator} (%s, %s)'
    return Q(RawSQL(sql, (stamp, cursor.pk), output_field=BooleanField()))


def _bucket_start(width: int, origin: int) -> RawSQL:
    """The epoch second at which a row's bucket starts."""
    if connection.vendor == "postgresql":
        sql = f'EXTRACT(EPOCH FROM date_bin(%s::interval, "{TABLE}"."timestamp", to_timestamp(%s)))::bigint'
        return RawSQL(sql, (timedelta(seconds=width), origin), output_field=BigIntegerField())
    # SQLite: floor((epoch - origin) / width) * width + origin, with a floor that is right below 0 too.
    epoch = f'CAST(strftime(\'%%s\', "{TABLE}"."timestamp") AS INTEGER)'
    sql = f"({epoch} - ((({epoch} - %s) %% %s) + %s) %% %s)"
    return RawSQL(sql, (origin, width, width, width), output_field=BigIntegerField())


def _iso(epoch_seconds: int, tz: timezone) -> str:
    moment = datetime.fromtimestamp(epoch_seconds, tz)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S.000") + moment.strftime("%z")
    if text.endswith("+0000"):
        return text[:-5] + "Z"
    return text[:-2] + ":" + text[-2:]


def _key_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return orjson.dumps(value).decode()
    if isinstance(value, (int, float)):
        return str(value)
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def _project(event: Any, paths: tuple[tuple[str, ...], ...]) -> dict[str, Any]:
    """Only the fields asked for, nested as in the event (`initiated_by.username` keeps the object around it)."""
    result: dict[str, Any] = {}
    if not isinstance(event, dict):
        return result
    for path in paths:
        source: Any = event
        for part in path:
            if not isinstance(source, dict) or part not in source:
                break
            source = source[part]
        else:
            target = result
            for part in path[:-1]:
                existing = target.get(part)
                if not isinstance(existing, dict):
                    existing = target[part] = {}
                target = existing
            target[path[-1]] = source
    return result

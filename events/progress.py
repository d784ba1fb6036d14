"""Evaluation progress: which stored events still wait for the rules, and how many were evaluated.

Ingestion writes a `PendingEvaluation` row with each event to evaluate (events.storage, same
statement); the evaluator claims rows with `pending_claim` and, in the transaction that records
the matches, ends them with `pending_done`. A request evaluating its own few events in the
transaction that stores them writes no pending row: it builds the events with `stored_events`,
and the statement that stores them counts them evaluated (`IngestCount.evaluated`). A pending row is visible only once its event has
committed, so transactions that commit out of id order need no gap sweep, and a claimed row
stays locked until the evaluation commits or rolls back (a killed worker leaves it pending).
"""

from __future__ import annotations

import os
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import connection
from django.db.models import Min, QuerySet, Subquery, Sum
from django.utils import timezone

from alertsite.sqlread import instances
from events.models import AuditEvent, EvaluationCount, IngestCount, PendingEvaluation
from events.validation import EventRecord

COUNT_TABLE = EvaluationCount._meta.db_table
PENDING_TABLE = PendingEvaluation._meta.db_table


@dataclass(frozen=True, slots=True)
class EvaluationProgress:
    pending: int
    oldest_pending_received_at: datetime | None
    evaluated_total: int


def pending_rows(
    *,
    event_pks: Collection[int] | None = None,
    received_since: datetime | None = None,
    received_before: datetime | None = None,
    exclude: Collection[int] = (),
) -> QuerySet[PendingEvaluation]:
    """Pending rows, oldest event first, narrowed by event pks and reception time."""
    rows = PendingEvaluation.objects.all()
    if event_pks is not None:
        rows = rows.filter(event_id__in=list(event_pks))
    if received_since is not None:
        rows = rows.filter(received_at__gte=received_since)
    if received_before is not None:
        rows = rows.filter(received_at__lt=received_before)
    if exclude:
        rows = rows.exclude(event_id__in=list(exclude))
    return rows.order_by("event_id")


def pending_claim(rows: QuerySet[PendingEvaluation], *, limit: int | None = None) -> list[int]:
    """Lock up to `limit` of these rows for this transaction and answer their event pks.

    Rows another transaction is evaluating are skipped, not waited for (PostgreSQL); SQLite
    has a single writer anyway. Call inside the transaction that will call `pending_done`.
    """
    if connection.features.has_select_for_update_skip_locked:
        rows = rows.select_for_update(skip_locked=True)
    pks = rows.values_list("event_id", flat=True)
    return list(pks[:limit] if limit is not None else pks)


def pending_claim_events(rows: QuerySet[PendingEvaluation], *, limit: int | None = None) -> list[AuditEvent]:
    """`pending_claim`, answering the claimed events themselves (EVALUATED_FIELDS), oldest
    first: on PostgreSQL one statement, the claim being a locking sub-select of the load."""
    if not connection.features.has_select_for_update_skip_locked:
        pks = pending_claim(rows, limit=limit)
        return list(AuditEvent.objects.filter(pk__in=pks).only(*EVALUATED_FIELDS).order_by("pk")) if pks else []
    claim = rows.select_for_update(skip_locked=True).values("event_id")
    claim = claim[:limit] if limit is not None else claim
    return list(AuditEvent.objects.filter(pk__in=Subquery(claim)).only(*EVALUATED_FIELDS).order_by("pk"))


def pending_claim_oldest(*, received_since: datetime, exclude: Collection[int], limit: int) -> list[AuditEvent]:
    """`pending_claim_events` of the oldest `limit` rows received since then, bar `exclude`: the
    evaluation drain's claim, every batch. On PostgreSQL one plain statement written once (the
    ORM built and compiled the locking sub-select anew for each batch)."""
    if connection.vendor != "postgresql":
        return pending_claim_events(pending_rows(received_since=received_since, exclude=exclude), limit=limit)
    return instances(AuditEvent, CLAIM_OLDEST_SQL, [received_since, list(exclude), limit])


def pending_claim_listed(event_pks: Collection[int]) -> list[AuditEvent]:
    """`pending_claim_events` of these events' rows: a request's own events, evaluated after its
    response, or a task's batch. On PostgreSQL one plain statement written once."""
    if connection.vendor != "postgresql":
        return pending_claim_events(pending_rows(event_pks=event_pks))
    return instances(AuditEvent, CLAIM_LISTED_SQL, [list(event_pks)])


# What evaluation reads of each claimed event: enough to match it and to raise an alert from
# it, so a batch that raises alerts reads its events once.
EVALUATED_FIELDS = (
    "pk",
    "timestamp",
    "payload",
    "event_id",
    "event_type",
    "initiator",
    "resource",
    "client_ip",
    "causal_depth",
)
# `stored_events`' fields: the claim's, in the model's field order (what `Model.from_db` takes).
_STORED_ATTNAMES = tuple(
    str(field.attname)
    for field in AuditEvent._meta.concrete_fields
    if field.attname in {"id" if name == "pk" else name for name in EVALUATED_FIELDS}
)
_EVALUATED_COLUMNS = ", ".join(f'"{"id" if name == "pk" else name}"' for name in EVALUATED_FIELDS)  # plain columns
# The claim: the evaluated columns of the events whose pending rows this selects, locked
# (rows another transaction holds are skipped). {rows} picks the pending rows.
_CLAIM_SQL = f"""
SELECT {_EVALUATED_COLUMNS} FROM {AuditEvent._meta.db_table} WHERE id IN (
    SELECT event_id FROM {PENDING_TABLE} WHERE {{rows}} FOR UPDATE SKIP LOCKED
) ORDER BY id
"""
CLAIM_OLDEST_SQL = _CLAIM_SQL.format(
    rows="received_at >= %s AND NOT (event_id = ANY(%s::bigint[])) ORDER BY event_id LIMIT %s"
)
CLAIM_LISTED_SQL = _CLAIM_SQL.format(rows="event_id = ANY(%s::bigint[]) ORDER BY event_id")
# Adding to this process's counter row (the shard keeps concurrent evaluators off one row).
COUNT_ADDED = f"ON CONFLICT (shard) DO UPDATE SET evaluated = {COUNT_TABLE}.evaluated + excluded.evaluated"
POSTGRES_DONE = f"""
WITH done AS (
    DELETE FROM {PENDING_TABLE} WHERE event_id = ANY(%s::bigint[]) RETURNING 1
), n AS (
    SELECT count(*) AS ended FROM done
), counted AS (
    INSERT INTO {COUNT_TABLE} (shard, evaluated) SELECT %s, ended FROM n WHERE ended > 0 {COUNT_ADDED}
)
SELECT ended FROM n
"""


def pending_done(event_pks: Sequence[int]) -> int:
    """The events are evaluated: drop their pending rows and count them (one statement on
    PostgreSQL; a DELETE and an upsert elsewhere).

    Call in the transaction that recorded their matches, after `pending_claim` locked them, so
    the matches and the end of waiting commit together. Answers how many rows it ended.
    """
    if not event_pks:
        return 0
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(POSTGRES_DONE, [list(event_pks), _shard()])
            return int(cursor.fetchone()[0])
    done, _ = PendingEvaluation.objects.filter(event_id__in=list(event_pks)).delete()
    evaluated_count_add(done)
    return done


def evaluated_count_add(count: int) -> None:
    """Count evaluated events (those without a pending row: the storing transaction evaluated them)."""
    if count <= 0:
        return
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {COUNT_TABLE} (shard, evaluated) VALUES (%s, %s) {COUNT_ADDED}", [_shard(), count])


def _shard() -> int:
    return os.getpid() % EvaluationCount.SHARDS


def stored_events(stored: Sequence[tuple[int, EventRecord]]) -> list[AuditEvent]:
    """The events this transaction just stored, as the claim loads them (EVALUATED_FIELDS, the
    rest deferred), built from what it wrote: evaluating them reads nothing back. The payload is
    decoded as a read decodes it (alertsite.fields); the timestamp is in UTC, as read."""
    decode = AuditEvent._meta.get_field("payload").from_db_value
    alias = connection.alias
    built = []
    for pk, record in stored:
        values = {
            "id": pk,
            "event_id": record.event_id,
            "event_type": record.event_type,
            "timestamp": record.timestamp.astimezone(UTC),
            "initiator": record.initiator,
            "resource": record.resource,
            "client_ip": record.client_ip,
            "causal_depth": record.causal_depth,
            "payload": decode(record.payload_json, None, connection),
        }
        built.append(AuditEvent.from_db(alias, _STORED_ATTNAMES, [values[name] for name in _STORED_ATTNAMES]))
    return built


def pending_stale(*, older_than: timedelta, limit: int) -> list[int]:
    """Events waiting longer than that (broker down after commit, a worker died), oldest first."""
    cutoff = timezone.now() - older_than
    return list(
        PendingEvaluation.objects.filter(received_at__lt=cutoff)
        .order_by("received_at", "event_id")
        .values_list("event_id", flat=True)[:limit]
    )


def evaluation_progress() -> EvaluationProgress:
    """Pending count and age, and the evaluated total: four small reads, none over the event log.

    The count covers only the pending table, which stays small while evaluation keeps up; the
    oldest reception time comes from its index; the total sums a few counter rows of each kind.
    """
    pending = PendingEvaluation.objects.count()
    oldest = PendingEvaluation.objects.aggregate(oldest=Min("received_at"))["oldest"] if pending else None
    total = (EvaluationCount.objects.aggregate(total=Sum("evaluated"))["total"] or 0) + (
        IngestCount.objects.aggregate(total=Sum("evaluated"))["total"] or 0
    )
    return EvaluationProgress(pending=pending, oldest_pending_received_at=oldest, evaluated_total=int(total))

"""Writes to the event log: batch ingestion, the product's own audit events, retention."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from events import hooks
from events.catalog import keys_for
from events.models import AuditEvent, EventCategory, EventType
from events.progress import stored_events
from events.storage import ORIGIN_OTHER, events_insert_new
from events.validation import EventRecord, Limits, event_validate

logger = logging.getLogger(__name__)

# Audit events caused by alert activity two steps away from an outside event are stored
# but never evaluated, so rules watching alert events cannot feed themselves (design.md).
MAX_EVALUATED_CAUSAL_DEPTH = 1
# The `service` of alertsite's own audit events (rules, alerts and channels changes).
AUDIT_SERVICE = "alerts"
# Ways in, the `source` label of the alertsite_events_ingested_total metric (api.md §13); pulled
# events count under "source:<id>" (source_origin), named after their source when scraped.
ORIGIN_API = "api"
ORIGIN_IMPORT = "import"
ORIGIN_AUDIT = "audit"
ORIGIN_SIMULATE = "simulate"
SOURCE_ORIGIN_PREFIX = "source:"


def source_origin(source_pk: int) -> str:
    return f"{SOURCE_ORIGIN_PREFIX}{source_pk}"


@dataclass(frozen=True, slots=True)
class IngestResult:
    accepted: int
    duplicates: int
    ids: list[str]
    new_pks: list[int] = field(default_factory=list)


def event_batch_ingest(
    *, records: Sequence[EventRecord], origin: str = ORIGIN_OTHER, savepoint: bool = True
) -> IngestResult:
    """Store a validated batch in one transaction; hand the new events on after commit.

    - New events are counted under `origin` (the way in) by the statement that stores them.
    - Duplicates (an event_id already stored, or repeated in the batch) change nothing.
    - Unknown event types join the catalog with known=False.
    - New events that something will evaluate (shallow enough in causal depth, of a type some
      enabled rule selects) are marked pending evaluation by the same statement that stores
      them, and listeners hear about them after commit. The others need no evaluation: no
      pending row, no task.
    - Except when the in-transaction evaluation takes them (a request's few events, see
      events.hooks): then they are evaluated in this transaction and get no pending row. If
      that evaluation fails, the transaction is rolled back and the batch stored again the
      usual way, so an evaluation error never loses an event.
    - `savepoint=False` for callers inside a larger write that fails as a whole (the product's
      own audit events): two round trips less, but an error here dooms the caller's transaction.
    """
    ids = [record.event_id for record in records]
    unique: dict[str, EventRecord] = {}
    for record in records:
        unique.setdefault(record.event_id, record)
    shallow = [r for r in unique.values() if r.causal_depth <= MAX_EVALUATED_CAUSAL_DEPTH]
    # Only a batch that is its own transaction can be stored again without its evaluation.
    own_transaction = savepoint and not connection.in_atomic_block
    with hooks.in_transaction_evaluation(len(shallow) if own_transaction else 0) as evaluate:
        wanted = hooks.types_to_evaluate({r.event_type for r in shallow}) if shallow else set()
        to_evaluate = {r.event_id for r in shallow if r.event_type in wanted}
        if evaluate is not None and to_evaluate:
            try:
                return _batch_store(unique, ids, to_evaluate, origin, savepoint=savepoint, evaluate=evaluate)
            except _EvaluationFailed:
                logger.exception("evaluating in the storing transaction failed; stored again for the evaluators")
        return _batch_store(unique, ids, to_evaluate, origin, savepoint=savepoint, evaluate=None)


class _EvaluationFailed(Exception):
    """The in-transaction evaluation raised: its transaction is rolled back, the batch stored again."""


def _batch_store(
    unique: dict[str, EventRecord],
    ids: list[str],
    to_evaluate: set[str],
    origin: str,
    *,
    savepoint: bool,
    evaluate: hooks.EvaluateStored | None,
) -> IngestResult:
    now = timezone.now()
    with transaction.atomic(savepoint=savepoint):
        new = events_insert_new(
            list(unique.values()),
            received_at=now,
            to_evaluate=to_evaluate,
            origin=origin,
            evaluated_now=evaluate is not None,
        )
        new_pks = sorted(pk for event_id, pk in new.items() if event_id in to_evaluate)
        if new:
            event_types_register(names={r.event_type for r in unique.values() if r.event_id in new})
        if new_pks and evaluate is not None:
            stored = sorted((pk, unique[event_id]) for event_id, pk in new.items() if event_id in to_evaluate)
            try:
                evaluate(stored_events(stored))
            except Exception as exc:
                raise _EvaluationFailed from exc
        elif new_pks:
            transaction.on_commit(lambda: events_ingested_notify(new_pks))
    return IngestResult(accepted=len(new), duplicates=len(ids) - len(new), ids=ids, new_pks=sorted(new.values()))


def events_ingested_notify(pks: list[int]) -> None:
    """Tell every registered listener about newly committed events; one failing listener doesn't stop others."""
    for listener in hooks.ingest_listeners():
        try:
            listener(pks)
        except Exception:
            # The periodic re-queue of unevaluated events picks these up later.
            logger.exception("ingest listener failed", extra={"listener": repr(listener), "events": len(pks)})


class _SeenTypes:
    """Types this process already found in the catalog, forgotten every few minutes (a type
    deleted from the catalog meanwhile comes back at the latest then), so a batch of known
    types costs no statement."""

    TTL = 300.0

    def __init__(self) -> None:
        self.names: set[str] = set()
        self.until = 0.0

    def unseen(self, names: set[str]) -> set[str]:
        if time.monotonic() > self.until:
            self.names, self.until = set(), time.monotonic() + self.TTL
        return names - self.names


_seen_types = _SeenTypes()


def event_types_forget() -> None:
    """Forget which types this process saw in the catalog (after the catalog was emptied: tests)."""
    _seen_types.until = 0.0


def event_types_register(*, names: set[str]) -> None:
    """Add types first seen in ingested events to the catalog as unknown (one statement, none
    when this process has registered them all recently)."""
    unseen = _seen_types.unseen(names)
    if not unseen:
        return
    EventType.objects.bulk_create(
        [
            EventType(name=name, known=False, category=EventCategory.OTHER, keys=list(keys_for(name)))
            for name in sorted(unseen)
        ],
        ignore_conflicts=True,
    )
    names_after_commit = set(unseen)
    transaction.on_commit(lambda: _seen_types.names.update(names_after_commit))


def audit_payload(
    *,
    event_type: str,
    service: str,
    initiated_by: dict[str, Any],
    resource: dict[str, Any] | None = None,
    changes: list[dict[str, Any]] | None = None,
    success: bool = True,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A Directory-Insights-shaped event describing one of the product's own changes."""
    payload: dict[str, Any] = {
        "id": uuid.uuid4().hex,
        "event_type": event_type,
        "service": service,
        "timestamp": timezone.now().isoformat().replace("+00:00", "Z"),
        "@version": "1",
        "initiated_by": initiated_by,
        "success": success,
    }
    if resource is not None:
        payload["resource"] = resource
    if changes is not None:
        payload["changes"] = changes
    payload.update(extra or {})
    return payload


def audit_events_record(*, payloads: Sequence[tuple[dict[str, Any], int]]) -> IngestResult:
    """Store several audit events, each with its causal depth, in the caller's transaction (one INSERT)."""
    limits = Limits.from_settings()
    records = []
    for payload, causal_depth in payloads:
        record = event_validate(payload, index=0, limits=limits, causal_depth=causal_depth)
        if isinstance(record, list):
            raise ValueError(f"invalid audit event: {[error.message for error in record]}")
        records.append(record)
    # Part of the change it records: no savepoint of its own (an error fails the change anyway).
    return event_batch_ingest(records=records, origin=ORIGIN_AUDIT, savepoint=False)


def audit_event_record(*, causal_depth: int = 0, **fields: Any) -> AuditEvent:
    """Record one of the product's own changes (see audit_payload for the fields).

    Runs in the caller's transaction, so the audit event exists exactly when the change does.
    """
    payload = audit_payload(**fields)
    audit_events_record(payloads=[(payload, causal_depth)])
    return AuditEvent.objects.get(event_id=payload["id"])


def actor_reference(user: Any | None) -> dict[str, Any]:
    """The `initiated_by` object for a user, or for the system when there is none."""
    if user is None or not getattr(user, "is_authenticated", False):
        return {"type": "system", "id": "alertsite"}
    return {"type": "admin", "id": str(user.pk), "username": user.get_username(), "email": user.email or ""}


@dataclass(frozen=True, slots=True)
class PurgeResult:
    deleted: int
    kept: int
    cutoff: datetime


def _commit_without_waiting_for_the_disk() -> None:
    """A purge batch need not wait for its WAL flush (PostgreSQL): a batch lost in a crash is
    deleted again by the next purge. About a quarter of a batch's time went to that wait."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def event_retention_purge(
    *,
    days: int | None = None,
    batch_size: int | None = None,
    on_progress: Callable[[int], None] | None = None,
    duty_cycle: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> PurgeResult:
    """Delete events older than the retention period, in batches, sparing those a guard protects.

    Each batch is its own short transaction (a few ms of row locks on at most `batch_size`
    old events, none on the table), so ingest goes on beside a purge of millions of rows and
    the purge can be interrupted at any point without losing anything still wanted. Batches
    walk the ids upwards (keyset), so each starts where the last stopped instead of scanning
    again over the rows just deleted and not yet vacuumed; only ids are loaded, never the
    payloads. `on_progress` hears the running total after each batch.

    The purge costs CPU rather than locks (PostgreSQL checks every foreign key of every deleted
    row), so on a small machine it would take a core from ingest: it works only `duty_cycle` of
    the time (ALERTSITE_RETENTION_DUTY_CYCLE), resting after each batch in proportion to how
    long the batch took. 1.0 purges flat out.
    """
    duty = settings.ALERTSITE_RETENTION_DUTY_CYCLE if duty_cycle is None else duty_cycle
    if not 0 < duty <= 1:
        raise ValueError(f"duty_cycle must be more than 0 and at most 1, not {duty}")
    days = settings.ALERTSITE_EVENT_RETENTION_DAYS if days is None else days
    batch_size = batch_size or settings.ALERTSITE_RETENTION_BATCH_SIZE
    cutoff = timezone.now() - timedelta(days=days)
    expired = AuditEvent.objects.filter(timestamp__lt=cutoff)
    for guard in hooks.retention_guards():
        expired = expired.exclude(pk__in=guard())
    deleted = 0
    last = 0
    while True:
        started = time.monotonic()
        with transaction.atomic():
            _commit_without_waiting_for_the_disk()
            batch = list(expired.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:batch_size])
            if not batch:
                break
            last = batch[-1]
            # only("pk"): the cascade (pending rows, matches, alert links) needs the ids, not the payloads.
            _, per_model = AuditEvent.objects.filter(pk__in=batch).only("pk").delete()
            deleted += per_model.get(AuditEvent._meta.label, 0)  # not the rows that cascade with them
        if on_progress is not None:
            on_progress(deleted)
        if duty < 1:
            sleep((time.monotonic() - started) * (1 - duty) / duty)
    kept = AuditEvent.objects.filter(timestamp__lt=cutoff).count() if hooks.retention_guards() else 0
    logger.info("event retention purge", extra={"deleted": deleted, "kept": kept, "cutoff": cutoff.isoformat()})
    return PurgeResult(deleted=deleted, kept=kept, cutoff=cutoff)

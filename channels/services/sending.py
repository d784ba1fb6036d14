"""Sending a batch of deliveries: claim all at once, send side by side, record all at once.

Why: an alert storm used to cost each delivery its own claim, reload, attempt row, status
update and health update (and a new connection); at thousands a second that bookkeeping,
not the HTTP request, was the limit. Here a batch costs a fixed number of statements:

1. **claim**: one conditional `UPDATE ... SET status='sending' WHERE status='pending' AND due
   RETURNING id` (a row another worker holds, or that was sent already, is simply not
   returned, so a re-delivered task never sends a `sent` row again), then one SELECT of the
   claimed rows and one of their channels. Rows of a **paused** channel (`Channel.paused_until`,
   set after a 429 or repeated failures) are not claimed: one statement before the claim moves
   them to the pause's end, no attempt spent, so no request reaches that receiver meanwhile;
2. **send**: per channel, the first delivery goes alone (a dead receiver costs one timeout, and
   its other deliveries wait for its retry time as before); when it got through, up to
   `ALERTSITE_DELIVERY_CONCURRENCY` requests go to that channel at once on threads, for
   transports that allow it (webhooks; e-mail stays on the task's thread); no request starts
   later than one send timeout after the claim (rows left then are handed back and queued again),
   so the sweep never takes back a row this task is still going to send;
3. **record**: in one transaction, one statement writes the outcomes on the rows still ours
   (the sweep may have taken back a row that took too long), their attempt log and the
   per-kind, per-outcome counters of the deliveries metric (`outcomes_record`), then the `notification_delivery_failed` event of each delivery that
   failed for good, and deferred rows handed back as pending with the channel's retry time (no
   attempt spent); after the commit, one health write per channel, which also pauses the
   channel until its retry time after a 429 or `ALERTSITE_CHANNEL_PAUSE_AFTER_FAILURES`
   failures in a row (channels.services.health).
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import orjson
from django.conf import settings
from django.db import connection, transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from alertsite import stamps
from alertsite.sqlread import instances
from alertsite.stamps import StampedCache
from channels.models import Channel, Delivery, DeliveryAttempt, DeliveryCount, DeliveryStatus, NotificationKind
from channels.notification import Notification
from channels.services.health import Outcome, channel_health_batch_record, delivery_failure_record
from channels.transports import DeliveryError, Outgoing, transports

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

logger = logging.getLogger(__name__)

CLAIMED_FIELDS = ["id", "uuid", "channel_id", "kind", "alert_id", "payload", "causal_depth", "attempts"]
RECORDED_FIELDS = [
    "status",
    "attempts",
    "last_attempt_at",
    "next_attempt_at",
    "sent_at",
    "response_code",
    "last_error",
    "response_snippet",
    "duration_ms",
]


@dataclass
class Attempt:
    """One try at one delivery, decided in memory and written with the rest of its batch."""

    delivery: Delivery
    number: int
    error: DeliveryError | None = None
    status_code: int | None = None
    snippet: str = ""
    duration_ms: int = 0
    outcome: str = ""  # sent | retry | failed
    status: str = ""
    retry_at: datetime | None = None


@dataclass
class BatchResult:
    """What happened to each delivery id asked for: its status and, for a retry, when."""

    status: dict[int, str] = field(default_factory=dict)
    retry_at: dict[int, datetime] = field(default_factory=dict)
    deferred: dict[datetime, list[int]] = field(default_factory=dict)  # channel retry time -> pks


def relaxed_commit() -> None:
    """Inside a delivery's own bookkeeping transaction, don't wait for the WAL flush (PostgreSQL).

    Losing such a commit in a crash only means the sweep sends the delivery again, and
    receivers drop the duplicate by its delivery id; the outbox row itself was written
    durably with the alert.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


# -- 1. claim ------------------------------------------------------------------------------------


def deliveries_claim(pks: Sequence[int], now: datetime) -> list[Delivery]:
    """Claim the due pending rows among `pks` (pending -> sending) in one statement; return them, in order."""
    if not pks:
        return []
    table = connection.ops.quote_name(Delivery._meta.db_table)
    at = connection.ops.adapt_datetimefield_value(now)
    params: list[Any]
    if connection.vendor == "postgresql":  # one array parameter: the same statement text for every batch
        ids, params = "= ANY(%s)", [list(pks)]
    else:
        ids, params = f"IN ({', '.join(['%s'] * len(pks))})", list(pks)
    channel_table = connection.ops.quote_name(Channel._meta.db_table)
    # `(status = %s) IS TRUE`, not `status = %s`: the same rows, but no index on status can serve
    # it, so the rows are found by their ids. Right after a storm's rows are written the
    # statistics still say almost nothing is pending, and PostgreSQL then walked delivery_due_idx
    # through every pending row for each batch: 26 ms instead of 3 ms per batch of 40 at 20,000
    # pending, the storm slowing as it grew.
    claim_sql = (
        f"UPDATE {table} SET status = %s, claimed_at = %s "
        f"WHERE id {ids} AND (status = %s) IS TRUE AND (next_attempt_at IS NULL OR next_attempt_at <= %s) "
        f"AND (kind = %s OR channel_id NOT IN (SELECT id FROM {channel_table} WHERE paused_until > %s)) "
    )
    claim_params = [DeliveryStatus.SENDING, at, *params, DeliveryStatus.PENDING, at, NotificationKind.TEST, at]
    if connection.vendor == "postgresql":
        # One statement, its own transaction: the paused channels' rows deferred (a CTE: the rows
        # it moves are the ones the claim leaves), the others claimed and returned with what
        # sending reads, and the commit relaxed in the statement itself (no BEGIN, SET, COMMIT).
        deferred = PAUSED_DEFER_CTE.format(table=table, channels=channel_table)
        returning = ", ".join(connection.ops.quote_name(name) for name in CLAIMED_FIELDS)
        claimed_rows = instances(
            Delivery,
            f"{deferred} {claim_sql} AND EXISTS (SELECT 1 FROM relaxed) RETURNING {returning}",
            [list(pks), DeliveryStatus.PENDING, NotificationKind.TEST, at, at, *claim_params],
        )
        rows = {row.pk: row for row in claimed_rows}
    else:
        with transaction.atomic():
            paused_defer(pks, now)
            with connection.cursor() as cursor:
                cursor.execute(claim_sql + "RETURNING id", claim_params)
                claimed = {row[0] for row in cursor.fetchall()}
            # Only what sending and recording read (each loaded column is decoded per row).
            rows = (
                {row.pk: row for row in Delivery.objects.only(*CLAIMED_FIELDS).filter(pk__in=claimed)}
                if claimed
                else {}
            )
    if not rows:
        return []
    # Each channel once (not a copy with its config decoded per row, as select_related would).
    channels = channels_whole(sorted({row.channel_id for row in rows.values()}))
    for row in rows.values():
        row.channel = channels[row.channel_id]
    return [rows[pk] for pk in dict.fromkeys(pks) if pk in rows]


# One plain statement written once: the ORM compiled its filter anew for every batch, which
# cost more CPU than reading the rows (an alerting batch and every storm chunk read them).
CHANNELS_SQL = f"SELECT * FROM {Channel._meta.db_table} WHERE id = ANY(%s::bigint[])"


# Inside an evaluation batch (alertsite.stamps pinned), the channels read so far under the
# channels stamp (None for a pk that did not exist): a batch reads the table only after a change.
_kept: StampedCache[dict[int, Channel | None]] = StampedCache(stamps.CHANNELS)


def channels_whole(pks: Sequence[int], *, enabled_only: bool = False) -> dict[int, Channel]:
    """The channels among `pks` (only the enabled ones if asked), whole, by pk.

    The instances may come from the batch's kept channels (alertsite.stamps): read them, don't
    change them."""
    kept = _kept.get() or {}
    if any(pk not in kept for pk in pks):
        read = _channels_read(pks)
        kept = {**kept, **{pk: read.get(pk) for pk in pks}}
        _kept.put(kept)
    found = {pk: channel for pk in pks if (channel := kept[pk]) is not None}
    return {pk: channel for pk, channel in found.items() if channel.enabled} if enabled_only else found


def _channels_read(pks: Sequence[int]) -> dict[int, Channel]:
    if connection.vendor == "postgresql":
        return {channel.pk: channel for channel in instances(Channel, CHANNELS_SQL, [list(pks)])}
    return {channel.pk: channel for channel in Channel.objects.filter(pk__in=list(pks))}


# In a statement of its own (autocommit), `set_config(..., true)` lasts until that statement's
# commit: the relaxed commit of `relaxed_commit`, without a transaction around one statement.
RELAXED_CTE = "relaxed AS (SELECT set_config('synchronous_commit', 'off', true) AS setting)"

PAUSED_DEFER_CTE = (
    "WITH "
    + RELAXED_CTE
    + """, deferred AS (
    UPDATE {table} d SET next_attempt_at = c.paused_until FROM {channels} c
    WHERE d.id = ANY(%s) AND d.channel_id = c.id AND (d.status = %s) IS TRUE AND d.kind <> %s
    AND c.paused_until > %s AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= %s)
    RETURNING d.id
)
"""
)


def paused_defer(pks: Sequence[int], now: datetime) -> None:
    """Due rows among `pks` whose channel is paused wait for the pause's end, in one statement,
    without spending an attempt: no request reaches a channel before its retry time. An admin's
    test notification is the exception: it is how one checks that the receiver is back."""
    Delivery.objects.filter(
        pk__in=list(pks),
        status=DeliveryStatus.PENDING,
        channel__paused_until__gt=now,
    ).exclude(kind=NotificationKind.TEST).filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)).update(
        next_attempt_at=Subquery(Channel.objects.filter(pk=OuterRef("channel_id")).values("paused_until")[:1])
    )


# -- 2. send -------------------------------------------------------------------------------------


def backoff_seconds(attempt: int, retry_after: float | None) -> float:
    """Exponential backoff with full jitter; a longer Retry-After wins; capped."""
    base = settings.ALERTSITE_DELIVERY_BACKOFF_SECONDS * (2 ** max(0, attempt - 1))
    delay = random.uniform(base / 2, base)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return min(delay, settings.ALERTSITE_DELIVERY_BACKOFF_MAX_SECONDS)


def attempt_decide(attempt: Attempt, *, final: bool, now: datetime) -> None:
    """Sent, retried with backoff (Retry-After honoured), or failed for good: the rules of api.md §5."""
    max_attempts = 1 + settings.ALERTSITE_DELIVERY_MAX_RETRIES
    error = attempt.error
    if error is None:
        attempt.outcome, attempt.status = "sent", DeliveryStatus.SENT
    elif error.permanent or final or attempt.number >= max_attempts:
        attempt.outcome, attempt.status = "failed", DeliveryStatus.FAILED
    else:
        attempt.outcome, attempt.status = "retry", DeliveryStatus.PENDING
        attempt.retry_at = now + timedelta(seconds=backoff_seconds(attempt.number, error.retry_after))


def attempt_make(delivery: Delivery, *, final: bool) -> Attempt:
    """One try through the channel's transport; never raises (a bug must not leave rows in `sending`)."""
    channel = delivery.channel
    attempt = Attempt(delivery=delivery, number=delivery.attempts + 1)
    started = time.monotonic()
    message = Outgoing(
        delivery_id=str(delivery.uuid),
        notification=Notification.from_json(delivery.kind, delivery.payload),
        sent_at=timezone.now().isoformat().replace("+00:00", "Z"),
    )
    try:
        if not channel.enabled and delivery.kind != NotificationKind.TEST:
            # A test may check a channel before it is switched on; real notifications may not.
            raise DeliveryError("The channel is disabled.", permanent=True)
        result = transports.get(channel.kind).send(
            channel, message, timeout=settings.ALERTSITE_DELIVERY_TIMEOUT_SECONDS
        )
        attempt.status_code, attempt.snippet = result.status_code, result.snippet
    except DeliveryError as exc:
        attempt.error, attempt.status_code, attempt.snippet = exc, exc.status_code, exc.snippet
    except Exception as exc:
        logger.exception("transport raised", extra={"delivery_id": delivery.pk})
        attempt.error = DeliveryError(f"{exc.__class__.__name__}: {exc}", permanent=True)
    attempt.duration_ms = int((time.monotonic() - started) * 1000)
    attempt_decide(attempt, final=final, now=timezone.now())
    return attempt


_executor: ThreadPoolExecutor | None = None
_executor_pid = 0
_executor_lock = threading.Lock()


def executor() -> ThreadPoolExecutor:
    """The process's sender threads (made after a fork, never inherited from the prefork parent)."""
    global _executor, _executor_pid
    pid = os.getpid()
    if _executor is None or _executor_pid != pid:
        with _executor_lock:
            if _executor is None or _executor_pid != pid:
                workers = max(1, settings.ALERTSITE_DELIVERY_CONCURRENCY) * 2
                _executor, _executor_pid = ThreadPoolExecutor(workers, thread_name_prefix="deliver"), pid
    return _executor


class ChannelRun:
    """One channel's deliveries of a batch: sent by up to `lanes` threads until the channel fails."""

    def __init__(self, rows: list[Delivery], *, final: bool, start_by: float) -> None:
        self.queue: deque[Delivery] = deque(rows)
        self.concurrent = transports.get(rows[0].channel.kind).concurrent
        self.final = final
        self.start_by = start_by  # time.monotonic() after which no new request starts
        self.attempts: list[Attempt] = []
        self.failing_until: datetime | None = None  # set by the first transient failure
        self.lock = threading.Lock()

    def next_row(self) -> Delivery | None:
        with self.lock:
            if self.failing_until is not None or not self.queue or time.monotonic() > self.start_by:
                return None
            return self.queue.popleft()

    def lane(self) -> None:
        """Send rows until none are left or the channel failed (the rest then wait for its retry)."""
        while (row := self.next_row()) is not None:
            attempt = attempt_make(row, final=self.final)
            with self.lock:
                self.attempts.append(attempt)
                if attempt.retry_at is not None and self.failing_until is None:
                    self.failing_until = attempt.retry_at

    def probe(self) -> None:
        """The first row alone: a receiver that is down costs one attempt, not one per lane."""
        row = self.next_row()
        if row is not None:
            attempt = attempt_make(row, final=self.final)
            self.attempts.append(attempt)
            if attempt.retry_at is not None:
                self.failing_until = attempt.retry_at

    def left_over(self) -> list[Delivery]:
        return list(self.queue)


def _run_all(runs: list[ChannelRun], step: Callable[[ChannelRun], list[Callable[[], None]]]) -> None:
    """Run each channel's jobs: on threads when its transport allows, else here, one after the other."""
    threaded: list[Callable[[], None]] = []
    inline: list[Callable[[], None]] = []
    for run in runs:
        jobs = step(run)
        (threaded if run.concurrent and not _serial() else inline).extend(jobs)
    if len(threaded) == 1:  # a job alone (one alert's webhook): a thread would only add a hand-over
        inline, threaded = [*threaded, *inline], []
    pending: list[Future[None]] = [executor().submit(job) for job in threaded]
    for job in inline:
        job()
    for future in pending:
        future.result()


def _serial() -> bool:
    return settings.ALERTSITE_DELIVERY_CONCURRENCY <= 1


def deliveries_attempt(rows: list[Delivery], *, final: bool) -> tuple[list[Attempt], dict[datetime, list[Delivery]]]:
    """Attempt each claimed row once; return the attempts and the rows deferred to their channel's retry."""
    by_channel: dict[int, list[Delivery]] = {}
    for row in rows:
        by_channel.setdefault(row.channel_id, []).append(row)
    # The whole batch was claimed at once, and the sweep takes back rows `sending` for longer than
    # 2 x timeout + 5 s: start no request later than one timeout after the claim, so every request
    # ends before then. What is left is handed back, due now, and queued again (a slow receiver).
    start_by = time.monotonic() + settings.ALERTSITE_DELIVERY_TIMEOUT_SECONDS
    runs = [ChannelRun(group, final=final, start_by=start_by) for group in by_channel.values()]
    _run_all(runs, lambda run: [run.probe])
    lanes = max(1, settings.ALERTSITE_DELIVERY_CONCURRENCY)
    _run_all(
        runs,
        lambda run: [] if run.failing_until is not None else [run.lane] * min(lanes, len(run.queue)),
    )
    attempts: list[Attempt] = []
    deferred: dict[datetime, list[Delivery]] = {}
    for run in runs:
        attempts.extend(run.attempts)
        if run.queue:
            deferred.setdefault(run.failing_until or timezone.now(), []).extend(run.left_over())
    return attempts, deferred


# -- 3. record -----------------------------------------------------------------------------------


def attempts_record(
    attempts: list[Attempt], deferred: dict[datetime, list[Delivery]], *, claimed_at: datetime
) -> set[int]:
    """Write a batch's attempts and hand deferred rows back, in one transaction; return the pks recorded.

    A row no longer `sending` under our claim was taken back by the sweep (we were too slow):
    its next attempt records itself, this one is dropped.
    """
    now = timezone.now()
    for a in attempts:
        row = a.delivery
        row.status = a.status
        row.attempts = a.number
        row.last_attempt_at = now
        row.next_attempt_at = a.retry_at
        row.sent_at = now if a.status == DeliveryStatus.SENT else None
        row.response_code = a.status_code
        row.last_error = a.error.message if a.error else ""
        row.response_snippet = (a.snippet or "")[:500]
        row.duration_ms = a.duration_ms
    failures = [a for a in attempts if a.status == DeliveryStatus.FAILED and a.delivery.kind != NotificationKind.TEST]
    # The common case (everything sent or retried, nothing handed back) is one statement, its own
    # transaction; failures (their events) and deferred rows are written with it in one transaction.
    together = bool(failures or deferred) or connection.vendor != "postgresql"
    with transaction.atomic() if together else nullcontext():
        if together:
            relaxed_commit()
        ours = outcomes_record(attempts, now=now, claimed_at=claimed_at)
        kept = [a for a in attempts if a.delivery.pk in ours]
        for a in failures:
            if a.delivery.pk in ours:
                delivery_failure_record(a.delivery, a.error, a.number)
        for retry_at, rows in deferred.items():
            # Back to pending without spending an attempt; claimed rows were due, so this is never earlier.
            Delivery.objects.filter(
                pk__in=[row.pk for row in rows], status=DeliveryStatus.SENDING, claimed_at=claimed_at
            ).update(status=DeliveryStatus.PENDING, next_attempt_at=retry_at)
    # After the commit, in statements of their own: the channel row is shared by every
    # delivery to it, so its lock must never be held while a transaction waits on disk.
    by_channel: dict[int, list[Attempt]] = {}
    for a in kept:
        by_channel.setdefault(a.delivery.channel_id, []).append(a)
    for group in by_channel.values():
        channel_health_batch_record(group[0].delivery.channel, [_health_outcome(a) for a in group], at=now)
    _log(kept)
    return ours


def _health_outcome(a: Attempt) -> Outcome:
    if a.error is None:
        return Outcome(ok=True)
    return Outcome(ok=False, error=a.error.message, retry_at=a.retry_at, throttled=a.status_code == 429)


RECORD_SQL = (
    "WITH "
    + RELAXED_CTE
    + """, v AS (
    SELECT * FROM jsonb_to_recordset(%s::jsonb) AS v(id bigint, status varchar, attempts smallint,
        next_attempt_at timestamptz, response_code smallint, last_error varchar, response_snippet varchar,
        duration_ms integer, outcome varchar, kind varchar)
), updated AS (
    UPDATE {delivery} AS d SET status = v.status, attempts = v.attempts, last_attempt_at = %s,
        next_attempt_at = v.next_attempt_at, sent_at = CASE WHEN v.status = %s THEN %s::timestamptz END,
        response_code = v.response_code, last_error = v.last_error, response_snippet = v.response_snippet,
        duration_ms = v.duration_ms
    FROM v WHERE d.id = v.id AND d.id = ANY(%s::bigint[]) AND (d.status = %s) IS TRUE AND d.claimed_at = %s
    RETURNING d.id
), counted AS (
    INSERT INTO {count} (kind, outcome, shard, attempts)
    SELECT v.kind, v.outcome, %s, count(*) FROM v JOIN updated ON updated.id = v.id
    GROUP BY v.kind, v.outcome ORDER BY v.kind, v.outcome
    ON CONFLICT (kind, outcome, shard) DO UPDATE SET attempts = {count}.attempts + excluded.attempts
)
INSERT INTO {attempt} (delivery_id, number, at, duration_ms, status_code, error, response_snippet, outcome)
SELECT v.id, v.attempts, %s, v.duration_ms, v.response_code, v.last_error, v.response_snippet, v.outcome
FROM v JOIN updated ON updated.id = v.id CROSS JOIN relaxed
RETURNING delivery_id
"""
)
COUNT_UPSERT = """
INSERT INTO {count} (kind, outcome, shard, attempts) VALUES (%s, %s, %s, %s)
ON CONFLICT (kind, outcome, shard) DO UPDATE SET attempts = {count}.attempts + excluded.attempts
"""


def _count_shard() -> int:
    return os.getpid() % DeliveryCount.SHARDS


def outcomes_record(attempts: list[Attempt], *, now: datetime, claimed_at: datetime) -> set[int]:
    """Write each attempt's outcome on its row and in the attempt log, for the rows still `sending`
    under our claim; return their pks.

    PostgreSQL: one statement whatever the batch size: the outcomes as one JSON document
    (`jsonb_to_recordset`: cheaper to send than a dozen arrays, and Django's bulk_update builds a
    CASE per field and row, which cost more CPU than the webhooks), an UPDATE of the rows we still
    hold and an INSERT of the attempt log for exactly those. Elsewhere: lock, bulk_update, bulk_create.

    The rows are named twice, joined to the document and as an id array: the planner cannot see
    how many rows a JSON document holds (it guesses 100), and with a young table's statistics it
    hashed the document and read the whole table to join it (a sequential scan per record, 16% of
    PostgreSQL's CPU at 50 alerting events/s, growing with the table). The array lets it go by the
    primary key; `(status = %s) IS TRUE` keeps it off the status index, as in deliveries_claim.
    """
    if not attempts:
        return set()
    if connection.vendor != "postgresql":
        return _outcomes_record_portable(attempts, now=now, claimed_at=claimed_at)
    document = orjson.dumps(
        [
            {
                "id": a.delivery.pk,
                "status": a.status,
                "attempts": a.number,
                "next_attempt_at": a.retry_at,
                "response_code": a.status_code,
                "last_error": a.error.message if a.error else "",
                "response_snippet": (a.snippet or "")[:500],
                "duration_ms": a.duration_ms,
                "outcome": a.outcome,
                "kind": a.delivery.channel.kind,
            }
            for a in attempts
        ]
    ).decode()
    sql = RECORD_SQL.format(
        delivery=connection.ops.quote_name(Delivery._meta.db_table),
        attempt=connection.ops.quote_name(DeliveryAttempt._meta.db_table),
        count=connection.ops.quote_name(DeliveryCount._meta.db_table),
    )
    params: list[Any] = [
        document,
        now,
        DeliveryStatus.SENT,
        now,
        [a.delivery.pk for a in attempts],
        DeliveryStatus.SENDING,
        claimed_at,
        _count_shard(),
        now,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {pk for (pk,) in cursor.fetchall()}


def _outcomes_record_portable(attempts: list[Attempt], *, now: datetime, claimed_at: datetime) -> set[int]:
    rows = [a.delivery for a in attempts]
    ours = set(
        Delivery.objects.select_for_update()
        .filter(pk__in=[row.pk for row in rows], status=DeliveryStatus.SENDING, claimed_at=claimed_at)
        .values_list("pk", flat=True)
    )
    Delivery.objects.bulk_update([row for row in rows if row.pk in ours], RECORDED_FIELDS)
    DeliveryAttempt.objects.bulk_create(
        [
            DeliveryAttempt(
                delivery=a.delivery,
                number=a.number,
                at=now,
                duration_ms=a.duration_ms,
                status_code=a.status_code,
                error=a.error.message if a.error else "",
                response_snippet=(a.snippet or "")[:500],
                outcome=a.outcome,
            )
            for a in attempts
            if a.delivery.pk in ours
        ]
    )
    counts: dict[tuple[str, str], int] = {}
    for a in attempts:
        if a.delivery.pk in ours:
            key = (a.delivery.channel.kind, a.outcome)
            counts[key] = counts.get(key, 0) + 1
    sql = COUNT_UPSERT.format(count=connection.ops.quote_name(DeliveryCount._meta.db_table))
    with connection.cursor() as cursor:
        for (kind, outcome), n in sorted(counts.items()):
            cursor.execute(sql, [kind, outcome, _count_shard(), n])
    return ours


def _log(attempts: list[Attempt]) -> None:
    sent = 0
    for a in attempts:
        if a.error is None:
            sent += 1
            continue
        logger.warning(
            "delivery attempt %s",
            a.outcome,
            extra={"delivery_id": a.delivery.pk, "channel_id": a.delivery.channel_id, "attempt": a.number},
        )
    if sent:
        # DEBUG: at storm rates an INFO line a batch was a tenth of the send path's CPU; the
        # deliveries metric counts every outcome, failures are WARNINGs above.
        logger.debug("delivery attempts sent: %d", sent, extra={"sent": sent})


# -- all three -----------------------------------------------------------------------------------


def deliveries_send_claimed(rows: list[Delivery], *, claimed_at: datetime, final: bool = False) -> BatchResult:
    """Attempt and record rows already `sending` under `claimed_at`, each with its `channel` set:
    claimed here, or written claimed by the outbox for the raising task to send (steps 2 and 3)."""
    result = BatchResult()
    if not rows:
        return result
    attempts, deferred = deliveries_attempt(rows, final=final)
    recorded = attempts_record(attempts, deferred, claimed_at=claimed_at)
    for a in attempts:
        result.status[a.delivery.pk] = a.status if a.delivery.pk in recorded else "superseded"
        if a.retry_at is not None and a.delivery.pk in recorded:
            result.retry_at[a.delivery.pk] = a.retry_at
    for retry_at, deferred_rows in deferred.items():
        result.deferred[retry_at] = [row.pk for row in deferred_rows]
    return result


def deliveries_send_batch(pks: Sequence[int], *, final: bool = False) -> BatchResult:
    """Claim, attempt and record the deliveries `pks` (each at most once); see the module docstring."""
    claimed_at = timezone.now()
    rows = deliveries_claim(pks, claimed_at)
    result = deliveries_send_claimed(rows, claimed_at=claimed_at, final=final)
    claimed = {row.pk for row in rows}
    unclaimed = [pk for pk in pks if pk not in claimed]
    if unclaimed:
        current = {
            pk: (status, next_at, paused_until)
            for pk, status, next_at, paused_until in Delivery.objects.filter(pk__in=unclaimed).values_list(
                "pk", "status", "next_attempt_at", "channel__paused_until"
            )
        }
        for pk in unclaimed:
            status, next_at, paused_until = current.get(pk, ("missing", None, None))
            result.status[pk] = status
            if status == DeliveryStatus.PENDING and next_at is not None and next_at == paused_until:
                result.deferred.setdefault(next_at, []).append(pk)  # waits for its channel's pause
    return result

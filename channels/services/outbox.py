"""The outbox: delivery rows written with the change that causes them, sent after commit.

- `notification_enqueue` writes one Delivery row per channel in the caller's transaction
  (unique per source, channel and kind) and sends them after commit, one task per 50 rows.
- `delivery_send` claims a row with a conditional UPDATE (pending -> sending), makes one
  attempt through the channel's transport, and records it: sent, rescheduled with
  exponential backoff and jitter (Retry-After honoured), or failed for good.
- `deliveries_requeue` (the beat sweep) picks up rows whose retry is due and rows stuck
  in `sending` after a worker died; receivers de-duplicate by the delivery UUID.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from channels.models import Channel, Delivery, DeliveryAttempt, DeliveryStatus, NotificationKind
from channels.notification import Notification, sample_notification
from channels.services.health import channel_health_record, delivery_failure_record
from channels.transports import DeliveryError, Outgoing, transports

if TYPE_CHECKING:
    from collections.abc import Sequence

    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class NotificationOrder:
    """One notification to write to the outbox: what, to which channels, caused by what."""

    notification: Notification
    channel_ids: Sequence[int]
    source: str
    causal_depth: int = 0


def notification_enqueue(
    *, notification: Notification, channel_ids: Sequence[int], source: str, causal_depth: int = 0
) -> list[int]:
    """Write one pending delivery per enabled channel, in the caller's transaction; send after commit.

    `source` is what caused it (`alert:7`, `alert:7:2`, `match:9`): unique with channel and kind,
    so a repeated hand-over writes nothing twice.
    """
    return notifications_enqueue(
        [
            NotificationOrder(
                notification=notification, channel_ids=channel_ids, source=source, causal_depth=causal_depth
            )
        ]
    )


def notifications_enqueue(orders: Sequence[NotificationOrder]) -> list[int]:
    """`notification_enqueue` for many notifications in three statements, whatever their number:
    the enabled channels, one INSERT ... ON CONFLICT DO NOTHING of every row, the pending pks.

    The unique (source, channel, kind) key still makes a repeated hand-over write nothing twice.
    """
    wanted = {channel_id for order in orders for channel_id in order.channel_ids}
    if not wanted:
        return []
    enabled = set(Channel.objects.filter(pk__in=sorted(wanted), enabled=True).values_list("pk", flat=True))
    rows: list[Delivery] = []
    for order in orders:
        notification = order.notification
        payload = notification.as_json()
        alert_id = notification.alert.id if notification.alert is not None and notification.alert.id else None
        rows.extend(
            Delivery(
                channel_id=channel_id,
                kind=notification.kind,
                source=order.source,
                alert_id=alert_id,
                rule_id=notification.rule.id or None,
                payload=payload,
                causal_depth=order.causal_depth,
            )
            for channel_id in sorted(set(order.channel_ids) & enabled)
        )
    if not rows:
        return []
    Delivery.objects.bulk_create(rows, ignore_conflicts=True)
    keys = {(row.source, row.kind, row.channel_id) for row in rows}
    pks = [
        pk
        for pk, source, kind, channel_id in Delivery.objects.filter(
            source__in={row.source for row in rows}, channel_id__in={row.channel_id for row in rows}
        )
        .filter(status=DeliveryStatus.PENDING)
        .order_by("pk")
        .values_list("pk", "source", "kind", "channel_id")
        if (source, kind, channel_id) in keys
    ]
    if pks:
        deliveries_send_after_commit(pks)
    return pks


_pending = threading.local()
DELIVER_CHUNK = 50


def deliveries_send_after_commit(pks: list[int]) -> None:
    """Queue the rows for sending when the transaction commits: one task per 50 rows of the
    whole transaction, not one per notification (outside a transaction: now)."""
    current = transaction.get_connection()
    waiting: list[int] | None = getattr(_pending, "pks", None)
    registered = waiting is not None and any(entry[1] is _flush_pending for entry in current.run_on_commit)
    if waiting is None or not registered:
        # First notification of this transaction (or the last one rolled back): start afresh.
        waiting = _pending.pks = []
    waiting.extend(pks)
    if not registered:
        transaction.on_commit(_flush_pending)


def _flush_pending() -> None:
    from channels.tasks import deliver_task

    pks, _pending.pks = getattr(_pending, "pks", None) or [], None
    for start in range(0, len(pks), DELIVER_CHUNK):
        deliver_task.delay(pks[start : start + DELIVER_CHUNK])


def _relaxed_commit() -> None:
    """Inside a delivery's own bookkeeping transaction, don't wait for the WAL flush (PostgreSQL).

    Losing such a commit in a crash only means the sweep sends the delivery again, and
    receivers drop the duplicate by its delivery id; the outbox row itself was written
    durably with the alert.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


@dataclass(frozen=True)
class SendOutcome:
    delivery_id: int
    status: str
    retry_at: Any = None


def backoff_seconds(attempt: int, retry_after: float | None) -> float:
    """Exponential backoff with full jitter; a longer Retry-After wins; capped."""
    base = settings.ALERTSITE_DELIVERY_BACKOFF_SECONDS * (2 ** max(0, attempt - 1))
    delay = random.uniform(base / 2, base)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return min(delay, settings.ALERTSITE_DELIVERY_BACKOFF_MAX_SECONDS)


def delivery_send(*, delivery_id: int, final: bool = False) -> SendOutcome:
    """Claim the delivery and make one attempt. `final` fails it on any error (test sends)."""
    now = timezone.now()
    with transaction.atomic():
        _relaxed_commit()
        claimed = (
            Delivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING)
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            .update(status=DeliveryStatus.SENDING, claimed_at=now)
        )
    if not claimed:
        current = Delivery.objects.filter(pk=delivery_id).values_list("status", flat=True).first()
        return SendOutcome(delivery_id, current or "missing")
    delivery = Delivery.objects.select_related("channel").get(pk=delivery_id)
    channel = delivery.channel
    number = delivery.attempts + 1
    started = time.monotonic()
    sent_at = timezone.now().isoformat().replace("+00:00", "Z")
    message = Outgoing(
        delivery_id=str(delivery.uuid),
        notification=Notification.from_json(delivery.kind, delivery.payload),
        sent_at=sent_at,
    )
    error: DeliveryError | None = None
    try:
        if not channel.enabled and delivery.kind != NotificationKind.TEST:
            # A test may check a channel before it is switched on; real notifications may not.
            raise DeliveryError("The channel is disabled.", permanent=True)
        result = transports.get(channel.kind).send(
            channel, message, timeout=settings.ALERTSITE_DELIVERY_TIMEOUT_SECONDS
        )
        status_code, snippet = result.status_code, result.snippet
    except DeliveryError as exc:
        error, status_code, snippet = exc, exc.status_code, exc.snippet
    except Exception as exc:  # a bug or bad config must not leave the row in `sending`
        logger.exception("transport raised", extra={"delivery_id": delivery.pk})
        error = DeliveryError(f"{exc.__class__.__name__}: {exc}", permanent=True)
        status_code, snippet = None, ""
    duration_ms = int((time.monotonic() - started) * 1000)
    return _attempt_record(delivery, number, error, status_code, snippet, duration_ms, final=final)


@dataclass
class SendRun:
    """What one pass over a list of deliveries did: outcome counts, and what to retry when."""

    counts: dict[str, int] = dataclasses.field(default_factory=dict)
    retries: dict[Any, list[int]] = dataclasses.field(default_factory=dict)  # retry time -> delivery pks


def deliveries_send(delivery_pks: Sequence[int]) -> SendRun:
    """Attempt each delivery once, in order; once a channel fails in this pass, its remaining
    deliveries wait for that channel's retry time instead of each sitting out the same timeout
    (a dead receiver would otherwise hold a worker for timeout x deliveries). A deferral costs
    no attempt."""
    run = SendRun()
    channel_of: dict[int, int] = dict(
        Delivery.objects.filter(pk__in=list(delivery_pks)).values_list("pk", "channel_id")
    )
    failing: dict[int | None, Any] = {}  # channel id -> its retry time
    deferred: dict[Any, list[int]] = {}
    for pk in delivery_pks:
        channel_id = channel_of.get(pk)
        if channel_id in failing:
            deferred.setdefault(failing[channel_id], []).append(pk)
            run.counts["deferred"] = run.counts.get("deferred", 0) + 1
            continue
        outcome = delivery_send(delivery_id=pk)
        run.counts[outcome.status] = run.counts.get(outcome.status, 0) + 1
        if outcome.status == DeliveryStatus.PENDING and outcome.retry_at:
            failing[channel_id] = outcome.retry_at
            run.retries.setdefault(outcome.retry_at, []).append(pk)
    for retry_at, pks in deferred.items():
        # Never earlier than a retry a row already waits for (its own backoff or Retry-After).
        Delivery.objects.filter(pk__in=pks, status=DeliveryStatus.PENDING).filter(
            Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lt=retry_at)
        ).update(next_attempt_at=retry_at)
        run.retries.setdefault(retry_at, []).extend(pks)
    return run


def _attempt_record(
    delivery: Delivery,
    number: int,
    error: DeliveryError | None,
    status_code: int | None,
    snippet: str,
    duration_ms: int,
    *,
    final: bool,
) -> SendOutcome:
    now = timezone.now()
    max_attempts = 1 + settings.ALERTSITE_DELIVERY_MAX_RETRIES
    if error is None:
        outcome, status, retry_at = "sent", DeliveryStatus.SENT, None
    elif error.permanent or final or number >= max_attempts:
        outcome, status, retry_at = "failed", DeliveryStatus.FAILED, None
    else:
        outcome, status = "retry", DeliveryStatus.PENDING
        retry_at = now + timedelta(seconds=backoff_seconds(number, error.retry_after))
    with transaction.atomic():
        _relaxed_commit()
        updated = Delivery.objects.filter(
            pk=delivery.pk, status=DeliveryStatus.SENDING, claimed_at=delivery.claimed_at
        ).update(
            status=status,
            attempts=number,
            last_attempt_at=now,
            next_attempt_at=retry_at,
            sent_at=now if status == DeliveryStatus.SENT else None,
            response_code=status_code,
            last_error=error.message if error else "",
            response_snippet=(snippet or "")[:500],
            duration_ms=duration_ms,
        )
        if not updated:
            # The sweep reclaimed the row (we were too slow); its new attempt will record itself.
            return SendOutcome(delivery.pk, "superseded")
        DeliveryAttempt.objects.create(
            delivery=delivery,
            number=number,
            at=now,
            duration_ms=duration_ms,
            status_code=status_code,
            error=error.message if error else "",
            response_snippet=(snippet or "")[:500],
            outcome=outcome,
        )
        if status == DeliveryStatus.FAILED and delivery.kind != NotificationKind.TEST:
            delivery_failure_record(delivery, error, number)
    # After the commit, in a statement of its own: the channel row is shared by every
    # delivery to it, so its lock must never be held while a transaction waits on disk.
    channel_health_record(delivery.channel, ok=error is None, error=error.message if error else "", at=now)
    level = logging.INFO if error is None else logging.WARNING
    logger.log(
        level,
        "delivery attempt %s",
        outcome,
        extra={"delivery_id": delivery.pk, "channel_id": delivery.channel_id, "attempt": number},
    )
    return SendOutcome(delivery.pk, status, retry_at)


def deliveries_requeue(*, now: Any = None) -> list[int]:
    """Rows due for another attempt, and rows stuck in `sending` (a worker died mid-send)."""
    now = now or timezone.now()
    stuck_before = now - timedelta(seconds=settings.ALERTSITE_DELIVERY_TIMEOUT_SECONDS * 2 + 5)
    Delivery.objects.filter(status=DeliveryStatus.SENDING, claimed_at__lt=stuck_before).update(
        status=DeliveryStatus.PENDING, next_attempt_at=now
    )
    return list(
        Delivery.objects.filter(status=DeliveryStatus.PENDING)
        .filter(
            Q(next_attempt_at__lte=now) | Q(next_attempt_at__isnull=True, created_at__lt=now - timedelta(seconds=5))
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:5000]
    )


def delivery_retry(*, delivery: Delivery) -> Delivery:
    """Send a failed delivery again (same delivery id), with a fresh set of attempts."""
    with transaction.atomic():
        updated = Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.FAILED).update(
            status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=None, last_error=""
        )
        if updated:
            from channels.tasks import deliver_task

            transaction.on_commit(lambda: deliver_task.delay([delivery.pk]))
    delivery.refresh_from_db()
    return delivery


def channel_test(*, channel: Channel, actor: User | None) -> Delivery:
    """Send a realistic test notification now (one attempt) and return its logged delivery."""
    delivery = Delivery.objects.create(
        channel=channel,
        kind=NotificationKind.TEST,
        source=f"test:{uuid.uuid4().hex}",
        payload=sample_notification(NotificationKind.TEST).as_json(),
    )
    delivery_send(delivery_id=delivery.pk, final=True)
    delivery.refresh_from_db()
    return delivery

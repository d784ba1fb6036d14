"""The outbox: delivery rows written with the change that causes them, sent after commit.

- `notification_enqueue` writes one Delivery row per channel in the caller's transaction
  (unique per source, channel and kind) and sends them after commit, one task per 50 rows.
- `deliveries_send` / `delivery_send` claim rows with one conditional UPDATE (pending -> sending),
  make one attempt each through the channel's transport (webhooks side by side on kept
  connections), and record them per batch: sent, rescheduled with exponential backoff and
  jitter (Retry-After honoured), or failed for good (channels.services.sending).
- A worker's task that wrote at most `ALERTSITE_DELIVERY_INLINE_MAX` rows sends them itself after
  its commit; it writes them claimed (`sending`), so that send starts at step 2 of the batch.
  So does a web request (through alertsite.afterresponse), but only once its response is sent.
- `deliveries_requeue` (the beat sweep) picks up rows whose retry is due and rows stuck
  in `sending` after a worker died; receivers de-duplicate by the delivery UUID.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from alertsite import afterresponse
from alertsite.sqlbulk import insert_new_returning
from channels.models import Channel, Delivery, DeliveryStatus, NotificationKind
from channels.notification import Notification, sample_notification
from channels.services.sending import BatchResult, channels_whole, deliveries_send_batch
from channels.services.sending import deliveries_send_claimed as deliveries_send_claimed_rows
from channels.transports import transports
from events.services import AUDIT_SERVICE, actor_reference, audit_event_record

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class NotificationOrder:
    """One notification to write to the outbox: what, to which channels, caused by what."""

    notification: Notification
    channel_ids: Sequence[int]
    source: str
    causal_depth: int = 0
    # Only the channels that follow the alert's status (PagerDuty) and were sent its trigger
    # (the delivery of `trigger_source`): a move the rule does not notify about still
    # acknowledges or resolves the incident those channels opened.
    followers_only: bool = False
    trigger_source: str = ""
    # Never these: the channel a change came from is not told of it again (no loop).
    except_channel_ids: Sequence[int] = ()


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
    """`notification_enqueue` for many notifications in two statements, whatever their number:
    the enabled channels, one INSERT ... ON CONFLICT DO NOTHING RETURNING of every row (and a
    third, the pending pks, only when some rows existed already).

    The unique (source, channel, kind) key still makes a repeated hand-over write nothing twice.
    """
    wanted = {channel_id for order in orders for channel_id in order.channel_ids}
    if not wanted:
        return []
    # A few rows a worker's task will send itself right after the commit are written claimed
    # (`sending`), with their channels loaded whole: no claim transaction and no channel read then.
    claim = inline_send_fits(_waiting_count() + sum(len(order.channel_ids) for order in orders))
    channels: dict[int, Channel] = {}
    if claim:
        channels = channels_whole(sorted(wanted), enabled_only=True)
        enabled = {pk: channel.kind for pk, channel in channels.items()}
    else:
        enabled = dict(Channel.objects.filter(pk__in=sorted(wanted), enabled=True).values_list("pk", "kind"))
    triggered = _followers_triggered(orders, enabled)
    now = timezone.now()
    rows: list[Delivery] = []
    for order in orders:
        targets = (set(order.channel_ids) & enabled.keys()) - set(order.except_channel_ids)
        if order.followers_only:
            targets = {pk for pk in targets if (order.trigger_source, pk) in triggered}
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
                **(_claimed_now(channels[channel_id], notification.kind, now) if claim else {}),
            )
            for channel_id in sorted(targets)
        )
    if not rows:
        return []
    by_key = {(row.source, row.channel_id, row.kind): row for row in rows}
    written = insert_new_returning(rows, ["id", "source", "channel_id", "kind"])
    claimed: list[Delivery] = []
    pks: list[int] = []
    for pk, source, channel_id, kind in written:
        row = by_key[(source, channel_id, kind)]
        row.pk = pk
        if row.status == DeliveryStatus.SENDING:
            row.channel = channels[channel_id]
            claimed.append(row)
        else:
            pks.append(pk)
    claimed.sort(key=lambda row: row.pk)
    pks.sort()
    if len(written) < len(rows):
        # Some were written before (a repeated hand-over): those still pending are sent too.
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
    if pks or claimed:
        deliveries_send_after_commit(pks, claimed=claimed, claimed_at=now)
    return sorted([*pks, *(row.pk for row in claimed)])


def _claimed_now(channel: Channel, kind: str, now: Any) -> dict[str, Any]:
    """A row's claim when it is written (`sending` at `now`), unless its channel is paused: such a
    row waits for the pause's end like any other (the claim would defer it), no attempt spent."""
    if kind != NotificationKind.TEST and channel.paused_until is not None and channel.paused_until > now:
        return {}
    return {"status": DeliveryStatus.SENDING, "claimed_at": now}


def _followers_triggered(orders: Sequence[NotificationOrder], enabled: dict[int, str]) -> set[tuple[str, int]]:
    """(trigger source, channel) of the followers-only orders' triggers that were written: one query
    for the whole batch, none when no order needs it."""
    followers = {pk for pk, kind in enabled.items() if kind in transports and transports.get(kind).follows_alert}
    sources = {order.trigger_source for order in orders if order.followers_only and order.trigger_source}
    if not followers or not sources:
        return set()
    return set(
        Delivery.objects.filter(
            source__in=sorted(sources), channel_id__in=sorted(followers), kind=NotificationKind.ALERT_CREATED
        ).values_list("source", "channel_id")
    )


@dataclass
class _Waiting:
    """What this thread's transaction wrote to the outbox, to send after its commit."""

    pks: list[int] = dataclasses.field(default_factory=list)  # pending rows: claimed when sent
    claimed: list[Delivery] = dataclasses.field(default_factory=list)  # rows written `sending`
    claimed_at: Any = None


_pending = threading.local()
DELIVER_CHUNK = 50


def _waiting_now() -> _Waiting | None:
    """What this thread's current transaction has written for sending after its commit (None
    when nothing yet, or when what is kept belongs to a transaction that rolled back)."""
    waiting: _Waiting | None = getattr(_pending, "batch", None)
    if waiting is None or not any(entry[1] is _flush_pending for entry in transaction.get_connection().run_on_commit):
        return None
    return waiting


def _waiting_count() -> int:
    """Rows this transaction has already written for sending after its commit."""
    waiting = _waiting_now()
    return 0 if waiting is None else len(waiting.pks) + len(waiting.claimed)


def deliveries_send_after_commit(pks: list[int], *, claimed: Sequence[Delivery] = (), claimed_at: Any = None) -> None:
    """Queue the rows for sending when the transaction commits: one task per 50 rows of the
    whole transaction, not one per notification (outside a transaction: now). `claimed` rows
    (written `sending` at `claimed_at`) are sent by this thread right after the commit."""
    waiting = _waiting_now()
    registered = waiting is not None
    if waiting is None:
        # First notification of this transaction (or the last one rolled back): start afresh.
        waiting = _pending.batch = _Waiting()
    waiting.pks.extend(pks)
    if claimed:
        if waiting.claimed and waiting.claimed_at != claimed_at:
            # A second claim time in one transaction (rare): those rows are sent the usual way.
            waiting.pks.extend(row.pk for row in claimed)
            _claims_release(claimed, claimed_at)
        else:
            waiting.claimed.extend(claimed)
            waiting.claimed_at = claimed_at
    if not registered:
        transaction.on_commit(_flush_pending)


def _claims_release(rows: Sequence[Delivery], claimed_at: Any) -> None:
    """Hand rows written claimed back as pending (they will be claimed when sent)."""
    Delivery.objects.filter(
        pk__in=[row.pk for row in rows], status=DeliveryStatus.SENDING, claimed_at=claimed_at
    ).update(status=DeliveryStatus.PENDING, claimed_at=None)


def _flush_pending() -> None:
    waiting: _Waiting = getattr(_pending, "batch", None) or _Waiting()
    _pending.batch = None
    if afterresponse.responding():
        # A request's client never waits on a receiver (nor on the queue): after the response.
        afterresponse.defer(functools.partial(_waiting_send, waiting))
        return
    _waiting_send(waiting)


def _waiting_send(waiting: _Waiting) -> None:
    from channels.tasks import (
        deliver_task,
        deliveries_send_claimed_scheduling_retries,
        deliveries_send_scheduling_retries,
    )

    pks = list(waiting.pks)
    if waiting.claimed and not _sent_here(
        lambda: deliveries_send_claimed_scheduling_retries(waiting.claimed, claimed_at=waiting.claimed_at)
    ):
        # Rows still ours go back to pending and through the queue; any the failed pass
        # recorded are no longer `sending` under this claim and are left as they are.
        _claims_release(waiting.claimed, waiting.claimed_at)
        pks.extend(row.pk for row in waiting.claimed)
    if pks and inline_send_fits(len(pks)) and _sent_here(lambda: deliveries_send_scheduling_retries(pks)):
        return
    for start in range(0, len(pks), DELIVER_CHUNK):
        deliver_task.delay(pks[start : start + DELIVER_CHUNK])


# -- sending in the task that raised the alert ---------------------------------------------------


def _sent_here(send: Callable[[], SendRun]) -> bool:
    """Run one send in the raising task; False when it raised. A failed, slow or raising send
    pauses sending here for a while (inline_send_fits), so a dead receiver holds up evaluation
    once at most."""
    started = time.monotonic()
    try:
        run = send()
    except Exception:
        logger.exception("sending in the raising task failed; queueing the deliveries instead")
        _inline.paused_until = time.monotonic() + INLINE_PAUSE_SECONDS
        return False
    if set(run.counts) - {"sent"} or time.monotonic() - started > INLINE_SLOW_SECONDS:
        _inline.paused_until = time.monotonic() + INLINE_PAUSE_SECONDS
    return True


INLINE_SLOW_SECONDS = 1.0
INLINE_PAUSE_SECONDS = 60.0


class _InlineState(threading.local):
    paused_until = 0.0


_inline = _InlineState()


def inline_send_fits(count: int) -> bool:
    """Send right here instead of through the queue: one queue hop (and a task) less per alert.

    Only inside a worker's task or a web request served through alertsite.afterresponse (its
    sends wait for its response: a client never waits on a receiver), only for a few rows (a
    storm still spreads over the workers), and not for a minute after a send here failed or was
    slow (a dead receiver must not hold up evaluation more than once a minute).
    What is claimed here follows the same claim/record/retry path as a queued delivery, and
    if this process dies mid-send the sweep takes the rows back, exactly as for a task.
    """
    from celery import current_task

    if count > settings.ALERTSITE_DELIVERY_INLINE_MAX:
        return False
    if not afterresponse.deferrable():  # a request's sends go after its response: nobody waits
        if not current_task:  # a proxy: falsy outside tasks
            return False
        request = current_task.request
        if request.is_eager or request.id is None:
            return False
    return time.monotonic() >= _inline.paused_until


@dataclass(frozen=True)
class SendOutcome:
    delivery_id: int
    status: str
    retry_at: Any = None


def delivery_send(*, delivery_id: int, final: bool = False) -> SendOutcome:
    """Claim the delivery and make one attempt. `final` fails it on any error (test sends).

    A row that is not pending and due (sent, held by another worker, waiting for its retry)
    is left alone: the answer is its current status (`missing` if there is no such row).
    """
    result = deliveries_send_batch([delivery_id], final=final)
    return SendOutcome(delivery_id, result.status[delivery_id], result.retry_at.get(delivery_id))


@dataclass
class SendRun:
    """What one pass over a list of deliveries did: outcome counts, and what to retry when."""

    counts: dict[str, int] = dataclasses.field(default_factory=dict)
    retries: dict[Any, list[int]] = dataclasses.field(default_factory=dict)  # retry time -> delivery pks


def deliveries_send(delivery_pks: Sequence[int]) -> SendRun:
    """Attempt each delivery once (channels.services.sending: claimed, sent and recorded per batch);
    once a channel fails in this pass, its remaining deliveries wait for that channel's retry time
    instead of each sitting out the same timeout (a dead receiver would otherwise hold a worker
    for timeout x deliveries). A deferral costs no attempt."""
    return _send_run(delivery_pks, deliveries_send_batch(delivery_pks))


def deliveries_send_claimed(rows: Sequence[Delivery], *, claimed_at: Any) -> SendRun:
    """`deliveries_send` for rows the outbox wrote claimed (`sending` at `claimed_at`)."""
    return _send_run([row.pk for row in rows], deliveries_send_claimed_rows(list(rows), claimed_at=claimed_at))


def _send_run(delivery_pks: Sequence[int], result: BatchResult) -> SendRun:
    run = SendRun()
    deferred = {pk for pks in result.deferred.values() for pk in pks}
    for pk in delivery_pks:
        status = "deferred" if pk in deferred else result.status.get(pk, "missing")
        run.counts[status] = run.counts.get(status, 0) + 1
    for pk, retry_at in result.retry_at.items():
        run.retries.setdefault(retry_at, []).append(pk)
    for retry_at, pks in result.deferred.items():
        run.retries.setdefault(retry_at, []).extend(pks)
    return run


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


def channel_page_url(channel: Channel) -> str:
    """The channel's delivery log in the console, absolute: where a test notification links to
    (it is about the channel, and no alert exists to link to)."""
    path = reverse("console-channel-deliveries", args=[channel.pk])
    return settings.ALERTSITE_BASE_URL.rstrip("/") + path


def channel_resume(*, channel: Channel, actor: User | None) -> list[int]:
    """End a channel's pause now (an admin's call): what waited for it is due at once and queued.

    Every pending delivery of the channel waiting for a later time is made due, its own backoff
    included: resuming means "try this receiver again now". Recorded in the event log when the
    channel was paused. Returns the pks made due.
    """
    now = timezone.now()
    with transaction.atomic():
        paused = (
            Channel.objects.select_for_update().filter(pk=channel.pk).values_list("paused_until", flat=True).first()
        )
        Channel.objects.filter(pk=channel.pk).update(paused_until=None)
        if paused is not None and paused > now:
            audit_event_record(
                event_type="notification_channel_update",
                service=AUDIT_SERVICE,
                initiated_by=actor_reference(actor),
                resource={"type": f"{channel.kind}_channel", "id": str(channel.pk), "name": channel.name},
                changes=[{"field": "paused_until", "from": paused.isoformat(), "to": None}],
            )
        waiting = list(
            Delivery.objects.filter(channel_id=channel.pk, status=DeliveryStatus.PENDING, next_attempt_at__gt=now)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        Delivery.objects.filter(pk__in=waiting).update(next_attempt_at=now)
        if waiting:
            from channels.tasks import deliver_task

            chunks = [waiting[start : start + 100] for start in range(0, len(waiting), 100)]
            transaction.on_commit(lambda: [deliver_task.delay(chunk) for chunk in chunks])
    channel.paused_until = None
    return waiting


def channel_test(*, channel: Channel, actor: User | None) -> Delivery:
    """Send a realistic test notification now (one attempt) and return its logged delivery."""
    delivery = Delivery.objects.create(
        channel=channel,
        kind=NotificationKind.TEST,
        source=f"test:{uuid.uuid4().hex}",
        payload=sample_notification(NotificationKind.TEST, url=channel_page_url(channel)).as_json(),
    )
    delivery_send(delivery_id=delivery.pk, final=True)
    delivery.refresh_from_db()
    return delivery

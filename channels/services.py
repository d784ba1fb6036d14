"""Channels services: configuration changes, the delivery outbox and its sending.

- `notification_enqueue` writes one Delivery row per channel in the caller's transaction
  (unique per source, channel and kind) and sends them after commit.
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
from django.db.models import F, Q
from django.utils import timezone

from alertsite.crypto import MASK
from alertsite.errors import FieldErrors
from channels.models import Channel, Delivery, DeliveryAttempt, DeliveryStatus, NotificationKind
from channels.transports import ConfigError, DeliveryError, Outgoing, transports
from events.services import AUDIT_SERVICE, actor_reference, audit_event_record

if TYPE_CHECKING:
    from collections.abc import Sequence

    from django.contrib.auth.models import AbstractBaseUser

logger = logging.getLogger(__name__)

MAX_NAME = 100


# -- configuration --------------------------------------------------------------------


class ChannelValidationError(FieldErrors):
    """Problems with a channel: path of each bad field -> message."""


def channel_validate(data: dict[str, Any], *, instance: Channel | None = None) -> dict[str, Any]:
    """Check name, kind, enabled and the kind's config; return values ready to store (secrets sealed)."""
    errors: dict[str, str] = {}
    for unknown in sorted(set(data) - {"kind", "name", "enabled", "config"}):
        errors[unknown] = "Unknown field."
    kind = data.get("kind", instance.kind if instance else None)
    if instance is not None and kind != instance.kind:
        errors["kind"] = "The kind of a channel cannot change; create a new channel."
    elif kind not in transports:
        errors["kind"] = f"Must be one of {', '.join(transports.keys())}."
    name = data.get("name", instance.name if instance else None)
    if not isinstance(name, str) or not name.strip():
        errors["name"] = "This field is required."
    elif len(name.strip()) > MAX_NAME:
        errors["name"] = f"At most {MAX_NAME} characters."
    else:
        name = name.strip()
        clash = Channel.objects.filter(name__iexact=name)
        if instance is not None:
            clash = clash.exclude(pk=instance.pk)
        if clash.exists():
            errors["name"] = f"A channel named {name!r} already exists."
    enabled = data.get("enabled", instance.enabled if instance else True)
    if not isinstance(enabled, bool):
        errors["enabled"] = "Must be true or false."
    config: dict[str, Any] = {}
    if instance is not None and "config" not in data:
        # Unchanged config is not re-checked: a channel whose host has since become forbidden
        # (ALERTSITE_WEBHOOK_ALLOW_PRIVATE switched off, say) can still be renamed or disabled.
        config = instance.config
    elif kind in transports and "kind" not in errors:
        raw = data.get("config")
        try:
            config = transports.get(kind).config_clean(raw, instance.config if instance else None)
        except ConfigError as exc:
            errors.update(exc.errors)
    if errors:
        raise ChannelValidationError(errors)
    return {"kind": kind, "name": name, "enabled": enabled, "config": config}


def channel_public(channel: Channel) -> dict[str, Any]:
    return transports.get(channel.kind).config_public(channel.config)


def _audit_resource(channel: Channel) -> dict[str, Any]:
    return {"type": f"{channel.kind}_channel", "id": str(channel.pk), "name": channel.name}


def _masked_changes(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """Changed fields, with every secret shown as *** (never written to logs or audit events)."""
    changes = []
    for field in ("name", "enabled", "config"):
        if before.get(field) != after.get(field):
            changes.append({"field": field, "from": _mask(before.get(field)), "to": _mask(after.get(field))})
    return changes


def _mask(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _mask(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_mask(item) for item in value]
    return "***" if value == MASK else value


def channel_create(*, data: dict[str, Any], actor: AbstractBaseUser | None) -> Channel:
    values = channel_validate(data)
    with transaction.atomic():
        channel = Channel.objects.create(**values)
        audit_event_record(
            event_type="notification_channel_create",
            service=AUDIT_SERVICE,
            initiated_by=actor_reference(actor),
            resource=_audit_resource(channel),
            changes=_masked_changes(
                {}, {"name": channel.name, "enabled": channel.enabled, "config": channel_public(channel)}
            ),
        )
    return channel


def channel_update(*, channel: Channel, data: dict[str, Any], actor: AbstractBaseUser | None) -> Channel:
    with transaction.atomic():
        channel = Channel.objects.select_for_update().get(pk=channel.pk)
        before = {"name": channel.name, "enabled": channel.enabled, "config": channel_public(channel)}
        values = channel_validate(data, instance=channel)
        for field in ("name", "enabled", "config"):
            setattr(channel, field, values[field])
        channel.save(update_fields=["name", "enabled", "config", "updated_at"])
        after = {"name": channel.name, "enabled": channel.enabled, "config": channel_public(channel)}
        changes = _masked_changes(before, after)
        config_listed = "config" in {change["field"] for change in changes}
        if not config_listed and _secrets_sent(data.get("config")):
            # Secrets may have changed behind their masks: say so without showing them.
            changes.append({"field": "config", "from": "***", "to": "***"})
        if changes:
            audit_event_record(
                event_type="notification_channel_update",
                service=AUDIT_SERVICE,
                initiated_by=actor_reference(actor),
                resource=_audit_resource(channel),
                changes=changes,
            )
    return channel


def _secrets_sent(config: Any) -> bool:
    if not isinstance(config, dict):
        return False
    auth = config.get("auth") or {}
    values = [config.get("secret"), auth.get("password"), auth.get("token")]
    values += [h.get("value") for h in config.get("headers") or [] if isinstance(h, dict) and h.get("sensitive")]
    values += [row.get("value") for row in config.get("url_secrets") or [] if isinstance(row, dict)]
    return any(isinstance(value, str) and value and value != MASK for value in values)


class ChannelInUse(Exception):
    def __init__(self, rule_names: list[str]) -> None:
        super().__init__(
            "The channel is used by rules: "
            + ", ".join(rule_names[:10])
            + ("…" if len(rule_names) > 10 else "")
            + ". Remove it from them first, or disable the channel."
        )
        self.rule_names = rule_names


def channel_delete(*, channel: Channel, actor: AbstractBaseUser | None) -> None:
    """Delete a channel no rule uses; refuse (ChannelInUse) otherwise, so no rule silently loses its channel."""
    with transaction.atomic():
        users = list(channel.rules.order_by("name").values_list("name", flat=True))
        if users:
            raise ChannelInUse(users)
        resource = _audit_resource(channel)
        channel.delete()
        audit_event_record(
            event_type="notification_channel_delete",
            service=AUDIT_SERVICE,
            initiated_by=actor_reference(actor),
            resource=resource,
        )


# -- the outbox -----------------------------------------------------------------------


def notification_enqueue(
    *,
    kind: str,
    channel_ids: Sequence[int],
    payload: dict[str, Any],
    source: str,
    alert_id: int | None = None,
    rule_id: int | None = None,
    causal_depth: int = 0,
) -> list[int]:
    """Write one pending delivery per enabled channel, in the caller's transaction; send after commit."""
    channels = list(Channel.objects.filter(pk__in=list(channel_ids), enabled=True).values_list("pk", flat=True))
    if not channels:
        return []
    Delivery.objects.bulk_create(
        [
            Delivery(
                channel_id=channel_id,
                kind=kind,
                source=source,
                alert_id=alert_id,
                rule_id=rule_id,
                payload=payload,
                causal_depth=causal_depth,
            )
            for channel_id in channels
        ],
        ignore_conflicts=True,
    )
    pks = list(
        Delivery.objects.filter(
            source=source, kind=kind, channel_id__in=channels, status=DeliveryStatus.PENDING
        ).values_list("pk", flat=True)
    )
    if pks:
        deliveries_send_after_commit(pks)
    return pks


_pending = threading.local()
DELIVER_CHUNK = 50


def deliveries_send_after_commit(pks: list[int]) -> None:
    """Queue the rows for sending when the transaction commits: one task per 50 rows of the
    whole transaction, not one per notification (outside a transaction: now)."""
    current = transaction.get_connection()
    waiting = getattr(_pending, "pks", None)
    registered = waiting is not None and any(entry[1] is _flush_pending for entry in current.run_on_commit)
    if not registered:
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


def envelope_for(delivery: Delivery, *, sent_at: str) -> dict[str, Any]:
    """The body of every notification (api.md, "Outgoing webhook").

    Status notifications (`alert.acknowledged`, `alert.resolved`) carry `alert.transition`
    (who, when, remark); one queued before transitions were recorded carries it as null.
    """
    payload = delivery.payload or {}
    envelope: dict[str, Any] = {
        "version": "1",
        "type": delivery.kind,
        "sent_at": sent_at,
        "delivery_id": str(delivery.uuid),
    }
    alert = payload.get("alert")
    if alert is not None:
        alert = {**alert, "url": f"{settings.ALERTSITE_BASE_URL.rstrip('/')}/insights/alerts/{alert.get('id')}/"}
        if delivery.kind in (NotificationKind.ALERT_ACKNOWLEDGED, NotificationKind.ALERT_RESOLVED):
            alert.setdefault("transition", None)
        envelope["alert"] = alert
    if "rule" in payload and alert is None:
        envelope["rule"] = payload["rule"]
    envelope["event"] = payload.get("event")
    return envelope


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
        delivery_id=str(delivery.uuid), kind=delivery.kind, envelope=envelope_for(delivery, sent_at=sent_at)
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
    channel_of = dict(Delivery.objects.filter(pk__in=list(delivery_pks)).values_list("pk", "channel_id"))
    failing: dict[int, Any] = {}  # channel id -> its retry time
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
            _failure_record(delivery, error, number)
    # After the commit, in a statement of its own: the channel row is shared by every
    # delivery to it, so its lock must never be held while a transaction waits on disk.
    _channel_health(delivery.channel, ok=error is None, error=error.message if error else "", at=now)
    level = logging.INFO if error is None else logging.WARNING
    logger.log(
        level,
        "delivery attempt %s",
        outcome,
        extra={"delivery_id": delivery.pk, "channel_id": delivery.channel_id, "attempt": number},
    )
    return SendOutcome(delivery.pk, status, retry_at)


HEALTH_REFRESH = timedelta(seconds=5)


def _channel_health(channel: Channel, *, ok: bool, error: str, at: Any) -> None:
    if ok:
        healthy = channel.consecutive_failures == 0 and not channel.last_error
        if healthy and channel.last_success_at and at - channel.last_success_at < HEALTH_REFRESH:
            return  # nothing new to say; skip the write on a busy channel
        Channel.objects.filter(pk=channel.pk).update(
            last_delivery_at=at, last_success_at=at, consecutive_failures=0, last_error=""
        )
    else:
        Channel.objects.filter(pk=channel.pk).update(
            last_delivery_at=at, last_error=error[:500], consecutive_failures=F("consecutive_failures") + 1
        )


def _failure_record(delivery: Delivery, error: DeliveryError | None, attempts: int) -> None:
    """`notification_delivery_failed`, one causal step deeper than the alert's trigger (loop guard)."""
    channel = delivery.channel
    audit_event_record(
        event_type="notification_delivery_failed",
        service=AUDIT_SERVICE,
        initiated_by=actor_reference(None),
        resource={"type": f"{channel.kind}_channel", "id": str(channel.pk), "name": channel.name},
        success=False,
        causal_depth=delivery.causal_depth + 1,
        extra={
            "error_message": error.message if error else "",
            "http_status": error.status_code if error else None,
            "attempts": attempts,
            "delivery_id": str(delivery.uuid),
            "notification_type": delivery.kind,
            "correlation": {"id": str(delivery.alert_id or ""), "type": "alert"},
        },
    )


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


TEST_PAYLOAD = {
    "alert": {
        "id": 0,
        "reference": "ALR-000000",
        "status": "open",
        "priority": "high",
        "title": "Test notification: ana@example.com from 203.0.113.7",
        "event_count": 1,
        "rule": {"id": 0, "name": "Test rule"},
    },
    "event": {
        "id": "test-event",
        "event_type": "admin_login_attempt",
        "service": "directory",
        "timestamp": "2025-03-02T09:16:41.077Z",
        "initiated_by": {"type": "admin", "email": "ana@example.com"},
        "client_ip": "203.0.113.7",
        "geoip": {"country_code": "US"},
        "success": False,
        "error_message": "invalid credentials",
    },
}


def channel_test(*, channel: Channel, actor: AbstractBaseUser | None) -> Delivery:
    """Send a realistic test notification now (one attempt) and return its logged delivery."""
    delivery = Delivery.objects.create(
        channel=channel, kind=NotificationKind.TEST, source=f"test:{uuid.uuid4().hex}", payload=TEST_PAYLOAD
    )
    delivery_send(delivery_id=delivery.pk, final=True)
    delivery.refresh_from_db()
    return delivery

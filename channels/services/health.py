"""Channel health, kept on the channel row, and the audit event of a delivery that failed for good."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.db.models import F

from channels.models import Channel
from events.services import AUDIT_SERVICE, actor_reference, audit_event_record

if TYPE_CHECKING:
    from channels.models import Delivery
    from channels.transports import DeliveryError

HEALTH_REFRESH = timedelta(seconds=5)


def channel_health_record(channel: Channel, *, ok: bool, error: str, at: Any) -> None:
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


def channel_health_batch_record(channel: Channel, outcomes: list[tuple[bool, str]], *, at: Any) -> None:
    """Health after a batch of attempts, in one write: as if `channel_health_record` ran for each
    outcome in turn (a success resets the failure count, each later failure adds one)."""
    if not outcomes:
        return
    successes = [index for index, (ok, _) in enumerate(outcomes) if ok]
    if not successes:
        Channel.objects.filter(pk=channel.pk).update(
            last_delivery_at=at,
            last_error=outcomes[-1][1][:500],
            consecutive_failures=F("consecutive_failures") + len(outcomes),
        )
        return
    failures_after = [error for ok, error in outcomes[successes[-1] + 1 :] if not ok]
    if not failures_after:
        channel_health_record(channel, ok=True, error="", at=at)
        return
    Channel.objects.filter(pk=channel.pk).update(
        last_delivery_at=at,
        last_success_at=at,
        last_error=failures_after[-1][:500],
        consecutive_failures=len(failures_after),
    )


def delivery_failure_record(delivery: Delivery, error: DeliveryError | None, attempts: int) -> None:
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

"""Channel health, kept on the channel row, and the audit event of a delivery that failed for good."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

from django.conf import settings
from django.db.models import Case, F, Value, When
from django.utils import timezone

from channels.models import Channel
from events.services import AUDIT_SERVICE, actor_reference, audit_event_record

if TYPE_CHECKING:
    from channels.models import Delivery
    from channels.transports import DeliveryError

HEALTH_REFRESH = timedelta(seconds=5)


class Outcome(NamedTuple):
    """One attempt as channel health sees it: did it get through, why not, and when the delivery retries."""

    ok: bool
    error: str = ""
    retry_at: datetime | None = None  # set for a transient failure that will be retried
    throttled: bool = False  # the receiver answered 429 Too Many Requests


def pause_after_failures() -> int:
    return max(1, settings.ALERTSITE_CHANNEL_PAUSE_AFTER_FAILURES)


def paused_until(channel: Channel, now: datetime | None = None) -> datetime | None:
    """When the channel's pause ends, or None when it is not paused (a past pause is over)."""
    until = channel.paused_until
    return until if until is not None and until > (now or timezone.now()) else None


def health_state(channel: Channel) -> str:
    """One word for lists and the API: paused, failing, ok, or unused (never sent anything)."""
    if paused_until(channel) is not None:
        return "paused"
    if channel.consecutive_failures:
        return "failing"
    return "ok" if channel.last_delivery_at else "unused"


def channel_health_record(channel: Channel, *, ok: bool, error: str, at: Any) -> None:
    if ok:
        healthy = channel.consecutive_failures == 0 and not channel.last_error and channel.paused_until is None
        if healthy and channel.last_success_at and at - channel.last_success_at < HEALTH_REFRESH:
            return  # nothing new to say; skip the write on a busy channel
        Channel.objects.filter(pk=channel.pk).update(
            last_delivery_at=at, last_success_at=at, consecutive_failures=0, last_error="", paused_until=None
        )
    else:
        Channel.objects.filter(pk=channel.pk).update(
            last_delivery_at=at, last_error=error[:500], consecutive_failures=F("consecutive_failures") + 1
        )


def _pause(failures: list[Outcome], *, count_before: Any) -> Any:
    """What `paused_until` becomes after these trailing failures (an expression or a value).

    A 429 pauses the channel at once; other transient failures once the channel has failed
    `ALERTSITE_CHANNEL_PAUSE_AFTER_FAILURES` times in a row. The pause lasts until the latest
    retry time among them (Retry-After honoured), so no delivery of the channel goes out before
    the one that was told to wait. Permanent failures have no retry time and pause nothing.
    """
    retries = [o.retry_at for o in failures if o.retry_at is not None]
    if not retries:
        return F("paused_until")
    until = max(retries)
    if any(o.throttled for o in failures if o.retry_at is not None):
        return until
    needed = pause_after_failures() - len(failures)
    if isinstance(count_before, int):
        return until if count_before >= needed else F("paused_until")
    return Case(When(consecutive_failures__gte=needed, then=Value(until)), default=F("paused_until"))


def channel_health_batch_record(channel: Channel, outcomes: list[Outcome], *, at: Any) -> None:
    """Health after a batch of attempts, in one write: as if `channel_health_record` ran for each
    outcome in turn (a success resets the failure count, each later failure adds one), and the
    channel paused until its retry time after a 429 or repeated failures (`_pause`)."""
    if not outcomes:
        return
    successes = [index for index, outcome in enumerate(outcomes) if outcome.ok]
    if not successes:
        Channel.objects.filter(pk=channel.pk).update(
            last_delivery_at=at,
            last_error=outcomes[-1].error[:500],
            paused_until=_pause(outcomes, count_before=F("consecutive_failures")),
            consecutive_failures=F("consecutive_failures") + len(outcomes),
        )
        return
    failures_after = [outcome for outcome in outcomes[successes[-1] + 1 :] if not outcome.ok]
    if not failures_after:
        channel_health_record(channel, ok=True, error="", at=at)
        return
    paused = _pause(failures_after, count_before=0)
    Channel.objects.filter(pk=channel.pk).update(
        last_delivery_at=at,
        last_success_at=at,
        last_error=failures_after[-1].error[:500],
        consecutive_failures=len(failures_after),
        paused_until=None if isinstance(paused, F) else paused,
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

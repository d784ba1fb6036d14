"""Every write to channels, by job: configuration (`config`), the outbox (`outbox`), health (`health`).

Callers import from `channels.services`; the modules behind it each do one job.
"""

from __future__ import annotations

from channels.services.config import (
    MAX_NAME,
    ChannelInUse,
    ChannelValidationError,
    channel_create,
    channel_delete,
    channel_public,
    channel_update,
    channel_validate,
)
from channels.services.health import channel_health_record, delivery_failure_record, health_state, paused_until
from channels.services.outbox import (
    DELIVER_CHUNK,
    NotificationOrder,
    SendOutcome,
    SendRun,
    channel_resume,
    channel_test,
    deliveries_requeue,
    deliveries_send,
    deliveries_send_after_commit,
    deliveries_send_claimed,
    delivery_retry,
    delivery_send,
    notification_enqueue,
    notifications_enqueue,
)
from channels.services.preview import PreviewError, channel_preview
from channels.services.sending import backoff_seconds

__all__ = [
    "DELIVER_CHUNK",
    "MAX_NAME",
    "ChannelInUse",
    "ChannelValidationError",
    "NotificationOrder",
    "PreviewError",
    "SendOutcome",
    "SendRun",
    "backoff_seconds",
    "channel_create",
    "channel_delete",
    "channel_health_record",
    "channel_preview",
    "channel_public",
    "channel_resume",
    "channel_test",
    "channel_update",
    "channel_validate",
    "deliveries_requeue",
    "deliveries_send",
    "deliveries_send_after_commit",
    "deliveries_send_claimed",
    "delivery_failure_record",
    "delivery_retry",
    "delivery_send",
    "health_state",
    "notification_enqueue",
    "notifications_enqueue",
    "paused_until",
]

"""Notification channels, the delivery outbox and its attempt log.

`channels` delivers the typed notification it is handed (channels.notification) and knows
neither rules nor alerts: the foreign keys to them are string references, kept only so
deliveries can be filtered and linked.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from alertsite.fields import FastJSONField


def channel_kinds() -> list[tuple[str, str]]:
    """The kinds of channel: one per registered transport, so the database, API, admin and
    console offer exactly the transports that exist (adding one needs no migration)."""
    from channels.transports import transports

    return transports.choices()


class ChannelKind(models.TextChoices):
    """Names for the built-in kinds, for code that must tell them apart (the console's tabs)."""

    EMAIL = "email", "Email"
    WEBHOOK = "webhook", "Webhook"
    SLACK = "slack", "Slack"
    TEAMS = "teams", "Microsoft Teams"
    PAGERDUTY = "pagerduty", "PagerDuty"


class Channel(models.Model):
    kind = models.CharField(max_length=20, choices=channel_kinds)
    name = models.CharField(max_length=100)
    enabled = models.BooleanField(default=True)
    config = models.JSONField(default=dict, blank=True, help_text="Per-kind settings; secrets are encrypted.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Health, kept on the row so lists show it without joins.
    last_delivery_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, default="")
    consecutive_failures = models.PositiveIntegerField(default=0)
    # After a 429 or repeated failures the whole channel waits until its retry time: no delivery
    # of it is claimed before then (channels.services.sending), whichever worker holds it.
    paused_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(Lower("name"), name="channel_name_unique_ci")]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    @property
    def paused(self) -> bool:
        """Whether the channel is waiting out a 429 or repeated failures right now."""
        return self.paused_until is not None and self.paused_until > timezone.now()


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class NotificationKind(models.TextChoices):
    ALERT_CREATED = "alert.created", "Alert created"
    ALERT_ACKNOWLEDGED = "alert.acknowledged", "Alert acknowledged"
    ALERT_RESOLVED = "alert.resolved", "Alert resolved"
    ALERT_REMINDER = "alert.reminder", "Alert reminder"
    ALERT_ESCALATED = "alert.escalated", "Alert escalated"
    EVENT_MATCHED = "event.matched", "Event matched"
    TEST = "test", "Test"


class Delivery(models.Model):
    """One notification to one channel: the outbox row, written with the change that causes it."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # No index of their own: delivery_channel_idx leads with the channel, delivery_alert_idx is the alert's.
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="deliveries", db_index=False)
    kind = models.CharField(max_length=24, choices=NotificationKind.choices)
    source = models.CharField(max_length=120, help_text="What caused it, e.g. alert:7; unique with channel and kind.")
    alert = models.ForeignKey(
        "alerts.Alert", null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries", db_index=False
    )
    rule = models.ForeignKey("rules.Rule", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    payload = FastJSONField(default=dict)
    causal_depth = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, default="")
    response_snippet = models.CharField(max_length=500, blank=True, default="")
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "channel", "kind"], name="delivery_once_per_source"),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due_idx"),
            models.Index(fields=["channel", "-created_at"], name="delivery_channel_idx"),
            models.Index(fields=["alert"], name="delivery_alert_idx"),
        ]
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        return f"{self.kind} to {self.channel_id} ({self.status})"


class DeliveryAttempt(models.Model):
    """One try at sending a delivery: when, how long, what came back."""

    delivery = models.ForeignKey(  # delivery_attempt_idx leads with it
        Delivery, on_delete=models.CASCADE, related_name="attempt_log", db_index=False
    )
    number = models.PositiveSmallIntegerField()
    at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True, default="")
    response_snippet = models.CharField(max_length=500, blank=True, default="")
    outcome = models.CharField(max_length=10)  # sent | retry | failed

    class Meta:
        ordering = ["delivery", "number"]
        indexes = [models.Index(fields=["delivery", "number"], name="delivery_attempt_idx")]

    def __str__(self) -> str:
        return f"{self.delivery_id}#{self.number} {self.outcome}"


class DeliveryCount(models.Model):
    """Delivery attempts so far by channel kind and outcome, in a few shard rows: the counter behind
    the `alertsite_deliveries_total` metric, read at scrape time without counting the attempt log.

    Added to by the statement that records a batch's attempts (channels.services.sending), so it
    is exact across worker processes; shards so concurrent batches rarely wait on one row's lock.
    """

    SHARDS = 16

    kind = models.CharField(max_length=20, help_text="The channel's kind: email, webhook, ...")
    outcome = models.CharField(max_length=10, help_text="sent | retry | failed, as in the attempt log.")
    shard = models.PositiveSmallIntegerField()
    attempts = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "outcome", "shard"], name="delivery_count_kind_outcome_shard")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.outcome} shard {self.shard}: {self.attempts}"

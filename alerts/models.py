"""Alerts, the events that joined them, their status history and notes."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from alerts.maintenance import MUTE_ALERTS, MUTE_NOTIFICATIONS, WindowSpec
from alerts.states import AlertStatus
from alertsite.ids import id_or_none
from alertsite.priority import Priority
from alertsite.snooze import snooze_active

REFERENCE_PREFIX = "ALR-"


class AlertCategory(models.TextChoices):
    """The vendor's alert categories: the Directory Insights service of the triggering event."""

    DIRECTORY = "directory", "Directory"
    SSO = "sso", "SSO"
    RADIUS = "radius", "RADIUS"
    LDAP = "ldap", "LDAP"
    DEVICES = "devices", "Devices"
    MDM = "mdm", "MDM"
    PASSWORD_MANAGER = "password_manager", "Password Manager"
    SOFTWARE = "software", "Software"
    OBJECT_STORAGE = "object_storage", "Object Storage"
    SAAS_MANAGEMENT = "saas_management", "SaaS Management"
    ACCESS_MANAGEMENT = "access_management", "Access Management"
    ALERTS = "alerts", "Alerts"
    OTHER = "other", "Other"


class AlertSourceType(models.TextChoices):
    """What an alert is about (spec 5.1 `source_type`)."""

    USER = "user", "User"
    DEVICE = "device", "Device"


class Alert(models.Model):
    """An alert raised by a rule. Status changes only through alerts.services.alert_transition.

    `rule` is a string reference kept for filtering and links; alerts never reads the rule row.
    """

    # Foreign keys a composite index leads with (rule, assignee) or that are mostly empty (the
    # partial indexes below) get no index of their own: each is one less index entry per alert.
    rule = models.ForeignKey(
        "rules.Rule", null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts", db_index=False
    )
    rule_name = models.CharField(max_length=100, help_text="The rule's name when the alert was raised.")
    priority = models.CharField(max_length=10, choices=Priority.choices)
    status = models.CharField(max_length=12, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    title = models.CharField(max_length=300)
    category = models.CharField(max_length=32, choices=AlertCategory.choices, blank=True, default="")
    source_type = models.CharField(max_length=10, choices=AlertSourceType.choices, blank=True, default="")
    source_id = models.CharField(max_length=255, blank=True, default="")
    event = models.ForeignKey(
        "events.AuditEvent", null=True, blank=True, on_delete=models.SET_NULL, related_name="triggered_alerts"
    )
    event_type = models.CharField(max_length=100)
    event_count = models.PositiveIntegerField(default=1)
    group_key = models.CharField(max_length=40, blank=True, default="")
    # Why the rule's detection counted the match (api.md section 12): "first time in 30 days: ..." or
    # "step 1 (...) at ..., step 2 (...) at ..."; empty for rules without a detection.
    explanation = models.CharField(max_length=1000, blank=True, default="")
    # True while new matches of the same group key may join this alert (grouping, thresholds).
    collecting = models.BooleanField(default=False)
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    created_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_alerts",
        db_index=False,
    )
    seconds_to_acknowledge = models.PositiveIntegerField(null=True, blank=True)
    seconds_to_resolve = models.PositiveIntegerField(null=True, blank=True)
    causal_depth = models.PositiveSmallIntegerField(default=0)
    # From the rule's policy (alerts.policy), so later moves never look the rule up:
    # where and whether acknowledgement/resolution is told, and whether its group collects.
    notify_channel_ids = models.JSONField(default=list, blank=True)
    notify_on_acknowledge = models.BooleanField(default=False)
    notify_on_resolve = models.BooleanField(default=False)
    grouped = models.BooleanField(default=False)
    # Reminders and escalation (alerts.services.reminders), from the rule's policy too. The next
    # reminder/escalation times are stored so the periodic job finds due alerts with one indexed query.
    remind_every_minutes = models.PositiveIntegerField(null=True, blank=True)
    remind_max = models.PositiveSmallIntegerField(default=0)
    reminders_sent = models.PositiveSmallIntegerField(default=0)
    next_reminder_at = models.DateTimeField(null=True, blank=True)
    escalation_channel_ids = models.JSONField(default=list, blank=True)
    escalation_after_minutes = models.PositiveIntegerField(null=True, blank=True)
    escalate_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    # While snoozed_until is ahead the alert keeps its status but leaves the bell and the widget
    # (counted as snoozed); a periodic job ends the snooze and brings it back.
    snoozed_until = models.DateTimeField(null=True, blank=True)
    snoozed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    snooze_note = models.CharField(max_length=500, blank=True, default="")
    # The maintenance window (mute=notifications) inside which the alert was raised: nothing is
    # sent for it while that window is open (alerts.services.maintenance).
    suppressed_by = models.ForeignKey(
        "alerts.MaintenanceWindow",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="suppressed_alerts",
        db_index=False,
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "group_key"],
                condition=Q(collecting=True) & Q(status__in=["open", "acknowledged"]) & ~Q(group_key=""),
                name="alert_one_collecting_per_group",
            )
        ]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="alert_newest_idx"),
            models.Index(fields=["status", "-created_at", "-id"], name="alert_status_newest_idx"),
            # The summary and the bell count by status and priority, leaving snoozed alerts out:
            # with snoozed_until in the index PostgreSQL answers from the index alone.
            models.Index(fields=["status", "priority", "snoozed_until"], name="alert_status_prio_snooze_idx"),
            models.Index(fields=["rule", "status"], name="alert_rule_status_idx"),
            # Who acknowledged, resolved or snoozed, and which window suppressed, are empty on most
            # alerts: partial indexes serve a user's or a window's deletion without an entry per alert.
            *(
                models.Index(fields=[name], condition=Q(**{f"{name}__isnull": False}), name=f"alert_{name}_idx")
                for name in ("acknowledged_by", "resolved_by", "snoozed_by", "suppressed_by")
            ),
            models.Index(fields=["assignee", "status"], name="alert_assignee_status_idx"),
            models.Index(fields=["resolved_at"], name="alert_resolved_at_idx"),
            # Alert Metrics aggregates a period of alerts from this index alone (an index-only scan).
            models.Index(
                fields=["created_at"],
                include=[
                    "priority",
                    "rule",
                    "rule_name",
                    "category",
                    "source_type",
                    "seconds_to_acknowledge",
                    "seconds_to_resolve",
                ],
                name="alert_metrics_cover_idx",
            ),
            models.Index(fields=["next_reminder_at"], condition=Q(status="open"), name="alert_reminder_due_idx"),
            models.Index(fields=["escalate_at"], condition=Q(status="open"), name="alert_escalation_due_idx"),
            models.Index(
                fields=["snoozed_until"], name="alert_snoozed_until_idx", condition=Q(snoozed_until__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    @property
    def reference(self) -> str:
        return reference_for(self.pk)

    @property
    def snoozed(self) -> bool:
        """Whether the snooze still runs (one whose time passed counts as over before the job clears it)."""
        return snooze_active(self.snoozed_until, timezone.now())


def reference_for(pk: int | None) -> str:
    return f"{REFERENCE_PREFIX}{pk or 0:06d}"


def reference_parse(text: str) -> int | None:
    """`ALR-000123` (any case, zero padding optional) -> 123; None when it isn't a reference."""
    text = text.strip().upper()
    return id_or_none(text[len(REFERENCE_PREFIX) :]) if text.startswith(REFERENCE_PREFIX) else None


class AlertEvent(models.Model):
    """An event that raised or joined an alert (grouping): a relation, not a copied list."""

    alert = models.ForeignKey(
        Alert, on_delete=models.CASCADE, related_name="alert_events", db_index=False
    )  # alert_event_once leads with it
    event = models.ForeignKey("events.AuditEvent", on_delete=models.CASCADE, related_name="alert_links")
    event_timestamp = models.DateTimeField()
    joined_at = models.DateTimeField(auto_now_add=True)
    # 1, 2, ... for the steps of a sequence detection's alert (its events list in step order); else null.
    step = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["alert", "event"], name="alert_event_once")]
        indexes = [models.Index(fields=["alert", "-event_timestamp"], name="alert_event_time_idx")]

    def __str__(self) -> str:
        return f"{self.alert_id}:{self.event_id}"


class HistoryKind(models.TextChoices):
    """What an entry of an alert's history records: a status change, or a reminder or escalation sent."""

    STATUS = "status", "Status change"
    REMINDER = "reminder", "Reminder sent"
    ESCALATION = "escalation", "Escalation sent"


class AlertTransition(models.Model):
    """One entry of an alert's history: a status change (from, to, who, when, and the remark given
    with it), or a reminder or escalation sent (`kind`; from and to are then the status it stayed in,
    and `note` says what was sent to which channels)."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="transitions")
    # A database default too: rows written by plain SQL (benches, COPY) are status changes.
    kind = models.CharField(
        max_length=12, choices=HistoryKind.choices, default=HistoryKind.STATUS, db_default=HistoryKind.STATUS
    )
    from_status = models.CharField(max_length=12, choices=AlertStatus.choices)
    to_status = models.CharField(max_length=12, choices=AlertStatus.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    # A move made outside alertsite, e.g. "Jane Doe in PagerDuty" (then `actor` is empty).
    external_actor = models.CharField(max_length=200, blank=True, default="")
    note = models.TextField(blank=True, default="")
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["alert", "at"], name="alert_transition_idx")]

    def __str__(self) -> str:
        if self.kind != HistoryKind.STATUS:
            return f"{self.alert_id}: {self.note}"
        return f"{self.alert_id}: {self.from_status} -> {self.to_status}"


class AlertNote(models.Model):
    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    text = models.TextField(max_length=4000)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["alert", "created_at"], name="alert_note_idx")]

    def __str__(self) -> str:
        return f"{self.alert_id}: {self.text[:40]}"


class AlertMetricsSnapshot(models.Model):
    """Insights > Alert Metrics of one period as last computed (alerts.services.metrics_snapshots).

    Aggregating a month of alerts takes seconds at a million alerts, so a periodic job keeps one
    snapshot a period and pages read it in one query; `data` is `AlertMetricsPage.as_json()`.
    """

    days = models.PositiveSmallIntegerField(unique=True)
    window_start = models.DateTimeField(help_text="The first UTC midnight the figures cover.")
    computed_at = models.DateTimeField()
    data = models.JSONField()

    def __str__(self) -> str:
        return f"{self.days} days as of {self.computed_at:%Y-%m-%d %H:%M}"


class InboundWebhookSeen(models.Model):
    """The id of an inbound webhook already acted on (PagerDuty back-sync), so a replay is refused.

    Kept a while past the age at which a webhook is refused anyway, then pruned.
    """

    event_id = models.CharField(max_length=100, unique=True)
    channel_id = models.PositiveIntegerField()
    seen_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return self.event_id


_now = timezone.now  # the class below has a field called `timezone`


class MaintenanceWindow(models.Model):
    """A planned quiet time (api.md 10): one-off or repeating by an RRULE in its time zone.

    Scope lists are plain values (rule ids are integers: alerts never reads rules); an empty
    list means all. `muted_alerts` / `muted_notifications` count what it muted, added to per
    evaluation batch with one UPDATE.
    """

    class Mute(models.TextChoices):
        NOTIFICATIONS = MUTE_NOTIFICATIONS, "Notifications"
        ALERTS = MUTE_ALERTS, "Alerts"

    name = models.CharField(max_length=100)
    reason = models.CharField(max_length=500, blank=True, default="")
    starts_at = models.DateTimeField(help_text="Start of the first occurrence.")
    ends_at = models.DateTimeField(help_text="End of the first occurrence; later ones last as long (wall clock).")
    timezone = models.CharField(max_length=64, default="UTC", help_text="IANA time zone the recurrence follows.")
    recurrence = models.CharField(
        max_length=500,
        blank=True,
        default="",
        help_text='RFC 5545 RRULE, e.g. "RRULE:FREQ=WEEKLY;BYDAY=SA"; empty: once.',
    )
    scope_rules = models.JSONField(default=list, blank=True, help_text="Rule ids; empty: every rule.")
    scope_priorities = models.JSONField(default=list, blank=True, help_text="Priorities; empty: every priority.")
    scope_event_types = models.JSONField(default=list, blank=True, help_text="Event types; empty: every type.")
    mute = models.CharField(max_length=16, choices=Mute.choices, default=Mute.NOTIFICATIONS)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=_now)
    updated_at = models.DateTimeField(default=_now)
    muted_alerts = models.PositiveIntegerField(default=0)
    muted_notifications = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["starts_at", "id"]
        indexes = [models.Index(fields=["ends_at"], name="maint_window_ends_idx")]

    def __str__(self) -> str:
        return self.name

    def spec(self) -> WindowSpec:
        """What alerts.maintenance calculates with (hashable: compiled once per version)."""
        return WindowSpec(
            id=self.pk or 0,
            name=self.name,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            timezone=self.timezone,
            recurrence=self.recurrence,
            rule_ids=tuple(int(pk) for pk in self.scope_rules or ()),
            priorities=tuple(self.scope_priorities or ()),
            event_types=tuple(self.scope_event_types or ()),
            mute=self.mute,
        )

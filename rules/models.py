"""Insights rules, their matches (the exactly-once gate) and the rules version counter."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from alertsite.priority import Priority
from alertsite.snooze import snooze_active


class BackfillStatus(models.TextChoices):
    IDLE = "idle", "Idle"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class Rule(models.Model):
    """An event-based alert rule: which events (conditions) and what to do (actions).

    `conditions` keeps the contract's JSON shape; rules.conditions parses and validates
    it, and rules.validation enforces every cross-field rule for the API, admin and console.
    """

    name = models.CharField(max_length=100)
    description = models.TextField(max_length=1000, blank=True, default="")
    enabled = models.BooleanField(default=True)
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.MEDIUM)
    template = models.CharField(max_length=64, blank=True, default="event_based")
    conditions = models.JSONField(default=list)
    # " type_a type_b " for the rules list's event-type filter, portable across databases.
    selected_event_types = models.TextField(blank=True, default="", editable=False)
    generate_alerts = models.BooleanField(default=True)
    send_notifications = models.BooleanField(default=False)
    channels = models.ManyToManyField("channels.Channel", blank=True, related_name="rules")
    notify_on_acknowledge = models.BooleanField(default=False)
    notify_on_resolve = models.BooleanField(default=False)
    existing_conditions = models.BooleanField(default=False)
    group_by = models.JSONField(default=list, blank=True)
    group_window_minutes = models.PositiveIntegerField(default=0)
    threshold = models.JSONField(null=True, blank=True)
    # api.md section 12: null = every matching event counts; else a new_value or sequence detection
    # (rules.detections) decides which matches count.
    detection = models.JSONField(null=True, blank=True)
    # Reminders and escalation (api.md section 10): re-notify while an alert stays open.
    remind_every_minutes = models.PositiveIntegerField(null=True, blank=True)
    remind_max = models.PositiveSmallIntegerField(default=3)
    escalation = models.JSONField(null=True, blank=True, help_text='{"after_minutes": N, "channels": [ids]} or empty.')

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # When the rule last fired: for a threshold rule, the last time it raised an alert (its
    # threshold was crossed); for any other rule, its last match. `last_matched_at` is every match,
    # so a threshold rule can say "matched ..., not yet over the threshold".
    last_triggered_at = models.DateTimeField(null=True, blank=True)
    last_matched_at = models.DateTimeField(null=True, blank=True)
    alert_count = models.PositiveIntegerField(default=0)
    match_count = models.PositiveBigIntegerField(default=0)
    # While snoozed_until is ahead, matches still record and raise alerts, but nothing is sent
    # (alert_policies reads it with the batch's policies); a periodic job ends the snooze.
    snoozed_until = models.DateTimeField(null=True, blank=True, db_index=True)
    snoozed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    snooze_note = models.CharField(max_length=500, blank=True, default="")

    backfill_status = models.CharField(max_length=10, choices=BackfillStatus.choices, default=BackfillStatus.IDLE)
    backfill_total = models.PositiveIntegerField(default=0)
    backfill_done = models.PositiveIntegerField(default=0)
    backfill_matched = models.PositiveIntegerField(default=0)
    backfill_error = models.CharField(max_length=500, blank=True, default="")
    # Learning a new_value detection's history from stored events (rules.detections.learning):
    # until it is done the rule records values but fires on none.
    learn_status = models.CharField(max_length=10, choices=BackfillStatus.choices, default=BackfillStatus.IDLE)
    learn_total = models.PositiveIntegerField(default=0)
    learn_done = models.PositiveIntegerField(default=0)
    learn_error = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(Lower("name"), name="rule_name_unique_ci")]
        indexes = [models.Index(fields=["enabled", "priority"], name="rule_enabled_priority_idx")]

    def __str__(self) -> str:
        return self.name

    @property
    def snoozed(self) -> bool:
        """Whether the snooze still runs (one whose time passed counts as over before the job clears it)."""
        return snooze_active(self.snoozed_until, timezone.now())


class RuleMatch(models.Model):
    """One (rule, event) match. Unique: re-delivered tasks and re-ingested events never match twice."""

    rule = models.ForeignKey(  # rule_match_once and match_threshold_idx lead with it
        Rule, on_delete=models.CASCADE, related_name="matches", db_index=False
    )
    event = models.ForeignKey("events.AuditEvent", on_delete=models.CASCADE, related_name="rule_matches")
    event_timestamp = models.DateTimeField()
    group_key = models.CharField(max_length=40, blank=True, default="")
    matched_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "rule matches"
        constraints = [models.UniqueConstraint(fields=["rule", "event"], name="rule_match_once")]
        indexes = [
            models.Index(fields=["rule", "group_key", "event_timestamp"], name="match_threshold_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.rule_id}:{self.event_id}"


class DetectionValue(models.Model):
    """`new_value` state: a value combination a rule's matching events carried (hashed), and when.

    One row per (rule, hash), learned from stored events when the rule is saved or enabled and
    kept current by evaluation; rows not seen for `history_days` are pruned. `claim` is the
    random token of the batch that inserted the row (0 when learned): a writer whose insert lost
    the race to another worker gets no row back, reads what that worker stored and decides after it.
    """

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="+")
    value_hash = models.CharField(max_length=40)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    claim = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["rule", "value_hash"], name="detection_value_once")]
        indexes = [models.Index(fields=["rule", "last_seen"], name="detection_value_seen_idx")]

    def __str__(self) -> str:
        return f"{self.rule_id}:{self.value_hash}"


class DetectionStep(models.Model):
    """`sequence` state: a step event of a rule not yet consumed by a completed sequence.

    Kept until `expires_at` (its event time plus the window) and a grace for late events, so a
    step that arrives late but inside the window still finds the others. `chain` records which
    partial sequence the step went into, so the next batch resumes them as they stood.
    """

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="+")
    key_hash = models.CharField(max_length=40, help_text="Hash of the event's `by` values.")
    event = models.ForeignKey("events.AuditEvent", on_delete=models.CASCADE, related_name="+")
    event_timestamp = models.DateTimeField()
    positions = models.PositiveIntegerField(help_text="Bit mask of the rule's conditions (steps) the event matches.")
    expires_at = models.DateTimeField()
    chain = models.BigIntegerField(
        null=True,
        help_text="Event pk of the first step of the partial sequence this step went into (its own when it "
        "started one); 0 when in none; null when stored before this was recorded (fed again from nothing).",
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["rule", "event"], name="detection_step_once")]
        indexes = [
            models.Index(fields=["rule", "key_hash", "expires_at"], name="detection_step_key_idx"),
            models.Index(fields=["expires_at"], name="detection_step_expiry_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.rule_id}:{self.key_hash}:{self.event_id}"


class RuleVersion(models.Model):
    """One saved state of a rule: written in the transaction of every create, update, enable,
    disable and restore, so the history can say who changed what, when and why, and bring it back.

    `rule` holds the rule's fields as the API writes them (rules.validation.RULE_FIELDS, channels
    as ids); `channel_names` keeps those channels' names as they were, so the history still says
    which channel was meant after it is deleted.
    """

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    comment = models.CharField(max_length=500, blank=True, default="")
    snapshot = models.JSONField()
    channel_names = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["rule", "-version"]
        constraints = [models.UniqueConstraint(fields=["rule", "version"], name="rule_version_unique")]

    def __str__(self) -> str:
        return f"{self.rule_id} v{self.version}"


class RulesVersion(models.Model):
    """A single row rewritten in the same transaction as any rule change; engines rebuild when it moves.

    A random stamp rather than a counter: a rolled-back change can never bring back a
    value that some process already built its engine at.
    """

    stamp = models.CharField(max_length=32, default="")
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "rules version"

    def __str__(self) -> str:
        return f"rules version {self.stamp}"


class RuleTemplate(models.Model):
    """A Rule Management template: a pre-filled rule body in a catalog tab.

    Built-in templates (rules.templates_catalog) are loaded by migration and kept current on
    every migrate; admins may add their own in the admin, which then show in the console and
    `GET /api/v1/rule-templates` alike.
    """

    slug = models.SlugField(max_length=64, unique=True)
    tab = models.CharField(max_length=32, default="insights")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    rule = models.JSONField(help_text="The rule body a new rule starts from (the API's rule fields).")
    position = models.PositiveIntegerField(default=1000, help_text="Order in the catalog (built-ins count from 0).")
    built_in = models.BooleanField(default=False, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name

    def as_dict(self) -> dict:
        """The shape `GET /api/v1/rule-templates` lists."""
        return {
            "slug": self.slug,
            "tab": self.tab,
            "name": self.name,
            "description": self.description,
            "rule": self.rule,
        }

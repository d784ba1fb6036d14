"""The event-type catalog and the audit event log."""

from __future__ import annotations

from django.db import models

from alertsite.fields import FastJSONField


class EventCategory(models.TextChoices):
    ADMIN = "admin", "Admin"
    USER = "user", "User"
    DEVICE = "device", "Device"
    APPLICATION = "application", "Application"
    POLICY = "policy", "Policy"
    GROUP = "group", "Group"
    ASSOCIATION = "association", "Association"
    AUTHENTICATION = "authentication", "Authentication"
    PASSWORD_MANAGER = "password_manager", "Password manager"
    SAAS_MANAGEMENT = "saas_management", "SaaS management"
    SOFTWARE = "software", "Software"
    ORGANIZATION = "organization", "Organization"
    ALERTS = "alerts", "Alerts"
    OTHER = "other", "Other"


class EventType(models.Model):
    """One kind of Directory Insights event, as offered in the rule editor's event picker."""

    name = models.CharField(max_length=100, unique=True)
    description = models.CharField(max_length=300, blank=True)
    category = models.CharField(max_length=32, choices=EventCategory.choices, default=EventCategory.OTHER)
    known = models.BooleanField(default=True, help_text="False for types first seen in ingested events.")
    keys = models.JSONField(default=list, blank=True, help_text="Attribute keys offered for filters (dotted paths).")
    first_seen_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AuditEvent(models.Model):
    """An event exactly as sent, plus the columns that queries need.

    `payload` is never rewritten. `event_id` is the event's own `id`, or one derived from
    the SHA-256 of its canonical JSON, and is the idempotency key of ingestion.
    """

    event_id = models.CharField(max_length=64, unique=True)
    event_type = models.CharField(max_length=100)
    service = models.CharField(max_length=64, blank=True, default="")
    timestamp = models.DateTimeField()
    initiator = models.CharField(max_length=255, blank=True, default="")
    resource = models.CharField(max_length=255, blank=True, default="")
    client_ip = models.CharField(max_length=64, blank=True, default="")
    success = models.BooleanField(null=True)
    received_at = models.DateTimeField()
    causal_depth = models.PositiveSmallIntegerField(
        default=0, help_text="0 for events from outside; audit events caused by alerts count up."
    )
    payload = FastJSONField()

    class Meta:
        indexes = [
            models.Index(fields=["-timestamp", "-id"], name="event_newest_idx"),
            models.Index(fields=["event_type", "-timestamp"], name="event_type_time_idx"),
            # Keyset pages of the compatible query API by service: (timestamp, id) in either direction.
            models.Index(fields=["service", "timestamp", "id"], name="event_service_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id}"


class PendingEvaluation(models.Model):
    """An event stored but not yet evaluated against the rules: the evaluation progress.

    Written by the same statement that inserts the event and deleted, in bulk, by the
    transaction that records its rule matches. A narrow row here instead of an
    `evaluated_at` UPDATE of the ~1 KB, GIN-indexed event row: that update could not be HOT
    (its partial index covered the column) and rewrote the row and every index entry.
    Unlike a watermark over ids, it needs no gap sweep for transactions that commit out of
    id order: an uncommitted event's row is simply not visible yet. Events no rule looks at
    (or too deep in a causal chain) never get one.
    """

    event = models.OneToOneField(AuditEvent, on_delete=models.CASCADE, primary_key=True, related_name="+")
    received_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["received_at"], name="pending_received_idx")]

    def __str__(self) -> str:
        return f"event {self.event_id} pending since {self.received_at:%Y-%m-%d %H:%M:%S}"


class EvaluationCount(models.Model):
    """Events evaluated so far, kept in a few shard rows that evaluations add to.

    One row would serialize concurrent evaluation transactions on its lock until commit;
    with SHARDS rows two workers rarely meet. The total is the sum over the shards.
    """

    SHARDS = 16

    shard = models.PositiveSmallIntegerField(primary_key=True)
    evaluated = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"shard {self.shard}: {self.evaluated} evaluated"


class IngestCount(models.Model):
    """Events stored so far by way in (`origin`), in a few rows per origin that add up: the counter
    behind the `alertsite_events_ingested_total` metric, read at scrape time without counting the event log.

    Added to by the statement that stores a batch (events.storage, one CTE more on PostgreSQL), so it
    is exact across every web and worker process. A batch adds to a row of its origin that no other
    open transaction holds (`FOR UPDATE SKIP LOCKED`), or appends a row when all are held: ingest
    transactions never wait on one another here, and the rows of an origin stay as few as the most
    ingest transactions ever open at once.
    """

    origin = models.CharField(max_length=80, help_text='"api", "import", "audit", "simulate" or "source:<id>".')
    ingested = models.BigIntegerField(default=0)
    # Of those, the events evaluated by the transaction that stored them (a request's few, see
    # events.progress): counted by the storing statement, a round trip less per request than an
    # EvaluationCount upsert of their own. Part of the evaluated total.
    evaluated = models.BigIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["origin"], name="ingest_count_origin_idx")]

    def __str__(self) -> str:
        return f"{self.origin}: {self.ingested} ingested"


# Sources live in their own subpackage; importing them here registers them with the app.
from events.sources.models import Source, SourceCursor  # noqa: E402

__all__ = [
    "AuditEvent",
    "EvaluationCount",
    "EventCategory",
    "EventType",
    "IngestCount",
    "PendingEvaluation",
    "Source",
    "SourceCursor",
]

"""Sources: pollers that pull a JumpCloud organisation's Directory Insights events (api.md §8).

A `Source` holds its config (the API key sealed like webhook secrets) and its status; each
organisation it polls has a `SourceCursor` with its own checkpoint, written in the same
transaction as the page of events it covers. `lease_owner`/`lease_until` keep two polls of
one source from running at once, across processes and hosts.
"""

from __future__ import annotations

from django.db import models


class SourceKind(models.TextChoices):
    JUMPCLOUD_DIRECTORY_INSIGHTS = "jumpcloud_directory_insights", "JumpCloud Directory Insights"


class SourceState(models.TextChoices):
    NEVER_RUN = "never_run", "Never run"
    OK = "ok", "OK"
    FAILING = "failing", "Failing"
    PAUSED = "paused", "Paused"


class Source(models.Model):
    kind = models.CharField(max_length=64, choices=SourceKind.choices, default=SourceKind.JUMPCLOUD_DIRECTORY_INSIGHTS)
    name = models.CharField(max_length=100, unique=True)
    enabled = models.BooleanField(default=True)
    config = models.JSONField(default=dict, help_text="base_url, api_key (sealed), org_ids, services, ...")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Status (api.md §8): written by the poller.
    failing = models.BooleanField(default=False, help_text="Set when polls keep failing or the vendor refused the key.")
    stopped = models.BooleanField(
        default=False,
        help_text="The vendor refused the request (401/403/4xx): no polling until edited or polled by hand.",
    )
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    consecutive_failures = models.PositiveIntegerField(default=0)
    next_poll_at = models.DateTimeField(
        null=True, blank=True, help_text="Not polled before this (interval, backoff, Retry-After)."
    )
    events_ingested = models.BigIntegerField(default=0)
    skipped = models.BigIntegerField(default=0, help_text="Vendor rows that failed validation.")
    newest_event_at = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=36, blank=True, default="")
    lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def state(self) -> str:
        if not self.enabled:
            return SourceState.PAUSED
        if self.failing or self.stopped:
            return SourceState.FAILING
        if self.last_run_at is None:
            return SourceState.NEVER_RUN
        return SourceState.OK


class SourceCursor(models.Model):
    """Where polling of one organisation of a source has got to."""

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="cursors")
    org = models.CharField(
        max_length=64, help_text='The x-org-id polled, or "default" for the key\'s own organisation.'
    )
    checkpoint = models.DateTimeField(null=True, blank=True, help_text="Newest event timestamp stored.")
    events_ingested = models.BigIntegerField(default=0)
    backfill_done = models.BooleanField(default=False, help_text="The first run reached the present.")
    # Where a round cut short goes on from: the query's start and the last page's X-Search_after.
    resume_start = models.DateTimeField(null=True, blank=True)
    resume_after = models.JSONField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "org"], name="source_cursor_unique_org")]
        ordering = ["source", "org"]

    def __str__(self) -> str:
        return f"{self.source_id}/{self.org}"

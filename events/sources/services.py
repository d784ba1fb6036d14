"""Sources as admins handle them: create, change, pause, delete, test and poll by hand (api.md §8).

Every change is recorded in the event log with the API key shown as *** (never the key).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from alertsite.crypto import MASK
from alertsite.errors import FieldErrors
from alertsite.naming import unique_name_check
from events.services import AUDIT_SERVICE, actor_reference, audit_event_record
from events.sources.client import DirectoryInsightsClient, VendorError
from events.sources.config import (
    SourceConfig,
    SourceConfigError,
    iso,
    source_config_clean,
    source_config_public,
)
from events.sources.models import Source, SourceCursor, SourceKind
from events.sources.poller import PollResult, source_poll
from events.sources.tasks import source_poll_enqueue

if TYPE_CHECKING:
    from django.contrib.auth.models import User

MAX_NAME = 100
MANUAL_POLL_SECONDS = 30.0
WRITABLE = ("kind", "name", "enabled", "config")


class SourceValidationError(FieldErrors):
    """Problems with a source: path of each bad field -> message."""


def source_validate(data: dict[str, Any], *, instance: Source | None = None) -> dict[str, Any]:
    """Check the writable fields; answer values ready to store (the key sealed)."""
    errors: dict[str, str] = {}
    for unknown in sorted(set(data) - set(WRITABLE)):
        errors[unknown] = f"Unknown field; the writable fields are {', '.join(WRITABLE)}."
    kind = data.get("kind", instance.kind if instance else SourceKind.JUMPCLOUD_DIRECTORY_INSIGHTS)
    if kind not in SourceKind.values:
        errors["kind"] = f"Must be one of {', '.join(SourceKind.values)}."
    name, name_error = unique_name_check(
        Source,
        data.get("name", instance.name if instance else None),
        instance=instance,
        noun="source",
        max_length=MAX_NAME,
    )
    if name_error:
        errors["name"] = name_error
    enabled = data.get("enabled", instance.enabled if instance else True)
    if not isinstance(enabled, bool):
        errors["enabled"] = "Must be true or false."
    config: dict[str, Any] = instance.config if instance else {}
    if instance is None or "config" in data:
        try:
            config = source_config_clean(data.get("config", {}), instance.config if instance else None)
        except SourceConfigError as exc:
            errors.update(exc.errors)
    if errors:
        raise SourceValidationError(errors)
    return {"kind": kind, "name": name, "enabled": enabled, "config": config}


def _resource(source: Source) -> dict[str, Any]:
    return {"type": "insights_source", "id": str(source.pk), "name": source.name}


def _shown(source: Source) -> dict[str, Any]:
    config = source_config_public(source.config)
    config["api_key"] = "***"
    return {"name": source.name, "enabled": source.enabled, "config": config}


def _changes(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"field": key, "from": before.get(key), "to": after.get(key)}
        for key in ("name", "enabled", "config")
        if before.get(key) != after.get(key)
    ]


def source_create(*, data: dict[str, Any], actor: User | None) -> Source:
    values = source_validate(data)
    with transaction.atomic():
        source = Source.objects.create(**values)
        audit_event_record(
            event_type="insights_source_create",
            service=AUDIT_SERVICE,
            initiated_by=actor_reference(actor),
            resource=_resource(source),
            changes=_changes({}, _shown(source)),
        )
    return source


def source_update(*, source: Source, data: dict[str, Any], actor: User | None) -> Source:
    """Change a source. Any change lifts a stop after a refusal; a new start time or new
    organisations start their cursors afresh (ids absorb what is fetched again); a poll running
    meanwhile stops at its next page."""
    with transaction.atomic():
        source = Source.objects.select_for_update().get(pk=source.pk)
        before = _shown(source)
        old_config = dict(source.config)
        values = source_validate(data, instance=source)
        for key, value in values.items():
            setattr(source, key, value)
        key_sent = isinstance(data.get("config"), dict) and data["config"].get("api_key") not in (None, MASK)
        source.stopped = False
        source.next_poll_at = None
        if source.config != old_config or "enabled" in data:
            # A running poll must not go on with the old config (nor write an old checkpoint back
            # over the reset below): without its lease, its next page is rolled back and it stops.
            source.lease_owner, source.lease_until = "", None
        source.save()
        new_config = source.config
        if new_config.get("start_time") != old_config.get("start_time"):
            SourceCursor.objects.filter(source=source).update(
                checkpoint=None, backfill_done=False, resume_start=None, resume_after=None
            )
        wanted = set(SourceConfig.from_stored(new_config).orgs)
        SourceCursor.objects.filter(source=source).exclude(org__in=wanted).delete()
        changes = _changes(before, _shown(source))
        if key_sent and not any(change["field"] == "config" for change in changes):
            changes.append({"field": "config", "from": "***", "to": "***"})
        if changes:
            audit_event_record(
                event_type="insights_source_update",
                service=AUDIT_SERVICE,
                initiated_by=actor_reference(actor),
                resource=_resource(source),
                changes=changes,
            )
    return source


def source_pause(*, source: Source, paused: bool, actor: User | None) -> Source:
    return source_update(source=source, data={"enabled": not paused}, actor=actor)


def source_delete(*, source: Source, actor: User | None) -> None:
    """Delete the source and its cursors; the events it pulled stay in the log."""
    with transaction.atomic():
        resource = _resource(source)
        source.delete()
        audit_event_record(
            event_type="insights_source_delete",
            service=AUDIT_SERVICE,
            initiated_by=actor_reference(actor),
            resource=resource,
        )


def source_poll_now(*, source: Source, max_seconds: float = MANUAL_POLL_SECONDS) -> PollResult:
    """Poll by hand: also when paused, stopped or not yet due. `more`: the backlog goes on in the background."""
    result = source_poll(source.pk, max_seconds=max_seconds, manual=True)
    if result.more:
        source_poll_enqueue(source.pk)
    return result


def source_test(*, source: Source) -> dict[str, Any]:
    """Check the key (and each organisation) with a one-row query; nothing is stored."""
    settings_ = SourceConfig.from_stored(source.config)
    body = {
        "service": list(settings_.services),
        "start_time": iso(timezone.now() - timedelta(days=1)),
        "sort": "DESC",
        "limit": 1,
    }
    status_code: int | None = None
    try:
        with DirectoryInsightsClient(
            base_url=settings_.base_url,
            api_key=settings_.api_key,
            timeout=settings_.timeout_seconds,
            allow_private=settings.ALERTSITE_SOURCE_ALLOW_PRIVATE,
        ) as client:
            for org in settings_.org_ids or (None,):
                client.events_page(body, org=org)
                status_code = 200
    except VendorError as exc:
        return {"ok": False, "status_code": exc.status_code, "error": str(exc)}
    return {"ok": True, "status_code": status_code, "error": None}


def source_lag_seconds(source: Source, *, now: datetime | None = None) -> float | None:
    """Now minus the newest event timestamp the source stored (None before its first event)."""
    if source.newest_event_at is None:
        return None
    return round(((now or timezone.now()) - source.newest_event_at).total_seconds(), 1)


def source_status(source: Source) -> dict[str, Any]:
    """The status object of api.md §8, plus backfill progress per organisation."""
    now = timezone.now()
    cursors = list(source.cursors.all())
    config = SourceConfig.from_stored(source.config) if source.config else None
    checkpoint = {cursor.org: iso(cursor.checkpoint) if cursor.checkpoint else None for cursor in cursors}
    backfill: dict[str, float] = {}
    if config is not None:
        span = (now - config.start_time).total_seconds()
        for org in config.orgs:
            cursor = next((c for c in cursors if c.org == org), None)
            if cursor is not None and cursor.backfill_done:
                continue
            done = (cursor.checkpoint - config.start_time).total_seconds() if cursor and cursor.checkpoint else 0.0
            backfill[org] = round(max(0.0, min(1.0, done / span)) if span > 0 else 1.0, 4)
    return {
        "state": source.state,
        "last_run_at": source.last_run_at,
        "last_success_at": source.last_success_at,
        "last_error": source.last_error or None,
        "consecutive_failures": source.consecutive_failures,
        "checkpoint": checkpoint or None,
        "events_ingested": source.events_ingested,
        "skipped": source.skipped,
        "lag_seconds": source_lag_seconds(source, now=now),
        "next_poll_at": source.next_poll_at,
        "polling": bool(source.lease_until and source.lease_until > now),
        "backfill": backfill or None,
    }

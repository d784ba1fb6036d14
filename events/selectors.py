"""Reads of the event log and the event-type catalog for other apps' pages (the rule form)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Sum

from events.models import AuditEvent, EventType, IngestCount
from events.sources.models import Source


def event_get(event_id: str) -> AuditEvent | None:
    """The stored event with this `id` of its own, or None."""
    return AuditEvent.objects.filter(event_id=event_id).first()


def event_types_list() -> list[dict[str, Any]]:
    """The catalog by name: each type's name, description, attribute keys and whether it is known."""
    return [dict(row) for row in EventType.objects.order_by("name").values("name", "description", "keys", "known")]


def event_type_names() -> list[str]:
    """Every event type in the catalog, by name."""
    return list(EventType.objects.order_by("name").values_list("name", flat=True))


def events_ingested_by_origin() -> dict[str, int]:
    """Events stored since install by way in ("api", "import", "audit", "source:<id>", ...): one
    query over the few counter rows (never the event log)."""
    rows = IngestCount.objects.values("origin").annotate(total=Sum("ingested")).order_by("origin")
    return {row["origin"]: int(row["total"] or 0) for row in rows}


def sources_newest_event() -> list[tuple[int, str, datetime | None]]:
    """Each source's pk, name and newest stored event time (what its lag is measured from)."""
    return list(Source.objects.order_by("name").values_list("pk", "name", "newest_event_at"))

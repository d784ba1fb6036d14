"""Reads of the event log and the event-type catalog for other apps' pages (the rule form)."""

from __future__ import annotations

from typing import Any

from events.models import AuditEvent, EventType


def event_get(event_id: str) -> AuditEvent | None:
    """The stored event with this `id` of its own, or None."""
    return AuditEvent.objects.filter(event_id=event_id).first()


def event_types_list() -> list[dict[str, Any]]:
    """The catalog by name: each type's name, description, attribute keys and whether it is known."""
    return list(EventType.objects.order_by("name").values("name", "description", "keys", "known"))


def event_type_names() -> list[str]:
    """Every event type in the catalog, by name."""
    return list(EventType.objects.order_by("name").values_list("name", flat=True))

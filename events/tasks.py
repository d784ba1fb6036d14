"""Periodic jobs of the event log."""

from __future__ import annotations

from celery import shared_task

from events.services import event_retention_purge


@shared_task(name="events.tasks.event_retention_purge_task")
def event_retention_purge_task() -> dict[str, int]:
    result = event_retention_purge()
    return {"deleted": result.deleted, "kept": result.kept}


# Registered under events.tasks so that `celery -A alertsite` finds them with the app's tasks.
from events.sources.tasks import source_poll_task, sources_poll_due_task  # noqa: E402

__all__ = ["event_retention_purge_task", "source_poll_task", "sources_poll_due_task"]

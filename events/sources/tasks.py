"""Celery tasks of sources: thin adapters over the poller.

The beat job finds due sources and queues one poll task each (a task per source, never per
event). A poll task works for at most ALERTSITE_SOURCE_TASK_MAX_SECONDS and then hands the
rest of a backlog to a fresh task, so a 90-day backfill never pins one worker for hours and
a killed worker costs at most one page (its lease lapses and the next poll goes on).
"""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from alertsite.wakeups import tasks_run_inline
from events.sources.models import Source
from events.sources.poller import lease_free, poll_due, source_poll


def sources_due() -> list[int]:
    """Sources the scheduler should poll now: due, and held by no poll (lease_claim checks both again)."""
    now = timezone.now()
    return list(Source.objects.filter(poll_due(now), lease_free(now)).values_list("pk", flat=True))


def source_poll_enqueue(source_id: int) -> None:
    """Queue a poll of the source's backlog. In-process (embedded default) nothing is queued:
    the poll left it due, so the scheduler's next tick goes on with it without holding up a
    web request or the other periodic jobs for a whole backfill."""
    if not tasks_run_inline(source_poll_task):
        source_poll_task.delay(source_id)


@shared_task(name="events.tasks.sources_poll_due_task")
def sources_poll_due_task() -> int:
    due = sources_due()
    for source_id in due:
        if tasks_run_inline(source_poll_task):
            source_poll_task(source_id)  # the embedded scheduler's thread: one round each tick
        else:
            source_poll_task.delay(source_id)
    return len(due)


@shared_task(name="events.tasks.source_poll_task", acks_late=True)
def source_poll_task(source_id: int) -> dict[str, object]:
    """Poll one source for a while; with a backlog left, queue the next round."""
    result = source_poll(source_id, max_seconds=settings.ALERTSITE_SOURCE_TASK_MAX_SECONDS)
    if result.more and not result.error:
        source_poll_enqueue(source_id)
    return result.as_dict()

"""Celery tasks of the outbox: thin adapters over channels.services."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.conf import settings

from channels.services import SendRun, deliveries_requeue, deliveries_send, deliveries_send_claimed


@shared_task(name="channels.tasks.deliver_task", acks_late=True)
def deliver_task(delivery_pks: list[int]) -> dict[str, int]:
    """Attempt each delivery; schedule the retries (the sweep backs this up)."""
    return deliveries_send_scheduling_retries(delivery_pks).counts


def deliveries_send_scheduling_retries(delivery_pks: list[int]) -> SendRun:
    """deliver_task's body, also run by a worker that raised a few alerts and sends them itself."""
    run = deliveries_send(delivery_pks)
    _retries_schedule(run)
    return run


def deliveries_send_claimed_scheduling_retries(rows: Any, *, claimed_at: Any) -> SendRun:
    """The same for rows the outbox wrote claimed, sent by the worker whose task raised them."""
    run = deliveries_send_claimed(rows, claimed_at=claimed_at)
    _retries_schedule(run)
    return run


def _retries_schedule(run: SendRun) -> None:
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        for retry_at, pks in run.retries.items():
            deliver_task.apply_async([pks], eta=retry_at)


@shared_task(name="channels.tasks.delivery_sweep_task")
def delivery_sweep_task() -> int:
    """Re-queue deliveries whose retry is due or whose worker died; one task per 100 rows."""
    pks = deliveries_requeue()
    for start in range(0, len(pks), 100):
        deliver_task.delay(pks[start : start + 100])
    return len(pks)

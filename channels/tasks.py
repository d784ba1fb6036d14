"""Celery tasks of the outbox: thin adapters over channels.services."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from channels.models import DeliveryStatus
from channels.services import deliveries_requeue, delivery_send


@shared_task(name="channels.tasks.deliver_task", acks_late=True)
def deliver_task(delivery_pks: list[int]) -> dict[str, int]:
    """Attempt each delivery; schedule the retry of transient failures (the sweep backs this up)."""
    counts: dict[str, int] = {}
    for pk in delivery_pks:
        outcome = delivery_send(delivery_id=pk)
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
        if outcome.status == DeliveryStatus.PENDING and outcome.retry_at and not settings.CELERY_TASK_ALWAYS_EAGER:
            deliver_task.apply_async([[pk]], eta=outcome.retry_at)
    return counts


@shared_task(name="channels.tasks.delivery_sweep_task")
def delivery_sweep_task() -> int:
    """Re-queue deliveries whose retry is due or whose worker died; one task per 100 rows."""
    pks = deliveries_requeue()
    for start in range(0, len(pks), 100):
        deliver_task.delay(pks[start : start + 100])
    return len(pks)

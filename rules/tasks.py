"""Celery tasks of the rule engine: thin adapters over rules.evaluation and rules.services."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings

from rules.evaluation import evaluation_batches, events_evaluate, events_unevaluated


@shared_task(name="rules.tasks.evaluate_events_task", acks_late=True)
def evaluate_events_task(event_pks: list[int]) -> dict[str, int]:
    result = events_evaluate(event_pks=event_pks)
    return {"events": result.events, "matches": result.matches, "new_matches": result.new_matches}


@shared_task(name="rules.tasks.evaluation_sweep_task")
def evaluation_sweep_task() -> int:
    """Queue events that were accepted but never evaluated, so none is ever skipped."""
    pks = events_unevaluated(
        older_than=timedelta(seconds=settings.ALERTSITE_EVALUATION_SWEEP_AFTER_SECONDS), limit=50_000
    )
    for batch in evaluation_batches(pks):
        evaluate_events_task.delay(batch)
    return len(pks)


@shared_task(name="rules.tasks.rule_backfill_task", acks_late=True)
def rule_backfill_task(rule_id: int) -> int:
    from rules.services import rule_backfill

    return rule_backfill(rule_id=rule_id)


def evaluation_enqueue(event_pks: list[int]) -> None:
    """The ingest listener: one evaluation task per batch of new events."""
    for batch in evaluation_batches(event_pks):
        evaluate_events_task.delay(batch)

"""Celery tasks of the rule engine: thin adapters over rules.evaluation and rules.services."""

from __future__ import annotations

import functools
import itertools
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from alertsite import afterresponse
from alertsite.wakeups import tasks_run_inline, wake, woken
from rules.evaluation import (
    evaluation_batches,
    events_evaluate,
    events_evaluate_pending,
    events_evaluate_stored,
    events_pending,
    events_unevaluated,
)
from rules.selectors import rules_stamp_pinned

if TYPE_CHECKING:
    from events.models import AuditEvent

logger = logging.getLogger(__name__)

PENDING = "evaluation"
DRAIN_ROUNDS = 20  # batches one drain evaluates before it hands over to a fresh task


@shared_task(name="rules.tasks.evaluate_events_task", acks_late=True)
def evaluate_events_task(event_pks: list[int]) -> dict[str, int]:
    result = events_evaluate(event_pks=event_pks)
    return {"events": result.events, "matches": result.matches, "new_matches": result.new_matches}


@shared_task(name="rules.tasks.evaluate_pending_task", acks_late=True)
def evaluate_pending_task() -> int:
    """The coalesced drain: evaluate whatever is waiting, batch by batch, until nothing is.

    Only events of the last sweep interval: anything older is the sweep's, so an event that
    fails every time holds up the drain for that long at most.
    """
    woken(PENDING)
    size = settings.ALERTSITE_EVALUATION_BATCH_SIZE
    since = timezone.now() - timedelta(seconds=settings.ALERTSITE_EVALUATION_SWEEP_AFTER_SECONDS)
    failed: set[int] = set()
    total = 0
    inline = tasks_run_inline(evaluate_pending_task)  # nobody else would take over: drain it all here
    for _ in itertools.count() if inline else range(DRAIN_ROUNDS):
        try:
            taken = evaluated = events_evaluate_pending(limit=size, received_since=since, exclude=failed).events
        except Exception:
            logger.exception("evaluation batch failed; evaluating its events one at a time")
            taken, evaluated = _evaluate_one_at_a_time(since=since, limit=size, failed=failed)
        total += evaluated
        if taken < size:
            return total
    wake(PENDING, evaluate_pending_task)  # more is waiting: let a fresh task (maybe another worker) go on
    return total


def _evaluate_one_at_a_time(*, since: datetime, limit: int, failed: set[int]) -> tuple[int, int]:
    """Isolate what broke a batch: events that fail alone are logged, skipped by this drain and
    left to the sweep. Answers (events taken, events evaluated)."""
    pks = events_pending(received_since=since, exclude=failed, limit=limit)
    evaluated = 0
    errors: list[Exception] = []
    for pk in pks:
        try:
            evaluated += events_evaluate(event_pks=[pk]).events
        except Exception as exc:
            logger.exception("event could not be evaluated; left to the sweep", extra={"event_pk": pk})
            failed.add(pk)
            errors.append(exc)
    if errors and len(errors) == len(pks):
        raise errors[-1]  # not one worked: more likely the database than the events
    return len(pks), evaluated


@shared_task(name="rules.tasks.evaluation_sweep_task")
def evaluation_sweep_task() -> int:
    """Queue events that were accepted but never evaluated, so none is ever skipped."""
    pks = events_unevaluated(
        older_than=timedelta(seconds=settings.ALERTSITE_EVALUATION_SWEEP_AFTER_SECONDS), limit=50_000
    )
    for batch in evaluation_batches(pks):
        evaluate_events_task.delay(batch)
    return len(pks)


@shared_task(name="rules.tasks.rule_learn_task", acks_late=True)
def rule_learn_task(rule_id: int) -> int:
    """Learn a new_value rule's history, then run its Existing Conditions backfill if one waits."""
    from rules.detections.learning import rule_learn
    from rules.services import rule_backfill_after_learning

    learned = rule_learn(rule_id=rule_id)
    rule_backfill_after_learning(rule_id=rule_id)
    return learned


@shared_task(name="rules.tasks.detections_prune_task")
def detections_prune_task() -> dict[str, int]:
    from rules.detections.learning import detections_prune

    return detections_prune()


@shared_task(name="rules.tasks.rule_backfill_task", acks_late=True)
def rule_backfill_task(rule_id: int) -> int:
    from rules.services import rule_backfill

    return rule_backfill(rule_id=rule_id)


@contextmanager
def evaluation_in_request(count: int) -> Iterator[Callable[[list[AuditEvent]], object] | None]:
    """The in-transaction evaluation (events.hooks): a request with at most
    ALERTSITE_EVALUATION_AFTER_RESPONSE_MAX events to evaluate has them evaluated in the
    transaction that stores them, and its notifications sent after its response (channels'
    outbox). One transaction instead of two and no pending rows to write, claim and delete:
    the cheapest way an event becomes an alert. The rules stamp is read once for the whole
    ingest. Elsewhere (a task, an import, after a response) it declines: pending rows and the
    ingest listener, as always."""
    if count > settings.ALERTSITE_EVALUATION_AFTER_RESPONSE_MAX or not afterresponse.responding():
        yield None
        return
    with rules_stamp_pinned():
        yield events_evaluate_stored


def evaluation_enqueue(event_pks: list[int]) -> None:
    """The ingest listener: a task per full batch, so big imports spread over the workers; a
    request's few pending events (the audit events its alerts wrote, a batch stored again after
    its in-transaction evaluation failed) are evaluated by its own web process after its
    response; any other smaller rest wakes the coalesced drain, so many small requests share
    one task."""
    batches = evaluation_batches(event_pks)
    for batch in batches:
        if len(batch) >= settings.ALERTSITE_EVALUATION_BATCH_SIZE:
            evaluate_events_task.delay(batch)
        elif len(batch) <= settings.ALERTSITE_EVALUATION_AFTER_RESPONSE_MAX and afterresponse.deferrable():
            afterresponse.defer(functools.partial(evaluate_after_response, batch))
        else:
            wake(PENDING, evaluate_pending_task)


def evaluate_after_response(event_pks: list[int]) -> None:
    """A request's own events, evaluated once its client has the answer: no task, no queue hop.

    The same claim as a task's (an event another process took is skipped), so exactly once
    holds; if this fails the drain is woken to take them, and if the process dies here the
    pending rows stay for the sweep, as for a lost task.
    """
    try:
        events_evaluate(event_pks=event_pks)
    except Exception:
        logger.exception("evaluating after the response failed; the queue takes the events")
        wake(PENDING, evaluate_pending_task)


@shared_task(name="rules.tasks.rule_snoozes_expire_task")
def rule_snoozes_expire_task() -> int:
    """End rule snoozes whose time has come (each an `alert_rule_update` event by the system)."""
    from rules.snooze import rule_snoozes_expire

    return rule_snoozes_expire()

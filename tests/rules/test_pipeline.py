"""From ingestion to rule matches: one task per batch, exactly once per (rule, event), nothing skipped."""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest
from django.utils import timezone

from events.models import AuditEvent, PendingEvaluation
from rules.evaluation import events_evaluate
from rules.models import RuleMatch
from rules.services import rule_create
from rules.tasks import evaluation_sweep_task
from tests.factories import make_event
from tests.workers import CeleryWorker, wait_for

FAILED_LOGINS = {
    "name": "Failed logins",
    "priority": "high",
    "conditions": [
        {"event_type": "user_login_attempt", "filters": [{"key": "success", "operator": "eq", "value": False}]}
    ],
}


def ingest(client, events) -> None:
    response = client.post("/api/v1/events", data=orjson.dumps(events), content_type="application/json")
    assert response.status_code == 202, response.content


def failed_logins(count: int, prefix: str = "e") -> list[dict]:
    return [make_event(id=f"{prefix}{n}", success=False) for n in range(count)]


@pytest.mark.django_db
def test_matching_events_are_recorded_once_each(ingest_client, django_capture_on_commit_callbacks):
    rule = rule_create(data=FAILED_LOGINS, actor=None)
    with django_capture_on_commit_callbacks(execute=True):
        ingest(ingest_client, [*failed_logins(3), make_event(id="ok", success=True)])
    assert RuleMatch.objects.filter(rule=rule).count() == 3
    assert not PendingEvaluation.objects.filter(event__event_type="user_login_attempt").exists()


@pytest.mark.django_db
def test_one_evaluation_task_is_enqueued_per_batch(ingest_client, django_capture_on_commit_callbacks, monkeypatch):
    from rules import tasks

    rule_create(data=FAILED_LOGINS, actor=None)
    batches: list[list[int]] = []
    monkeypatch.setattr(tasks.evaluate_events_task, "delay", batches.append)
    with django_capture_on_commit_callbacks(execute=True):
        ingest(ingest_client, failed_logins(1000))
    assert [len(batch) for batch in batches] == [500, 500]


@pytest.mark.redis
@pytest.mark.django_db
def test_small_batches_committed_while_the_drain_waits_share_it(
    ingest_client, django_capture_on_commit_callbacks, broker_queue
):
    rule_create(data=FAILED_LOGINS, actor=None)
    broker_queue.flushdb()  # the rule's own audit event woke the drain already
    for n in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            ingest(ingest_client, failed_logins(1, prefix=f"r{n}-"))
    assert broker_queue.llen("celery") == 1


@pytest.mark.redis
@pytest.mark.django_db
def test_a_started_drain_lets_the_next_commit_wake_another(
    ingest_client, django_capture_on_commit_callbacks, broker_queue
):
    from alertsite.wakeups import woken
    from rules.tasks import PENDING

    rule_create(data=FAILED_LOGINS, actor=None)
    broker_queue.flushdb()
    with django_capture_on_commit_callbacks(execute=True):
        ingest(ingest_client, failed_logins(1, prefix="a"))
    woken(PENDING)  # what the drain does first
    with django_capture_on_commit_callbacks(execute=True):
        ingest(ingest_client, failed_logins(1, prefix="b"))
    assert broker_queue.llen("celery") == 2


@pytest.mark.django_db
def test_the_drain_evaluates_every_waiting_event(ingest_client, django_capture_on_commit_callbacks, monkeypatch):
    from events import services as event_services
    from rules.tasks import evaluate_pending_task

    rule = rule_create(data=FAILED_LOGINS, actor=None)
    monkeypatch.setattr(event_services, "events_ingested_notify", lambda pks: None)  # as if the broker was down
    monkeypatch.setattr("django.conf.settings.ALERTSITE_EVALUATION_BATCH_SIZE", 2)
    with django_capture_on_commit_callbacks(execute=True):
        ingest(ingest_client, failed_logins(5))
    assert evaluate_pending_task() == 5
    assert RuleMatch.objects.filter(rule=rule).count() == 5


@pytest.mark.django_db
def test_an_event_that_breaks_its_batch_does_not_hold_up_the_others(
    ingest_client, django_capture_on_commit_callbacks, monkeypatch, caplog
):
    from events import services as event_services
    from rules import evaluation
    from rules.tasks import evaluate_pending_task

    rule = rule_create(data=FAILED_LOGINS, actor=None)
    monkeypatch.setattr(event_services, "events_ingested_notify", lambda pks: None)
    with django_capture_on_commit_callbacks(execute=True):
        ingest(ingest_client, failed_logins(3))
    poison = AuditEvent.objects.get(event_id="e1").pk
    record = evaluation.matches_record

    def breaks_on_poison(pending, **kwargs):
        if any(match.event_id == poison for match in pending):
            raise RuntimeError("a bug this event trips")
        return record(pending, **kwargs)

    monkeypatch.setattr(evaluation, "matches_record", breaks_on_poison)
    assert evaluate_pending_task() == 2
    assert RuleMatch.objects.filter(rule=rule).count() == 2
    assert PendingEvaluation.objects.filter(event_id=poison).exists()  # left to the sweep
    assert any(getattr(r, "event_pk", None) == poison for r in caplog.records)


@pytest.mark.django_db
def test_the_drain_leaves_events_older_than_the_sweep_interval_to_the_sweep(
    ingest_client, django_capture_on_commit_callbacks, monkeypatch
):
    from events import services as event_services
    from rules.tasks import evaluate_pending_task

    rule_create(data=FAILED_LOGINS, actor=None)
    monkeypatch.setattr(event_services, "events_ingested_notify", lambda pks: None)
    with django_capture_on_commit_callbacks(execute=True):
        ingest(ingest_client, failed_logins(2))
    PendingEvaluation.objects.filter(event__event_id="e0").update(received_at=timezone.now() - timedelta(hours=1))
    assert evaluate_pending_task() == 1
    assert PendingEvaluation.objects.filter(event__event_id="e0").exists()
    assert evaluation_sweep_task() == 1  # the sweep queues it (and, in-process, evaluates it)
    assert not PendingEvaluation.objects.filter(event__event_id="e0").exists()


@pytest.mark.redis
@pytest.mark.django_db
def test_a_drain_with_more_waiting_hands_over_to_a_fresh_task(
    ingest_client, django_capture_on_commit_callbacks, monkeypatch, broker_queue
):
    from events import services as event_services
    from rules import tasks

    rule_create(data=FAILED_LOGINS, actor=None)
    monkeypatch.setattr(event_services, "events_ingested_notify", lambda pks: None)
    monkeypatch.setattr("django.conf.settings.ALERTSITE_EVALUATION_BATCH_SIZE", 2)
    monkeypatch.setattr(tasks, "DRAIN_ROUNDS", 1)
    with django_capture_on_commit_callbacks(execute=True):
        ingest(ingest_client, failed_logins(5))
    broker_queue.flushdb()
    assert tasks.evaluate_pending_task() == 2
    assert broker_queue.llen("celery") == 1


@pytest.mark.django_db
def test_redelivered_evaluation_task_does_not_match_twice(ingest_client, django_capture_on_commit_callbacks):
    rule = rule_create(data=FAILED_LOGINS, actor=None)
    with django_capture_on_commit_callbacks(execute=True):
        ingest(ingest_client, failed_logins(2))
    pks = list(AuditEvent.objects.filter(event_type="user_login_attempt").values_list("pk", flat=True))
    assert events_evaluate(event_pks=pks).events == 0  # already evaluated: nothing to do
    # As if the first run had matched and died before its end of waiting committed.
    PendingEvaluation.objects.bulk_create([PendingEvaluation(event_id=pk, received_at=timezone.now()) for pk in pks])
    result = events_evaluate(event_pks=pks)
    assert (result.matches, result.new_matches) == (2, 0)
    assert RuleMatch.objects.filter(rule=rule).count() == 2


@pytest.mark.django_db
def test_reingested_duplicate_is_not_evaluated_again(ingest_client, django_capture_on_commit_callbacks):
    rule_create(data=FAILED_LOGINS, actor=None)
    with django_capture_on_commit_callbacks(execute=True):
        ingest(ingest_client, failed_logins(1))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        ingest(ingest_client, failed_logins(1))
    assert callbacks == []
    assert RuleMatch.objects.count() == 1


@pytest.mark.django_db
def test_sweep_requeues_events_left_unevaluated(ingest_client, monkeypatch):
    rule_create(data=FAILED_LOGINS, actor=None)
    ingest(ingest_client, failed_logins(2))  # on_commit never runs here: as if the broker was down
    assert RuleMatch.objects.count() == 0
    PendingEvaluation.objects.update(received_at=timezone.now() - timedelta(minutes=5))
    assert evaluation_sweep_task.apply().get() == 2  # the rule's own audit event needed no evaluation
    assert RuleMatch.objects.count() == 2


@pytest.mark.django_db
def test_sweep_leaves_fresh_events_to_their_own_task(ingest_client):
    ingest(ingest_client, failed_logins(2))
    assert evaluation_sweep_task.apply().get() == 0


@pytest.mark.django_db
def test_disabled_rule_does_not_match(ingest_client, django_capture_on_commit_callbacks):
    rule_create(data={**FAILED_LOGINS, "enabled": False}, actor=None)
    with django_capture_on_commit_callbacks(execute=True):
        ingest(ingest_client, failed_logins(2))
    assert RuleMatch.objects.count() == 0


@pytest.mark.django_db
def test_rule_counts_matches_and_remembers_when_it_last_triggered(ingest_client, django_capture_on_commit_callbacks):
    rule = rule_create(data=FAILED_LOGINS, actor=None)
    with django_capture_on_commit_callbacks(execute=True):
        ingest(ingest_client, failed_logins(3))
    rule.refresh_from_db()
    assert rule.match_count == 3
    assert rule.last_triggered_at is not None


@pytest.mark.django_db
def test_broken_rule_does_not_stop_the_others(ingest_client, django_capture_on_commit_callbacks):
    from rules.engine import CompiledCondition
    from rules.selectors import engine_current

    good = rule_create(data=FAILED_LOGINS, actor=None)
    bad = rule_create(data={**FAILED_LOGINS, "name": "Broken"}, actor=None)

    def boom(event):
        raise RuntimeError("broken rule")

    engine = engine_current()
    for buckets in engine.by_type["user_login_attempt"].by_key.values():
        for bucket in buckets.values():
            bucket[:] = [CompiledCondition(c.rule_id, c.position, boom) if c.rule_id == bad.pk else c for c in bucket]
    with django_capture_on_commit_callbacks(execute=True):
        ingest(ingest_client, failed_logins(1))
    assert list(RuleMatch.objects.values_list("rule_id", flat=True)) == [good.pk]


# -- with a real worker on Redis and PostgreSQL --------------------------------------------

worker_db = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.mark.worker
@worker_db
def test_events_ingested_while_no_worker_runs_are_evaluated_when_one_starts(ingest_client, broker_queue):
    rule = rule_create(data=FAILED_LOGINS, actor=None)
    ingest(ingest_client, failed_logins(5))
    assert broker_queue.llen("celery") == 1  # one task for the batch (no rule watches the audit event)
    assert RuleMatch.objects.count() == 0
    with CeleryWorker() as worker:
        wait_for(lambda: RuleMatch.objects.filter(rule=rule).count() == 5, timeout=60, describe=worker.output)
        wait_for(lambda: not PendingEvaluation.objects.filter(event__event_type="user_login_attempt").exists())


@pytest.mark.worker
@worker_db
def test_two_workers_given_the_same_batch_twice_match_each_event_once(ingest_client, broker_queue):
    from rules.tasks import evaluate_events_task

    rule = rule_create(data=FAILED_LOGINS, actor=None)
    ingest(ingest_client, failed_logins(200))
    pks = list(AuditEvent.objects.filter(event_type="user_login_attempt").order_by("pk").values_list("pk", flat=True))
    for _ in range(3):
        evaluate_events_task.delay(pks)
    with CeleryWorker("w1"), CeleryWorker("w2"):
        wait_for(lambda: broker_queue.llen("celery") == 0, timeout=60)
        wait_for(
            lambda: not PendingEvaluation.objects.filter(event__event_type="user_login_attempt").exists(),
            timeout=60,
        )
    assert RuleMatch.objects.filter(rule=rule).count() == 200

"""Two ingest transactions whose event ids commit in reverse order: each event is evaluated once.

A watermark over ids would move past the lower id while its transaction is still open and
skip it for good; with pending rows the late commit's event simply becomes visible later.
Real connections on PostgreSQL, one thread each.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from events import services as event_services
from events.models import AuditEvent, PendingEvaluation
from events.services import event_batch_ingest
from events.validation import Limits, event_validate
from rules.models import RuleMatch
from rules.services import rule_create
from rules.tasks import evaluate_pending_task, evaluation_sweep_task
from tests.factories import make_event

FAILED_LOGINS = {
    "name": "Failed logins",
    "priority": "high",
    "conditions": [
        {"event_type": "user_login_attempt", "filters": [{"key": "success", "operator": "eq", "value": False}]}
    ],
}


def record(event_id: str):
    result = event_validate(make_event(id=event_id, success=False), index=0, limits=Limits.from_settings())
    assert not isinstance(result, list), result
    return result


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_event_whose_transaction_commits_after_a_later_id_is_still_evaluated_once(monkeypatch):
    rule = rule_create(data=FAILED_LOGINS, actor=None)
    monkeypatch.setattr(event_services, "events_ingested_notify", lambda pks: None)  # drains run by hand below
    inserted, release, done = threading.Event(), threading.Event(), threading.Event()
    errors: list[Exception] = []

    def slow_ingest() -> None:
        """Takes the lower id first, then holds its transaction open until told to commit."""
        try:
            with transaction.atomic():
                event_batch_ingest(records=[record("early-id")])
                inserted.set()
                assert release.wait(timeout=30)
        except Exception as exc:  # noqa: BLE001 - surfaced in the main thread
            errors.append(exc)
            inserted.set()
        finally:
            connection.close()
            done.set()

    slow = threading.Thread(target=slow_ingest)
    slow.start()
    try:
        assert inserted.wait(timeout=30)
        fast = threading.Thread(target=lambda: (event_batch_ingest(records=[record("late-id")]), connection.close()))
        fast.start()
        fast.join(timeout=30)
        late = AuditEvent.objects.get(event_id="late-id")
        assert not AuditEvent.objects.filter(event_id="early-id").exists()  # not committed yet
        assert evaluate_pending_task() == 1
        assert list(RuleMatch.objects.values_list("event_id", flat=True)) == [late.pk]
    finally:
        release.set()
        done.wait(timeout=30)
        slow.join(timeout=30)
    assert not errors, errors
    early = AuditEvent.objects.get(event_id="early-id")
    assert early.pk < late.pk  # the ids really did commit in reverse order
    assert PendingEvaluation.objects.filter(event=early).exists()
    assert evaluate_pending_task() == 1
    assert evaluate_pending_task() == 0
    assert evaluation_sweep_task() == 0
    assert sorted(RuleMatch.objects.filter(rule=rule).values_list("event_id", flat=True)) == [early.pk, late.pk]
    assert not PendingEvaluation.objects.exists()

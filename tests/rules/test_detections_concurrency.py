"""Detections under concurrent workers (issue 16): one new value seen by two batches at once raises
one alert; two steps of one sequence evaluated at once complete it once. On PostgreSQL, with two
database sessions held open against each other, and on two real Celery workers."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone

from alerts.models import Alert
from events import services as event_services
from events.models import AuditEvent
from events.services import event_batch_ingest
from events.validation import Limits, event_validate
from rules.evaluation import events_evaluate
from rules.models import BackfillStatus, Rule
from rules.services import rule_create
from tests.factories import make_event
from tests.workers import CeleryWorker, wait_for

worker_db = pytest.mark.django_db(transaction=True, serialized_rollback=True)
NOW = timezone.now().replace(microsecond=0) - timedelta(hours=1)


def login(event_id: str, minutes: float, email: str, country: str = "DE") -> dict[str, Any]:
    return make_event(
        id=event_id,
        success=True,
        timestamp=(NOW + timedelta(minutes=minutes)).isoformat(),
        initiated_by={"type": "user", "email": email},
        geoip={"country_code": country},
    )


def admin_event(event_id: str, event_type: str, minutes: float, email: str) -> dict[str, Any]:
    return make_event(
        id=event_id,
        event_type=event_type,
        timestamp=(NOW + timedelta(minutes=minutes)).isoformat(),
        initiated_by={"type": "admin", "email": email},
        success=...,
        geoip=...,
    )


def rules() -> tuple[Rule, Rule]:
    new_country = rule_create(
        data={
            "name": "New country",
            "priority": "high",
            "conditions": [{"event_type": "user_login_attempt"}],
            "detection": {"type": "new_value", "fields": ["initiated_by.email", "geoip.country_code"]},
        },
        actor=None,
    )
    Rule.objects.filter(pk=new_country.pk).update(learn_status=BackfillStatus.DONE)  # nothing to learn
    sequence = rule_create(
        data={
            "name": "TOTP then password",
            "priority": "high",
            "conditions": [{"event_type": "admin_totp_disable"}, {"event_type": "admin_password_change"}],
            "detection": {"type": "sequence", "steps": [0, 1], "by": ["initiated_by.email"], "within_minutes": 10},
        },
        actor=None,
    )
    from rules.services import rules_version_bump

    rules_version_bump()
    return new_country, sequence


def stored(events: list[dict[str, Any]]) -> list[int]:
    limits = Limits.from_settings()
    event_batch_ingest(records=[event_validate(e, index=n, limits=limits) for n, e in enumerate(events)])  # type: ignore[arg-type]
    return list(AuditEvent.objects.filter(event_id__in=[e["id"] for e in events]).values_list("pk", flat=True))


def held_against_each_other(first: Callable[[], object], second: Callable[[], object]) -> None:
    """Run `first` in a transaction kept open a moment after it is done, and `second` meanwhile."""
    started = threading.Event()
    errors: list[BaseException] = []

    def run_first() -> None:
        try:
            with transaction.atomic():
                first()
                started.set()
                time.sleep(1.0)  # the second session runs into our writes and waits for this commit
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
            started.set()
        finally:
            connection.close()

    def run_second() -> None:
        try:
            started.wait(10)
            second()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run_first), threading.Thread(target=run_second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors


@pytest.mark.postgres
@worker_db
def test_two_sessions_with_the_same_new_value_at_once_raise_one_alert(monkeypatch):
    monkeypatch.setattr(event_services, "events_ingested_notify", lambda pks: None)
    new_country, _ = rules()
    first = stored([login("a-1", 1, "alice@example.com", "FR")])
    second = stored([login("a-2", 2, "alice@example.com", "FR")])
    held_against_each_other(lambda: events_evaluate(event_pks=first), lambda: events_evaluate(event_pks=second))
    assert Alert.objects.filter(rule=new_country).count() == 1


@pytest.mark.postgres
@worker_db
def test_two_steps_of_one_sequence_evaluated_at_once_complete_it_once(monkeypatch):
    monkeypatch.setattr(event_services, "events_ingested_notify", lambda pks: None)
    _, sequence = rules()
    first = stored([admin_event("t-1", "admin_totp_disable", 1, "root@example.com")])
    second = stored([admin_event("p-1", "admin_password_change", 2, "root@example.com")])
    held_against_each_other(lambda: events_evaluate(event_pks=first), lambda: events_evaluate(event_pks=second))
    alert = Alert.objects.get(rule=sequence)
    assert list(alert.alert_events.order_by("step").values_list("event__event_id", flat=True)) == ["t-1", "p-1"]


@pytest.mark.worker
@worker_db
def test_on_two_real_workers_each_new_value_and_each_sequence_fires_exactly_once(broker_queue, monkeypatch):
    """Twelve batches on two workers. Every batch carries the same 20 users' logins from one new
    country, so the workers keep meeting on the same values; each pair of batches carries both
    steps of 20 admins' sequences (TOTP off, then password changed), so they meet on those too."""
    from events.models import PendingEvaluation
    from rules.tasks import evaluate_events_task

    monkeypatch.setattr(event_services, "events_ingested_notify", lambda pks: None)
    new_country, sequence = rules()
    broker_queue.flushdb()  # the learning task rules() queued: these rules have nothing to learn
    users = [f"user{n}@example.com" for n in range(20)]
    batches = []
    for batch in range(12):
        events = [login(f"l{batch}-{n}", batch * 0.1, email, "BR") for n, email in enumerate(users)]
        step, offset = ("admin_totp_disable", 0.0) if batch % 2 == 0 else ("admin_password_change", 0.05)
        events += [
            admin_event(f"s{batch}-{n}", step, batch * 0.1 + offset, f"admin{batch // 2}-{n}@example.com")
            for n in range(20)
        ]
        batches.append(stored(events))
    for pks in batches:
        evaluate_events_task.delay(pks)
    everything = [pk for pks in batches for pk in pks]
    with CeleryWorker("det-w1") as one, CeleryWorker("det-w2"):
        wait_for(
            lambda: not PendingEvaluation.objects.filter(event_id__in=everything).exists(),
            timeout=60,
            describe=one.output,
        )
    assert Alert.objects.filter(rule=new_country).count() == len(users)
    assert Alert.objects.filter(rule=sequence).count() == 6 * 20
    assert all(alert.event_count == 2 for alert in Alert.objects.filter(rule=sequence))

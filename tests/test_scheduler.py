"""The embedded scheduler that runs CELERY_BEAT_SCHEDULE in-process when there is no broker.

run_due() calls close_old_connections() after each job, as the real thread must. That call
would close the connection under the test transaction of the django_db mark, so these tests
run outside one, with database access merely allowed; the test tasks themselves store nothing.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from celery import shared_task

from alertsite.runtime.scheduler import EmbeddedScheduler

ran: list[str] = []


@shared_task(name="tests.test_scheduler.record_run")
def record_run() -> None:
    ran.append("record_run")


@shared_task(name="tests.test_scheduler.record_other_run")
def record_other_run() -> None:
    ran.append("record_other_run")


@shared_task(name="tests.test_scheduler.explode")
def explode() -> None:
    raise RuntimeError("boom")


@pytest.fixture(autouse=True)
def clear_runs():
    ran.clear()
    yield
    ran.clear()


@pytest.fixture(autouse=True)
def database_reachable(django_db_blocker):
    """Let close_old_connections() look at the connection, without a test transaction around it."""
    with django_db_blocker.unblock():
        yield


def every(seconds: float, task: str = "tests.test_scheduler.record_run") -> dict:
    return {"task": task, "schedule": timedelta(seconds=seconds)}


def test_entry_runs_when_due():
    scheduler = EmbeddedScheduler(schedule={"job": every(0.01)})
    time.sleep(0.03)
    assert scheduler.run_due() == ["job"]
    assert ran == ["record_run"]


def test_entry_does_not_run_before_it_is_due():
    scheduler = EmbeddedScheduler(schedule={"job": every(3600)})
    assert scheduler.run_due() == []
    assert ran == []


def test_entry_that_ran_waits_for_its_next_interval():
    scheduler = EmbeddedScheduler(schedule={"fast": every(0.01), "slow": every(0.5)})
    time.sleep(0.03)
    assert scheduler.run_due() == ["fast"]
    time.sleep(0.03)
    assert scheduler.run_due() == ["fast"]
    assert ran == ["record_run", "record_run"]


def test_failing_task_is_logged_and_does_not_stop_the_others(caplog):
    scheduler = EmbeddedScheduler(
        schedule={
            "first": every(0.01, "tests.test_scheduler.record_run"),
            "broken": every(0.01, "tests.test_scheduler.explode"),
            "last": every(0.01, "tests.test_scheduler.record_other_run"),
        }
    )
    time.sleep(0.03)
    with caplog.at_level(logging.ERROR, logger="alertsite.runtime.scheduler"):
        assert scheduler.run_due() == ["first", "last"]
    assert ran == ["record_run", "record_other_run"]
    failures = [record for record in caplog.records if record.getMessage() == "scheduled job failed"]
    assert len(failures) == 1
    assert failures[0].job == "broken"
    assert "boom" in failures[0].exc_text


def test_failed_entry_waits_for_its_next_interval_instead_of_retrying_at_once():
    scheduler = EmbeddedScheduler(schedule={"broken": every(3600, "tests.test_scheduler.explode")})
    scheduler.last_run["broken"] -= timedelta(hours=2)
    assert scheduler.run_due() == []
    assert scheduler.run_due() == []  # not due again until an hour after the failed attempt


def test_default_schedule_is_the_celery_beat_schedule():
    scheduler = EmbeddedScheduler()
    task, schedule = scheduler.entries["event-retention-purge"]
    assert task == "events.tasks.event_retention_purge_task"
    assert schedule.run_every == timedelta(hours=24)
    assert scheduler.run_due() == []  # a day has not passed since start


def test_thread_runs_due_entries_until_stopped():
    scheduler = EmbeddedScheduler(schedule={"job": every(0.01)}, tick_seconds=0.01)
    assert scheduler.daemon
    scheduler.start()
    try:
        deadline = time.monotonic() + 5
        while not ran and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        scheduler.stop()
        scheduler.join(timeout=5)
    assert not scheduler.is_alive()
    assert "record_run" in ran


def test_every_scheduled_task_is_found_in_a_fresh_server_process():
    """In `manage.py serve` nothing may have imported an app's tasks module yet."""
    script = (
        "import django; django.setup()\n"
        "from alertsite.celery import app\n"
        "from alertsite.runtime.scheduler import EmbeddedScheduler\n"
        "missing = [task for task, _ in EmbeddedScheduler().entries.values() if task not in app.tasks]\n"
        "print(missing)\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "alertsite.settings.test"}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"

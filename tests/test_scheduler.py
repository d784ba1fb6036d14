"""The embedded scheduler that runs CELERY_BEAT_SCHEDULE in-process when there is no broker.

run_due() calls close_old_connections() after each job, as the real thread must. That call
would close the connection under the test transaction of the django_db mark, so these tests
run outside one, with database access merely allowed; the test tasks themselves store nothing.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from celery import shared_task
from django.utils import timezone

from alertsite.runtime import scheduler as scheduler_module
from alertsite.runtime.scheduler import EmbeddedScheduler, HostLock, embedded_scheduler_start
from tests.receivers import WebhookReceiver

ROOT = Path(__file__).resolve().parent.parent

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


# -- one scheduler a process, one a host --------------------------------------------------------


def wait_until(condition, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return condition()


def test_host_lock_is_held_by_one_holder_at_a_time(tmp_path):
    first, second = HostLock(tmp_path / "lock"), HostLock(tmp_path / "lock")
    assert first.acquire() and first.acquire()
    assert not second.acquire()
    first.release()
    assert second.acquire()
    second.release()


def test_scheduler_stands_by_while_another_process_holds_the_lock(tmp_path):
    holder = HostLock(tmp_path / "lock")
    assert holder.acquire()
    scheduler = EmbeddedScheduler(schedule={"job": every(0.01)}, tick_seconds=0.01, lock=HostLock(tmp_path / "lock"))
    scheduler.start()
    try:
        time.sleep(0.2)
        assert ran == []
        holder.release()  # the running process exits: the standby takes over
        assert wait_until(lambda: "record_run" in ran)
    finally:
        scheduler.stop()
        scheduler.join(timeout=5)


def test_a_scheduler_taking_over_goes_on_from_the_last_runs_of_the_previous_holder(tmp_path):
    previous = HostLock(tmp_path / "lock")
    assert previous.acquire()
    an_hour_ago = timezone.now() - timedelta(hours=1)
    previous.write_state({"hourly": an_hour_ago.isoformat(), "daily": timezone.now().isoformat()})
    previous.release()
    scheduler = EmbeddedScheduler(
        schedule={"hourly": every(3600), "daily": every(86400, "tests.test_scheduler.record_other_run")},
        tick_seconds=0.01,
        lock=HostLock(tmp_path / "lock"),
    )
    scheduler.start()
    try:
        assert wait_until(lambda: ran == ["record_run"])  # due at once, not an hour after this start
    finally:
        scheduler.stop()
        scheduler.join(timeout=5)
    state = json.loads((tmp_path / "lock").read_text())
    assert datetime.fromisoformat(state["hourly"]) > an_hour_ago
    assert ran == ["record_run"]


@pytest.fixture
def no_process_scheduler(monkeypatch, settings, tmp_path):
    settings.ALERTSITE_SCHEDULER_LOCK_FILE = str(tmp_path / "lock")
    monkeypatch.setattr(scheduler_module, "_process_scheduler", None)
    yield
    started = scheduler_module._process_scheduler
    if started is not None:
        started.stop()
        started.join(timeout=5)


def test_the_scheduler_starts_once_a_process(no_process_scheduler, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    first = embedded_scheduler_start()
    assert first is not None and first.is_alive()
    assert embedded_scheduler_start() is first


def test_no_scheduler_starts_when_a_broker_runs_the_tasks(no_process_scheduler, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    assert embedded_scheduler_start() is None


def test_no_scheduler_starts_when_switched_off(no_process_scheduler, settings):
    settings.CELERY_TASK_ALWAYS_EAGER, settings.ALERTSITE_EMBEDDED_SCHEDULER = True, False
    assert embedded_scheduler_start() is None


def embedded_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CELERY_BROKER_URL", "DATABASE_URL")}
    env.update(
        DJANGO_SETTINGS_MODULE="alertsite.settings.test",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        ALERTSITE_SCHEDULER_LOCK_FILE=str(tmp_path / "scheduler.lock"),
        **extra,
    )
    return env


SCHEDULER_THREADS = (
    "import threading\nprint(sorted(t.name for t in threading.enumerate() if t.name == 'alertsite-scheduler'))\n"
)


def scheduler_threads_after(script: str, tmp_path) -> str:
    """Run `script` in a fresh embedded-default process; the scheduler threads it left, as printed."""
    result = subprocess.run(
        [sys.executable, "-c", script + SCHEDULER_THREADS],
        capture_output=True,
        text=True,
        env=embedded_env(tmp_path),
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_a_management_command_starts_no_scheduler(tmp_path):
    script = "import django; django.setup()\nfrom django.core.management import call_command\ncall_command('check')\n"
    assert scheduler_threads_after(script, tmp_path) == "[]"


def test_the_application_runserver_serves_starts_the_scheduler(tmp_path):
    """runserver's serving process loads WSGI_APPLICATION (alertsite.wsgi) exactly like this."""
    script = (
        "import django; django.setup()\n"
        "from django.core.servers.basehttp import get_internal_wsgi_application\n"
        "get_internal_wsgi_application()\n"
    )
    assert scheduler_threads_after(script, tmp_path) == "['alertsite-scheduler']"


DUE_DELIVERY = """
import django; django.setup()
from datetime import timedelta
from django.utils import timezone
from channels.models import Channel, Delivery
channel = Channel.objects.create(kind="webhook", name="Hook", config={{"url": "{url}"}})
Delivery.objects.create(
    channel=channel, kind="test", source="retry-me", payload={{"message": "hello"}}, attempts=1,
    next_attempt_at=timezone.now() - timedelta(seconds=1), last_error="HTTP 503",
)
"""


def test_gunicorn_workers_retry_a_due_webhook_with_one_scheduler_between_them(tmp_path):
    """The embedded default under plain gunicorn (no `manage.py serve`): a failed webhook is retried."""
    env = embedded_env(tmp_path, ALERTSITE_DELIVERY_SWEEP_INTERVAL_SECONDS="0.3", LOG_LEVEL="INFO")
    run = {"capture_output": True, "text": True, "env": env, "cwd": ROOT, "timeout": 120}
    migrated = subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], **run)
    assert migrated.returncode == 0, migrated.stderr
    with WebhookReceiver() as receiver:
        created = subprocess.run([sys.executable, "-c", DUE_DELIVERY.format(url=receiver.url)], **run)
        assert created.returncode == 0, created.stderr
        log = tmp_path / "gunicorn.log"
        with log.open("w") as output:
            server = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "alertsite.wsgi",
                    "-w",
                    "2",
                    "-b",
                    "127.0.0.1:0",
                    "--no-control-socket",
                ],
                stdout=output,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=ROOT,
            )
            try:
                request = receiver.wait_for(1, timeout=20)[0]
            finally:
                server.terminate()
                server.wait(timeout=20)
    assert request.header("X-Alertsite-Event") == "test"
    assert log.read_text().count("periodic jobs run in this process") == 1


def test_a_web_process_with_a_broker_loads_its_transport_at_start_without_connecting(tmp_path):
    """The first request that queues a task no longer pays the transport's imports (about 0.1 s);
    nothing listens on the broker's port, so a connection attempt would fail the start."""
    env = {
        **embedded_env(tmp_path, CELERY_BROKER_URL="redis://127.0.0.1:9/0"),
        "DJANGO_SETTINGS_MODULE": "alertsite.settings.base",
    }
    script = "import sys\nimport alertsite.wsgi\nprint('kombu.transport.redis' in sys.modules)\n"
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "True"

"""A real worker keeps its PostgreSQL connection across tasks (CELERY_DB_REUSE_MAX), as web requests do."""

from __future__ import annotations

import pytest
from django.db import connection

from alertsite.celery import app
from channels.tasks import deliver_task
from tests.workers import CeleryWorker, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def worker_backends() -> set[int]:
    """PostgreSQL backends on the test database other than this test's own connection."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return {row[0] for row in cursor.fetchall()}


def test_reuse_is_configured():
    assert (app.conf.get("CELERY_DB_REUSE_MAX") or 0) >= 100


def test_tasks_of_a_worker_share_one_database_session(broker_queue):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    before = worker_backends()
    with CeleryWorker("reuse", CONN_MAX_AGE="60") as worker:
        deliver_task.delay([10**9])  # a task that queries (claims nothing)

        def done(count: int):
            return lambda: worker.output().count("succeeded") >= count

        wait_for(done(1), timeout=60, describe=worker.output)
        first = worker_backends() - before
        for _ in range(5):
            deliver_task.delay([10**9])
        wait_for(done(6), timeout=60, describe=worker.output)
        after = worker_backends() - before
    assert len(first) == 1
    assert after == first  # the same session served all six tasks

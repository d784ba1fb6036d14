"""Workers keep their database connection across tasks (CELERY_DB_REUSE_MAX + close_old_connections)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from celery.fixups.django import DjangoWorkerFixup
from django.db import connection

from alertsite.celery import app, connections_recycle

pytestmark = pytest.mark.django_db(transaction=True)


def worker_task() -> SimpleNamespace:
    return SimpleNamespace(request=SimpleNamespace(is_eager=False))


def test_the_fixup_does_not_close_the_connection_around_every_task():
    assert DjangoWorkerFixup(app).db_reuse_max >= 1_000


def test_a_healthy_connection_survives_from_task_to_task(settings):
    settings.DATABASES["default"]["CONN_MAX_AGE"] = 60
    connection.settings_dict["CONN_MAX_AGE"] = 60
    connection.close()
    connection.ensure_connection()
    connection.close_at = None  # as a connection opened with CONN_MAX_AGE=None would have
    raw = connection.connection
    connections_recycle(sender=worker_task())
    assert connection.connection is raw


def test_an_obsolete_connection_is_closed_after_the_task(monkeypatch):
    closed: list[bool] = []
    connection.ensure_connection()
    monkeypatch.setattr(connection, "close", lambda: closed.append(True))  # SQLite's in-memory test db never closes
    connection.close_at = 0  # CONN_MAX_AGE has long passed
    connections_recycle(sender=worker_task())
    assert closed == [True]


def test_tasks_run_inline_leave_the_callers_connection_alone():
    connection.ensure_connection()
    connection.close_at = 0
    raw = connection.connection
    connections_recycle(sender=SimpleNamespace(request=SimpleNamespace(is_eager=True)))
    assert connection.connection is raw

"""alertsite.dbfresh: a connection that ended a request cleanly a moment ago skips the next `SELECT 1`."""

from __future__ import annotations

import pytest
from django.core.signals import request_finished
from django.db import connections

import alertsite.dbfresh as dbfresh

pytestmark = pytest.mark.django_db

connection = connections["default"]  # the wrapper itself: monkeypatch restores its attributes, not a proxy's


@pytest.fixture
def checks(settings, monkeypatch):
    """The connection open with health checks on (as in production on PostgreSQL), between two
    requests (Django reset the check); returns the list the health checks run are counted in."""
    settings.ALERTSITE_DB_FRESH_SECONDS = 1.0
    connection.ensure_connection()
    dbfresh._wrap_check(None, connection)  # as connection_created does for a new connection
    run: list[int] = []
    monkeypatch.setattr(connection, "is_usable", lambda: run.append(1) or True)
    monkeypatch.setattr(connection, "health_check_enabled", True)
    monkeypatch.setattr(connection, "errors_occurred", False)  # an earlier test's error aside
    monkeypatch.setattr(connection, "alertsite_fresh_until", 0.0, raising=False)
    monkeypatch.setattr(connection, "health_check_done", False)
    return run


def next_request_checks(checks: list[int]) -> bool:
    connection.health_check_done = False  # what Django's request_started receiver does
    connection.close_if_health_check_failed()
    return bool(checks)


def test_a_connection_that_just_finished_a_request_is_not_checked_again(checks):
    request_finished.send(sender=None)
    assert not next_request_checks(checks)
    assert connection.health_check_done


def test_a_connection_that_saw_an_error_is_checked(checks):
    connection.errors_occurred = True
    request_finished.send(sender=None)
    assert next_request_checks(checks)


def test_a_connection_idle_longer_than_the_window_is_checked(checks):
    request_finished.send(sender=None)
    connection.alertsite_fresh_until -= 2.0  # finished two seconds earlier
    assert next_request_checks(checks)


def test_zero_seconds_checks_before_every_request(checks, settings):
    settings.ALERTSITE_DB_FRESH_SECONDS = 0
    request_finished.send(sender=None)
    assert next_request_checks(checks)

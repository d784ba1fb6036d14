"""Skip Django's per-request health check of a connection that finished a request moments ago.

With CONN_HEALTH_CHECKS on, Django sends `SELECT 1` before the first statement of every
request. For a single-event POST that raises an alert, that was one round trip in thirteen,
each costing CPU on both sides. A connection that ended its last request without an error less
than `ALERTSITE_DB_FRESH_SECONDS` ago (1 s by default, 0 turns this off) is taken as healthy.

What that gives up: if PostgreSQL restarted within that second, the next request's first
statement fails where the check would have reconnected first. The outage middleware answers
that request 503 with Retry-After (clients retry; nothing is stored half), Django drops the
broken connection at the request's end, and the next request opens a new one.

The check itself is wrapped on each connection (when Django creates it), not skipped from a
request_started receiver: Django's own receiver resets the check there, and receivers' order
is not something to rely on (the test client reconnects Django's after others).
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.signals import request_finished
from django.db import connections
from django.db.backends.signals import connection_created


def _finished(**kwargs: Any) -> None:
    """At a request's end: note each connection that is still open and clean."""
    seconds = settings.ALERTSITE_DB_FRESH_SECONDS
    if seconds <= 0:
        return
    until = time.monotonic() + seconds
    for connection in connections.all(initialized_only=True):
        if connection.connection is not None and not connection.errors_occurred:
            connection.alertsite_fresh_until = until  # type: ignore[attr-defined]


def _wrap_check(sender: Any, connection: Any, **kwargs: Any) -> None:
    """Once per connection wrapper: its health check passes at once while the connection is fresh."""
    if getattr(connection, "alertsite_fresh_wrapped", False):
        return
    check = connection.close_if_health_check_failed

    def close_if_health_check_failed() -> None:
        fresh = time.monotonic() < getattr(connection, "alertsite_fresh_until", 0.0)
        if fresh and connection.connection is not None:
            connection.health_check_done = True
            return
        check()

    connection.close_if_health_check_failed = close_if_health_check_failed
    connection.alertsite_fresh_wrapped = True


def connect() -> None:
    request_finished.connect(_finished, dispatch_uid="alertsite.dbfresh.finished")
    connection_created.connect(_wrap_check, dispatch_uid="alertsite.dbfresh.wrap")

"""The Celery app. Settings come from Django settings under the CELERY_ namespace."""

from __future__ import annotations

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alertsite.settings.base")

app = Celery("alertsite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.task_prerun.connect
def db_connections_check(sender: object = None, **_: object) -> None:
    """Before each task, what Django does before each request: close a connection that is broken
    or older than CONN_MAX_AGE, and health-check the rest on first use (CONN_HEALTH_CHECKS).

    Celery's own fix-up would close it around every task; CELERY_DB_REUSE_MAX (settings) turns
    that off so tasks reuse the connection, and this keeps reuse as safe as in the web process.
    """
    from django.db import connections

    if getattr(getattr(sender, "request", None), "is_eager", False):
        return  # run inline by the caller (tests, no broker): its connection is the caller's
    for connection in connections.all(initialized_only=True):
        connection.close_if_unusable_or_obsolete()

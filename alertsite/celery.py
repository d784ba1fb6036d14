"""The Celery app. Settings come from Django settings under the CELERY_ namespace."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alertsite.settings.base")

app = Celery("alertsite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# The request id of the request that enqueued a task travels with it (headers), for its log lines.
import alertsite.observability.tasks  # noqa: E402, F401 - connects the signal handlers


@task_prerun.connect
@task_postrun.connect
def connections_recycle(sender: Any = None, **kwargs: Any) -> None:
    """Around each task on a worker, what Django does around each request: close connections
    that outlived CONN_MAX_AGE or broke, keep the others (CELERY_DB_REUSE_MAX stops the
    fix-up from closing every connection after every task). Not for tasks run inline: the
    caller's connection, maybe mid-transaction, is not ours to close."""
    request = getattr(sender, "request", None)
    if getattr(request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()


def broker_transport_load() -> None:
    """Import the broker's transport now, in a web process starting, rather than in the first
    request that queues a task: loading kombu's Redis transport took about 0.1 s, paid inside a
    request. It builds the transport object only; nothing connects (the broker may be down)."""
    if app.conf.task_always_eager:
        return
    with app.connection_for_write() as connection:
        connection.transport  # noqa: B018 - the property imports and builds the transport

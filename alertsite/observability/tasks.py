"""The request id travels with the Celery tasks a request enqueues, so their log lines carry it too.

`before_task_publish` adds it to the message headers; on the worker, `task_prerun` sets it for the
task and `task_postrun` clears it. Tasks run in-process (the embedded default, tests) already see
the caller's id and are left alone. With LOG_FORMAT=json the worker's own log handlers (Celery
replaces the root logger's) write JSON with the request id too.
"""

from __future__ import annotations

import logging
from typing import Any

from celery.signals import after_setup_logger, after_setup_task_logger, before_task_publish, task_postrun, task_prerun

from alertsite.observability.request_id import RequestIdFilter, current, request_id_accept

TASK_HEADER = "alertsite_request_id"


@before_task_publish.connect
def request_id_publish(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    request_id = current.get()
    if request_id and headers is not None:
        headers.setdefault(TASK_HEADER, request_id)


def _task_request(task: Any) -> Any:
    return getattr(task, "request", None)


@task_prerun.connect
def request_id_enter(task: Any = None, **kwargs: Any) -> None:
    request = _task_request(task)
    if request is None or getattr(request, "is_eager", False):
        return
    sent = getattr(request, TASK_HEADER, None) or (getattr(request, "headers", None) or {}).get(TASK_HEADER)
    # A task enqueued outside any request (beat, a sweep) gets an id of its own.
    current.set(request_id_accept(sent) if sent else request_id_accept(None))


@task_postrun.connect
def request_id_leave(task: Any = None, **kwargs: Any) -> None:
    request = _task_request(task)
    if request is None or getattr(request, "is_eager", False):
        return
    current.set(None)


@after_setup_logger.connect
@after_setup_task_logger.connect
def worker_logs_as_json(logger: logging.Logger | None = None, **kwargs: Any) -> None:
    """Celery sets up the worker's log handlers itself; with LOG_FORMAT=json make them write JSON."""
    from django.conf import settings

    if logger is None or getattr(settings, "LOG_FORMAT", "text") != "json":
        return
    from alertsite.observability.jsonlog import JsonFormatter

    for handler in logger.handlers:
        handler.setFormatter(JsonFormatter())
        handler.addFilter(RequestIdFilter())

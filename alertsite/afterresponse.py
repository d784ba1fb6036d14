"""Work a web request leaves for after its response: the client has its answer, this process goes on.

Why: at a few single-event requests a second, handing each request's event to a worker cost more
than evaluating it (a Celery publish in the web process, the worker's message handling, a
second connection's round trips) and added a queue hop to every alert's latency. Every WSGI
server calls the response iterable's `close()` once the last byte is written (gunicorn's sync
worker before it closes the socket), so a request may `defer` a job to then: the client is not
kept waiting, and no other process is involved.

Only `AfterResponse`, wrapped around the WSGI application (`alertsite.wsgi`), runs the jobs;
elsewhere (Django's test client, a management command, a Celery task) `deferrable()` is False
and callers do what they would do without it. A job runs once, in its request's thread, on its
request's database connection, before Django's own close of the response (its
`request_finished` housekeeping then follows the jobs); an exception is logged
and the next job still runs, so a job whose work must not be lost keeps its own fallback (the
evaluation sweep backs up evaluation either way, as for a lost task).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

logger = logging.getLogger(__name__)

Job = Callable[[], None]

_jobs: ContextVar[list[Job] | None] = ContextVar("after_response_jobs", default=None)
_running: ContextVar[bool] = ContextVar("after_response_running", default=False)


def deferrable() -> bool:
    """True inside a request served through `AfterResponse`: `defer` will run the job."""
    return _jobs.get() is not None


def running() -> bool:
    """True while this thread runs a deferred job: nobody waits on it any more."""
    return _running.get()


def responding() -> bool:
    """True inside a request served through `AfterResponse` whose response is not sent yet:
    its client waits on what runs now, and may `defer` the rest."""
    return deferrable() and not running()


def defer(job: Job) -> None:
    """Run `job` after this request's response is sent. Only when `deferrable()`."""
    jobs = _jobs.get()
    if jobs is None:
        raise RuntimeError("defer() outside a request served through AfterResponse")
    jobs.append(job)


@contextmanager
def collecting() -> Iterator[list[Job]]:
    """Inside, `defer` appends to the list it yields: what `AfterResponse` does around a request."""
    jobs: list[Job] = []
    token = _jobs.set(jobs)
    try:
        yield jobs
    finally:
        _jobs.reset(token)


def jobs_run(jobs: list[Job]) -> None:
    """Run the jobs in order; a job may defer more (evaluating a request's events raises alerts
    whose audit events may be evaluated too): they run after it, here."""
    running, deferring = _running.set(True), _jobs.set(jobs)
    try:
        done = 0
        while done < len(jobs):
            job = jobs[done]
            done += 1
            try:
                job()
            except Exception:
                logger.exception("a job deferred to after the response failed")
    finally:
        _jobs.reset(deferring)
        _running.reset(running)


class AfterResponse:
    """WSGI middleware: collects the request's deferred jobs and runs them when the response is closed."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        with collecting() as jobs:
            result = self.app(environ, start_response)
        if not jobs:
            return result  # untouched: a file response keeps its server's sendfile path
        return _ClosingThenJobs(result, jobs)


class _ClosingThenJobs:
    """The response body as it was; `close()` closes it, then runs the jobs."""

    def __init__(self, body: Iterable[bytes], jobs: list[Job]) -> None:
        self.body = body
        self.jobs = jobs

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.body)

    def close(self) -> None:
        """The jobs first, then Django's own close: its request_finished housekeeping (the
        database connection checked or closed) comes once, after them, as at a request's end."""
        jobs, self.jobs = self.jobs, []
        try:
            jobs_run(jobs)
        finally:
            close = getattr(self.body, "close", None)
            if close is not None:
                close()

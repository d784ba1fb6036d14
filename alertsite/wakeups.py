"""Coalesced wake-ups: queue a draining task once, however many commits ask for it meanwhile.

At 50 single-event requests a second, one evaluation task per request spends more on task
overhead than on evaluation and the queue grows without bound. Instead each commit asks to
`wake` the drain; the first ask queues it and sets a flag (SET NX in the shared cache:
Redis in production), later asks see the flag and do nothing. The drain clears the flag
*before* it reads what is pending, so anything committed after that read wakes it again.
A lost task costs at most WAKE_TTL seconds (the flag expires), and the periodic sweeps
pick up anything older anyway.
"""

from __future__ import annotations

from typing import Any

from django.core.cache import cache

WAKE_TTL = 10  # seconds


def _flag(name: str) -> str:
    return f"alertsite:wake:{name}"


def tasks_run_inline(task: Any) -> bool:
    """True when tasks run in the calling process (embedded default, most tests): nothing to coalesce."""
    return bool(task.app.conf.task_always_eager)


def wake(name: str, task: Any) -> bool:
    """Queue `task` (no arguments) unless a wake-up of `name` is already queued. True when queued."""
    if not tasks_run_inline(task) and not cache.add(_flag(name), 1, timeout=WAKE_TTL):
        return False
    task.delay()
    return True


def woken(name: str) -> None:
    """Called first thing by the drain: later commits must queue a fresh wake-up."""
    cache.delete(_flag(name))

"""Coalesced wake-ups: queue a draining task once, however many commits ask for it meanwhile.

At 50 single-event requests a second, one evaluation task per request spends more on task
overhead than on evaluation and the queue grows without bound. Instead each commit asks to
`wake` the drain; the first ask queues it and sets a flag (SET NX in the shared cache:
Redis in production), later asks see the flag and do nothing. The drain clears the flag
*before* it reads what is pending, so anything committed after that read wakes it again.
A lost task costs at most WAKE_TTL seconds (the flag expires), and the periodic sweeps
pick up anything older anyway. Without a shared cache (a broker other than Redis) every
commit queues its own drain, as if nothing were coalesced: correct, only busier.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.cache import cache

WAKE_TTL = 10  # seconds


def _flag(name: str) -> str:
    return f"wake:{name}"


def tasks_run_inline(task: Any) -> bool:
    """True when tasks run in the calling process (embedded default, most tests): nothing to coalesce."""
    return bool(task.app.conf.task_always_eager)


def flags_shared() -> bool:
    """A flag only coalesces when every web and worker process sees it: not in per-process memory."""
    backend = settings.CACHES["default"]["BACKEND"]
    return not backend.endswith(("LocMemCache", "DummyCache"))


def wake(name: str, task: Any) -> bool:
    """Queue `task` (no arguments) unless a wake-up of `name` is already queued. True when queued."""
    coalesce = not tasks_run_inline(task) and flags_shared()
    if coalesce and not cache.add(_flag(name), 1, timeout=WAKE_TTL):
        return False
    try:
        task.delay()
    except Exception:
        if coalesce:
            cache.delete(_flag(name))  # nothing is queued: the next commit must try again
        raise
    return True


def woken(name: str) -> None:
    """Called first thing by the drain: later commits must queue a fresh wake-up."""
    if flags_shared():
        cache.delete(_flag(name))

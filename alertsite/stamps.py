"""Version stamps of the small tables every alerting batch reads: channels and maintenance windows.

An alerting batch read the enabled channels of its notifications and the maintenance windows
of its events' time range: two statements per batch, for rows that change a few times a day
(and a channel's health columns, written at most every few seconds on a busy channel). Each
table now has a stamp in `alertsite_stamp`, set to a new random value by database triggers
(alertsite.runtime.stamp_triggers) on every write that can change what a batch keeps, so no
writer can forget it: the admin, the API, the health bookkeeping, raw SQL. The batch reads the stamps in the statement
that already reads the rules stamp (rules.selectors.rules_stamp_pinned) and pins them for its
duration; a reader keeps what it read under the pinned stamp (`StampedCache`) and reads again
only when the stamp moved.

Why this is safe: the data is read after the stamp, in the same or a later snapshot, so it is
never older than the stamp it is kept under; a later change sets a stamp no reader has seen. Random
values rather than a counter, as for the rules stamp: a transaction that changed a table and
read it under its own uncommitted stamp may roll back, and a counter would hand that same value
to the next change. A missing row (a test that emptied the table) pins nothing, and nothing is
kept then.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Generic, TypeVar

TABLE = "alertsite_stamp"
CHANNELS = "channels"
MAINTENANCE = "maintenance"
NAMES = (CHANNELS, MAINTENANCE)

# Columns to add to a SELECT that reads another stamp: one subquery per stamp, in NAMES order.
SELECT_COLUMNS = ", ".join(f"(SELECT stamp FROM {TABLE} WHERE name = '{name}')" for name in NAMES)

_pinned: ContextVar[Mapping[str, str] | None] = ContextVar("alertsite_stamps_pinned", default=None)


@contextmanager
def pinned(values: tuple[object, ...]) -> Iterator[None]:
    """Pin the stamps read by SELECT_COLUMNS (in NAMES order) for the block."""
    found = {name: str(value) for name, value in zip(NAMES, values, strict=True) if value is not None}
    token = _pinned.set(found)
    try:
        yield
    finally:
        _pinned.reset(token)


def pinned_stamp(name: str) -> str | None:
    """The stamp pinned for the batch under way, or None outside one (read the table then)."""
    values = _pinned.get()
    return None if values is None else values.get(name)


T = TypeVar("T")


class StampedCache(Generic[T]):
    """One value kept per process under the stamp it was read at."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._lock = threading.Lock()
        self._stamp: str | None = None
        self._value: T | None = None

    def get(self) -> T | None:
        """The kept value if the pinned stamp is the one it was read at, else None."""
        stamp = pinned_stamp(self.name)
        if stamp is None:
            return None
        with self._lock:
            return self._value if self._stamp == stamp else None

    def put(self, value: T) -> None:
        """Keep `value`, read after the batch's stamp was, under that stamp."""
        stamp = pinned_stamp(self.name)
        if stamp is None:
            return
        with self._lock:
            self._stamp, self._value = stamp, value

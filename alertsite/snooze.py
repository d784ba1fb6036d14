"""Reading a snooze request (`{"minutes": N}` or `{"until": ts}`, optional `note`), for rules and alerts alike.

Both kinds of snooze take the same body and refuse the same mistakes with the same words,
so the check lives once, below the apps.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.utils.dateparse import parse_datetime

MAX_SNOOZE = timedelta(days=30)
MAX_SNOOZE_NOTE_LENGTH = 500


class SnoozeInputError(ValueError):
    """A snooze body that cannot be followed; `field` names what is wrong (the API answers 400)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class SnoozeRequest:
    until: datetime
    note: str


def snooze_request_parse(body: Any, *, now: datetime) -> SnoozeRequest:
    """The end of the snooze and its note, or SnoozeInputError naming the bad field.

    Exactly one of `minutes` (a whole number, 1 or more) and `until` (RFC 3339 with a time
    zone, in the future) is required; either way the snooze lasts at most 30 days.
    """
    if not isinstance(body, dict):
        raise SnoozeInputError("non_field_errors", 'Send a JSON object: {"minutes": N} or {"until": "<RFC 3339>"}.')
    minutes, until_raw = body.get("minutes"), body.get("until")
    if minutes is not None and until_raw is not None:
        raise SnoozeInputError("until", "Give either minutes or until, not both.")
    if minutes is None and until_raw is None:
        raise SnoozeInputError("minutes", "Required: minutes (how long) or until (when the snooze ends).")
    if minutes is not None:
        if isinstance(minutes, str) and minutes.strip().isascii() and minutes.strip().isdigit():
            minutes = int(minutes.strip())  # form posts send text
        if not isinstance(minutes, int) or isinstance(minutes, bool):
            raise SnoozeInputError("minutes", "Must be a whole number of minutes.")
        if minutes < 1:
            raise SnoozeInputError("minutes", "Must be 1 or more.")
        if timedelta(minutes=minutes) > MAX_SNOOZE:
            raise SnoozeInputError("minutes", f"At most {int(MAX_SNOOZE.total_seconds() // 60)} minutes (30 days).")
        until = now + timedelta(minutes=minutes)
    else:
        until = _until_parse(until_raw)
        if until <= now:
            raise SnoozeInputError("until", "Must be in the future.")
        if until - now > MAX_SNOOZE:
            raise SnoozeInputError("until", "At most 30 days from now.")
    return SnoozeRequest(until=until, note=_note_parse(body.get("note")))


def _until_parse(raw: Any) -> datetime:
    parsed = None
    if isinstance(raw, str):
        try:
            parsed = parse_datetime(raw.strip())
        except ValueError:
            parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise SnoozeInputError("until", "Must be an RFC 3339 date-time with a time zone.")
    return parsed


def _note_parse(raw: Any) -> str:
    if raw is None:
        return ""
    if not isinstance(raw, str):
        raise SnoozeInputError("note", "Must be text.")
    note = raw.strip()
    if len(note) > MAX_SNOOZE_NOTE_LENGTH:
        raise SnoozeInputError("note", f"At most {MAX_SNOOZE_NOTE_LENGTH} characters.")
    return note


def snooze_active(until: datetime | None, now: datetime) -> bool:
    return until is not None and until > now

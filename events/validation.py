"""Parse and validate incoming events without a serializer object per event.

The hot path of ingestion: a request of 1,000 events is decoded by orjson once and each
event is checked by plain functions, so validation costs microseconds per event. The
result is a list of `EventRecord`s ready for a single INSERT, or every problem found,
each with the event's index (and line, for NDJSON) and the field at fault.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from django.conf import settings

from alertsite.jsonexact import json_loads_exact

# Patterns that validate input are used with fullmatch: `$` would also accept a trailing newline.
EVENT_TYPE_RE = re.compile(r"[a-z][a-z0-9_]*")
EVENT_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
RFC3339_RE = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")
# An escaped NUL (\u0000) not preceded by an escaped backslash: jsonb cannot store it.
ESCAPED_NUL_RE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
MAX_EVENT_TYPE_LENGTH = 100
INT_MIN, INT_MAX = -(2**63), 2**64 - 1
INT_RANGE_MESSAGE = "Integer out of range (more than 64 bits); send it as a string."
MAX_INT_RANGE_ERRORS = 20


@dataclass(frozen=True, slots=True)
class EventError:
    """One problem with one event: where it is and what is wrong."""

    index: int | None
    field: str | None
    message: str
    line: int | None = None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"index": self.index, "field": self.field, "message": self.message}
        if self.line is not None:
            data["line"] = self.line
        return data


class MalformedBody(Exception):
    """The body is not JSON / NDJSON, or not events at all (400)."""

    def __init__(self, error: EventError) -> None:
        super().__init__(error.message)
        self.error = error


class LimitExceeded(Exception):
    """A size limit of api.md section 3 was exceeded (413)."""

    def __init__(self, message: str, index: int | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.error = EventError(index=index, field=None, message=message, line=line)


@dataclass(slots=True)
class EventRecord:
    """An accepted event: the indexed columns plus the payload as JSON text."""

    event_id: str
    event_type: str
    service: str
    timestamp: datetime
    initiator: str
    resource: str
    client_ip: str
    success: bool | None
    payload_json: str
    causal_depth: int = 0
    line: int | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Limits:
    max_events: int
    max_body_bytes: int
    max_event_bytes: int
    max_depth: int

    @classmethod
    def from_settings(cls) -> Limits:
        return cls(
            max_events=settings.ALERTSITE_INGEST_MAX_EVENTS,
            max_body_bytes=settings.ALERTSITE_INGEST_MAX_BODY_BYTES,
            max_event_bytes=settings.ALERTSITE_INGEST_MAX_EVENT_BYTES,
            max_depth=settings.ALERTSITE_INGEST_MAX_DEPTH,
        )


# -- decoding -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NotUtf8:
    """Where bytes stop being UTF-8: the bad byte, its offset and line (in the body or file)."""

    byte: int
    offset: int
    line: int

    def describe(self) -> str:
        return f"byte 0x{self.byte:02X} at byte offset {self.offset} (line {self.line}) is not valid UTF-8"


def utf8_check(raw: bytes, *, offset: int = 0, line: int = 1) -> NotUtf8 | None:
    """None when `raw` is UTF-8, else where it is not; `offset` and `line` are those of raw's first byte.

    orjson refuses such input with "str is not valid UTF-8: surrogates not allowed" at
    position 0, which says neither what is wrong nor where; this is called only then.
    """
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return NotUtf8(raw[exc.start], offset + exc.start, line + raw.count(b"\n", 0, exc.start))
    return None


def decode_json_body(body: bytes, *, max_events: int) -> list[Any]:
    """Decode a JSON body holding one event object or an array of them."""
    try:
        data = json_loads_exact(body)
    except orjson.JSONDecodeError as exc:
        not_utf8 = utf8_check(body)
        if not_utf8 is not None:
            message = f"The body is not UTF-8: {not_utf8.describe()}; send the events encoded as UTF-8."
            raise MalformedBody(EventError(None, None, message, not_utf8.line)) from exc
        raise MalformedBody(
            EventError(None, None, f"Malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}", exc.lineno)
        ) from exc
    if isinstance(data, dict):
        return [data]
    if isinstance(data, list):
        if not data:
            raise MalformedBody(EventError(None, None, "The request holds no events: the array is empty."))
        if len(data) > max_events:
            raise LimitExceeded(f"Too many events: {len(data)} in one request; the limit is {max_events}.")
        return data
    raise MalformedBody(
        EventError(None, None, f"Expected an event object or an array of event objects, got {_json_kind(data)}.")
    )


def decode_ndjson_body(body: bytes, *, max_events: int) -> tuple[list[Any], list[int]]:
    """Decode NDJSON: one event object a line; blank lines are ignored. Returns events and their lines."""
    lines = [(number, raw) for number, raw in enumerate(body.split(b"\n"), start=1) if raw.strip()]
    if not lines:
        raise MalformedBody(EventError(None, None, "The request holds no events: the body is empty."))
    if len(lines) > max_events:
        raise LimitExceeded(f"Too many events: {len(lines)} in one request; the limit is {max_events}.")
    events: list[Any] = []
    for index, (number, raw) in enumerate(lines):
        try:
            events.append(json_loads_exact(raw))
        except orjson.JSONDecodeError as exc:
            line_start = sum(len(part) + 1 for part in body.split(b"\n", number - 1)[: number - 1])
            not_utf8 = utf8_check(raw, offset=line_start, line=number)
            if not_utf8 is not None:
                message = f"Line {number} is not UTF-8: {not_utf8.describe()}; send the events encoded as UTF-8."
                raise MalformedBody(EventError(index, None, message, number)) from exc
            raise MalformedBody(
                EventError(index, None, f"Malformed JSON on line {number}, column {exc.colno}: {exc.msg}", number)
            ) from exc
    return events, [number for number, _ in lines]


def _json_kind(value: Any) -> str:
    return {str: "a string", bool: "a boolean", int: "a number", float: "a number", type(None): "null"}.get(
        type(value), type(value).__name__
    )


# -- validation -----------------------------------------------------------------------


def int_out_of_range_paths(value: Any, *, limit: int = MAX_INT_RANGE_ERRORS) -> list[str]:
    """Paths (`details.counts[2]`) of integers beyond 64 bits, in document order, at most `limit`."""
    paths: list[str] = []
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack and len(paths) < limit:
        node, path = stack.pop()
        if isinstance(node, dict):
            items = [(child, f"{path}.{key}" if path else str(key)) for key, child in node.items()]
        elif isinstance(node, list):
            items = [(child, f"{path}[{position}]") for position, child in enumerate(node)]
        else:
            if type(node) is int and not INT_MIN <= node <= INT_MAX:
                paths.append(path)
            continue
        stack.extend(reversed(items))
    return paths


def derive_event_id(event: dict[str, Any]) -> str:
    """SHA-256 hex of the canonical JSON (sorted keys, no spaces, UTF-8): a retried event stays a duplicate."""
    return hashlib.sha256(orjson.dumps(event, option=orjson.OPT_SORT_KEYS)).hexdigest()


def nesting_depth(value: Any) -> int:
    """Depth of nested objects/arrays (a flat object is 1), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def parse_timestamp(value: Any) -> datetime | str:
    """Return an aware datetime, or the message saying what is wrong with `value`."""
    if not isinstance(value, str):
        return f"must be an RFC 3339 date-time string, got {_json_kind(value)}"
    if not RFC3339_RE.fullmatch(value):
        return f"must be an RFC 3339 date-time with a time zone, e.g. 2025-03-02T09:14:03Z; got {value[:64]!r}"
    try:
        return datetime.fromisoformat(value.upper().replace(" ", "T"))
    except ValueError as exc:
        return f"is not a valid date-time ({exc}); got {value[:64]!r}"


def event_validate(
    event: Any, *, index: int, limits: Limits, line: int | None = None, causal_depth: int = 0
) -> EventRecord | list[EventError]:
    """Check one decoded event; return its record or its errors. Raises LimitExceeded for size/depth."""
    if not isinstance(event, dict):
        return [EventError(index, None, f"Each event must be a JSON object, got {_json_kind(event)}.", line)]
    try:
        payload = orjson.dumps(event)
    except orjson.JSONEncodeError:
        paths = int_out_of_range_paths(event)
        if not paths:
            raise
        return [EventError(index, path, INT_RANGE_MESSAGE, line) for path in paths]
    if len(payload) > limits.max_event_bytes:
        raise LimitExceeded(
            f"Event {index} is {len(payload):,} bytes; the limit is {limits.max_event_bytes:,} bytes an event.",
            index,
            line,
        )
    # Counting brackets is C-fast; only an event with many containers needs the walk.
    if payload.count(b"{") + payload.count(b"[") > limits.max_depth:
        depth = nesting_depth(event)
        if depth > limits.max_depth:
            raise LimitExceeded(
                f"Event {index} is nested {depth} levels deep; the limit is {limits.max_depth}.", index, line
            )

    errors: list[EventError] = []
    event_type = event.get("event_type")
    if event_type is None:
        errors.append(EventError(index, "event_type", "This field is required.", line))
    elif not isinstance(event_type, str):
        errors.append(EventError(index, "event_type", f"Must be a string, got {_json_kind(event_type)}.", line))
    elif len(event_type) > MAX_EVENT_TYPE_LENGTH:
        errors.append(EventError(index, "event_type", f"At most {MAX_EVENT_TYPE_LENGTH} characters.", line))
    elif not EVENT_TYPE_RE.fullmatch(event_type):
        errors.append(
            EventError(
                index,
                "event_type",
                f"Must be snake_case: a lowercase letter, then lowercase letters, digits or '_'; got {event_type!r}.",
                line,
            )
        )

    raw_timestamp = event.get("timestamp")
    timestamp: datetime | str
    if raw_timestamp is None:
        timestamp = "This field is required."
    else:
        timestamp = parse_timestamp(raw_timestamp)
        if isinstance(timestamp, str):
            timestamp = f"Timestamp {timestamp}."
    if isinstance(timestamp, str):
        errors.append(EventError(index, "timestamp", timestamp, line))

    raw_id = event.get("id")
    if raw_id is None:
        event_id = ""
    elif not isinstance(raw_id, str) or not EVENT_ID_RE.fullmatch(raw_id):
        shown = raw_id[:80] if isinstance(raw_id, str) else _json_kind(raw_id)
        errors.append(
            EventError(index, "id", f"Must be 1 to 64 characters of A-Z, a-z, 0-9, '_' or '-'; got {shown!r}.", line)
        )
        event_id = ""
    else:
        event_id = raw_id

    if b"u0000" in payload and ESCAPED_NUL_RE.search(payload):
        errors.append(EventError(index, None, "Contains a NUL character (\\u0000), which cannot be stored.", line))

    if errors:
        return errors
    assert isinstance(timestamp, datetime) and isinstance(event_type, str)
    return EventRecord(
        event_id=event_id or derive_event_id(event),
        event_type=event_type,
        service=_text(event.get("service"), 64),
        timestamp=timestamp,
        initiator=_first_text(event.get("initiated_by"), ("email", "username", "id"), 255),
        resource=_first_text(event.get("resource"), ("email", "username", "name", "displayName", "id"), 255),
        client_ip=_text(event.get("client_ip"), 64),
        success=event.get("success") if isinstance(event.get("success"), bool) else None,
        payload_json=payload.decode(),
        causal_depth=causal_depth,
        line=line,
    )


def _text(value: Any, limit: int) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _first_text(value: Any, keys: tuple[str, ...], limit: int) -> str:
    if not isinstance(value, dict):
        return ""
    for key in keys:
        text = value.get(key)
        if isinstance(text, str) and text:
            return text[:limit]
    return ""


def events_validate(
    events: list[Any], *, limits: Limits, lines: list[int] | None = None
) -> tuple[list[EventRecord], list[EventError]]:
    """Validate a decoded batch. All-or-nothing is the caller's choice: both lists come back."""
    records: list[EventRecord] = []
    errors: list[EventError] = []
    for index, event in enumerate(events):
        result = event_validate(event, index=index, limits=limits, line=lines[index] if lines else None)
        if isinstance(result, list):
            errors.extend(result)
        else:
            records.append(result)
    return records, errors

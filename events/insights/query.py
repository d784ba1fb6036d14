"""Parse a vendor query body into a typed query, or say what is wrong with it (a QueryError, 400).

The vendor's rules kept here, because scripts written against it rely on them:
- `service` is required and a list of the vendor's service names; `all` means every service.
- `start_time` is required, `end_time` optional, both RFC 3339 with a zone; start inclusive,
  end exclusive; an end before the start is an error.
- A nonsensical `limit` (missing, 0, negative, not an integer, over 10,000) means the default,
  1,000. A `sort` other than ASC/DESC (any case) means ASC.
- Fields of the vendor's bodies that alertsite does not support (`q`, `exact_match`, `skip`)
  answer 400 naming them, unless they are empty (`""`, `0`, null), which asks for nothing.
  Fields of another vendor body that mean nothing here (`sort` sent to `/distinct`, as the
  vendor's own samples do) are ignored; names the vendor does not have answer 400.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson

from events.catalog import ALL_SERVICES, VENDOR_SERVICES
from events.validation import parse_timestamp

DEFAULT_LIMIT = 1_000
MAX_LIMIT = 10_000
MAX_FIELDS = 100
MAX_PATH_LENGTH = 200

SERVICES = frozenset(VENDOR_SERVICES)

# Every property of the vendor's four query bodies (EventQuery, EventDistinctQuery, EventIntervalQuery).
VENDOR_FIELDS = frozenset(
    {
        "service",
        "start_time",
        "end_time",
        "exact_match",
        "fields",
        "limit",
        "q",
        "search_after",
        "search_term",
        "skip",
        "sort",
        "field",
        "interval_unit",
        "interval_value",
        "timezone",
    }
)
UNSUPPORTED_FIELDS = ("q", "exact_match", "skip")
INTERVAL_SECONDS = {"s": 1, "m": 60, "h": 3_600, "d": 86_400, "w": 604_800}
# Dotted path: segments of any characters but the dot, none empty.
PATH_RE = re.compile(r"[^.]+(?:\.[^.]+)*")
OFFSET_RE = re.compile(r"([+-])(\d{2}):?(\d{2})")


class QueryError(ValueError):
    """A body the API cannot answer: the message goes to the client with a 400."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True, slots=True)
class Filters:
    """What every endpoint filters on: services (empty = all), the time range, and the search term."""

    services: tuple[str, ...]
    start_time: datetime
    end_time: datetime | None
    search_term: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class Cursor:
    """The last row of the previous page: its timestamp and primary key."""

    timestamp: datetime
    pk: int

    def header(self) -> str:
        """The `X-Search_after` value: a JSON array of strings, as the vendor's schema types it."""
        stamp = self.timestamp.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return orjson.dumps([stamp, str(self.pk)]).decode()


@dataclass(frozen=True, slots=True)
class EventQuery:
    filters: Filters
    limit: int
    descending: bool
    fields: tuple[tuple[str, ...], ...]
    search_after: Cursor | None


@dataclass(frozen=True, slots=True)
class DistinctQuery:
    filters: Filters
    field: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class IntervalQuery:
    filters: Filters
    width: timedelta
    unit: str
    tz: timezone


def decode_body(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object."""
    if not raw.strip():
        raise QueryError("The request body is empty: send a JSON object with service and start_time.")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise QueryError(f"The request body is not valid JSON: {exc}.") from exc
    if not isinstance(body, dict):
        raise QueryError("The request body must be a JSON object.")
    return body


def event_query_parse(body: dict[str, Any]) -> EventQuery:
    """The body of `/events` (and of `/events/count`, which ignores paging and projection)."""
    filters = _filters(body)
    return EventQuery(
        filters=filters,
        limit=_limit(body.get("limit")),
        descending=isinstance(body.get("sort"), str) and body["sort"].upper() == "DESC",
        fields=_fields(body.get("fields")),
        search_after=_search_after(body.get("search_after")),
    )


def distinct_query_parse(body: dict[str, Any]) -> DistinctQuery:
    filters = _filters(body)
    field = body.get("field")
    if field is None:
        raise QueryError("field is required: the dotted name of the field to count values of.", "field")
    return DistinctQuery(filters=filters, field=_path(field, "field"))


def interval_query_parse(body: dict[str, Any]) -> IntervalQuery:
    filters = _filters(body)
    unit = body.get("interval_unit")
    if unit not in INTERVAL_SECONDS:
        raise QueryError(f"interval_unit must be one of s, m, h, d, w; got {_show(unit)}.", "interval_unit")
    value = body.get("interval_value", "1")
    if value is None or value == "":
        value = "1"
    count = _whole_number(value)
    if count is None or count < 1 or count > 1_000_000:
        raise QueryError(
            f"interval_value must be a whole number from 1 to 1000000, as a string; got {_show(value)}.",
            "interval_value",
        )
    return IntervalQuery(
        filters=filters,
        width=timedelta(seconds=INTERVAL_SECONDS[unit] * count),
        unit=unit,
        tz=_timezone(body.get("timezone")),
    )


# -- parts ------------------------------------------------------------------------------------------


def _filters(body: dict[str, Any]) -> Filters:
    unknown = sorted(set(body) - VENDOR_FIELDS)
    if unknown:
        raise QueryError(f"Unknown field(s) in the query body: {', '.join(unknown)}.", unknown[0])
    unsupported = [name for name in UNSUPPORTED_FIELDS if body.get(name) not in (None, "", 0)]
    if unsupported:
        raise QueryError(
            f"alertsite does not support {', '.join(unsupported)}: use search_term instead.", unsupported[0]
        )
    start = _time(body.get("start_time"), "start_time", required=True)
    assert start is not None
    end = _time(body.get("end_time"), "end_time", required=False)
    if end is not None and end < start:
        raise QueryError("end_time must not be before start_time.", "end_time")
    search_term = body.get("search_term")
    if search_term is not None and not isinstance(search_term, dict):
        raise QueryError("search_term must be an object with and, or, not.", "search_term")
    return Filters(services=_services(body.get("service")), start_time=start, end_time=end, search_term=search_term)


def _services(value: Any) -> tuple[str, ...]:
    if value is None:
        raise QueryError('service is required: a list of service names, or ["all"].', "service")
    if not isinstance(value, list) or not value or not all(isinstance(name, str) for name in value):
        raise QueryError(f"service must be a non-empty list of service names; got {_show(value)}.", "service")
    unknown = sorted({name for name in value if name != ALL_SERVICES and name not in SERVICES})
    if unknown:
        raise QueryError(
            f"Unknown service(s): {', '.join(unknown)}. Known: all, {', '.join(sorted(SERVICES))}.", "service"
        )
    if ALL_SERVICES in value:
        return ()
    return tuple(sorted(set(value)))


def _time(value: Any, name: str, *, required: bool) -> datetime | None:
    if value is None:
        if required:
            raise QueryError(f"{name} is required: an RFC 3339 date-time such as 2025-03-02T09:14:03Z.", name)
        return None
    parsed = parse_timestamp(value)
    if isinstance(parsed, str):
        raise QueryError(f"{name} {parsed}.", name)
    return parsed


def _limit(value: Any) -> int:
    # As the vendor: anything that is not a whole number in 1..MAX_LIMIT means the default.
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_LIMIT:
        return DEFAULT_LIMIT
    return value


def _fields(value: Any) -> tuple[tuple[str, ...], ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > MAX_FIELDS:
        raise QueryError(f"fields must be a list of at most {MAX_FIELDS} field names.", "fields")
    return tuple(dict.fromkeys(_path(name, "fields") for name in value))


def _path(value: Any, name: str) -> tuple[str, ...]:
    if not isinstance(value, str) or len(value) > MAX_PATH_LENGTH or not PATH_RE.fullmatch(value):
        raise QueryError(f"{name} takes dotted field names such as initiated_by.username; got {_show(value)}.", name)
    return tuple(value.split("."))


def _search_after(value: Any) -> Cursor | None:
    if value is None or value == []:
        return None
    message = "search_after must be the X-Search_after header of the previous page, sent back as it came."
    if not isinstance(value, list) or len(value) != 2 or not isinstance(value[0], str):
        raise QueryError(message, "search_after")
    stamp = parse_timestamp(value[0])
    pk = _whole_number(value[1])
    if isinstance(stamp, str) or pk is None or pk < 0:
        raise QueryError(message, "search_after")
    return Cursor(timestamp=stamp, pk=pk)


def _timezone(value: Any) -> timezone:
    if value in (None, "", "Z", "UTC"):
        return UTC
    match = OFFSET_RE.fullmatch(value) if isinstance(value, str) else None
    if match is None or int(match[2]) > 23 or int(match[3]) > 59:
        raise QueryError(f"timezone must be a UTC offset such as -0500 or +05:30; got {_show(value)}.", "timezone")
    offset = timedelta(hours=int(match[2]), minutes=int(match[3]))
    return timezone(-offset if match[1] == "-" else offset)


def _whole_number(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18:
        return int(value)
    return None


def _show(value: Any) -> str:
    text = orjson.dumps(value).decode() if not isinstance(value, str) else repr(value)
    return text if len(text) <= 64 else text[:61] + "..."

"""A local stand-in of JumpCloud's Directory Insights query API, for the tests of the sources (api.md section 8).

``VendorStandin`` is a ``ThreadingHTTPServer`` on 127.0.0.1:<free port> answering
``POST /insights/directory/v1/events`` and ``/events/count`` as the vendor does
(``vendor/directory-insights.swagger.json``), recording every request, and misbehaving on demand::

    with VendorStandin() as vendor:
        vendor.add(vendor.make_events(2500, same_timestamp=True))
        vendor.add(vendor.make_events(10, org="org-b"), org="org-b")
        vendor.fail_next("429", retry_after=2)
        vendor.fail_next("503", times=2)
        vendor.after_request(3, lambda v: v.add_late(v.make_events(5, start=earlier)))
        ...  # point a source at vendor.url with vendor.api_key
        assert vendor.requests[0].headers["x-api-key"] == vendor.api_key

Vendor semantics, as implemented:

- Auth: ``x-api-key`` must equal ``api_key`` (``rotate_key`` changes it), else 401
  ``{"message": "unauthorized"}``. Without ``x-org-id`` the key's own organisation
  (``org_id``) is read; ``x-org-id: X`` reads organisation X (an organisation with no events
  answers an empty page, not an error: use ``fail_next("403")`` for a refused organisation).
- Body: ``service`` (required, non-empty list of the vendor's service names; ``all`` = any),
  ``start_time`` (required, RFC 3339; ``timestamp >= start_time``), ``end_time``
  (``timestamp < end_time``; before ``start_time`` is a 400), ``sort`` (``ASC``/``DESC`` in any
  case, anything else means ASC), ``limit`` (1..``MAX_LIMIT``; larger is capped at
  ``MAX_LIMIT``; missing or nonsensical gives ``default_limit``, 1,000 as the vendor documents),
  ``search_after`` (the JSON array of the previous ``X-Search_after`` header:
  ``[epoch_millis, "<id>"]``), ``fields`` (projection). ``q``, ``exact_match``, ``skip`` and
  ``search_term`` are accepted and ignored. A bad body answers 400 ``{"message": ...}``.
- Order: by ``(timestamp millis, id)`` ascending, or both descending for DESC; ``search_after``
  resumes strictly after that key, so paging returns every event exactly once even when
  thousands share one timestamp.
- Headers: ``X-Result-Count`` (rows in this answer), ``X-Limit``, ``X-Sort``, ``X-Search_after``
  (compact JSON of the last row's sort key), ``X-Request-Id`` (a uuid4, on every answer),
  ``Content-Type: application/json``. On an empty page ``X-Search_after`` is, by
  ``empty_page_search_after``: ``"echo"`` (default; the request's ``search_after``, or no header
  when it had none) or ``"omit"`` (never sent on an empty page).
- ``page_delay`` (constructor argument or attribute): every ``/events`` answer waits that many
  seconds first, so a multi-page backfill takes a while (e.g. to kill a worker in the middle).
- ``/events/count`` answers ``{"count": n}`` for the same filters (``search_after`` and ``limit``
  ignored).

Faults (``fail_next(kind, times=1, **opts)``) are queued and consumed in order, one per request
to the API paths (``path="events"`` or ``path="count"`` restricts a fault to one endpoint).
Status faults answer instead of the vendor; page faults (``repeat_page``, ``missing_search_after``,
``invalid_rows``, ``rows_without_id``) change an answer that would have been a 200 page and
leave error answers (401, 400) as they are, being consumed all the same. See ``FAULT_KINDS``.
"""

from __future__ import annotations

import json
import secrets
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

EVENTS_PATH = "/insights/directory/v1/events"
COUNT_PATH = "/insights/directory/v1/events/count"
MAX_LIMIT = 10_000
DEFAULT_ORG_ID = "5f0c1c2d3e4f5a6b7c8d9e0f"

SERVICES = (
    "alerts",
    "all",
    "directory",
    "ldap",
    "mdm",
    "notifications",
    "object_storage",
    "password_manager",
    "radius",
    "reports",
    "saas_app_management",
    "software",
    "sso",
    "systems",
    "access_management",
    "asset_management",
)

FAULT_KINDS: dict[str, str] = {
    "429": "429 with Retry-After: opts.get('retry_after', 1)",
    "429_no_retry_after": "429 without Retry-After",
    "500": "500 with a JSON message",
    "502": "502 with a JSON message",
    "503": "503 with a JSON message (Retry-After when opts['retry_after'] is given)",
    "slow": "sleep opts['seconds'] (default 2), then answer normally",
    "drop": "close the connection without any response",
    "repeat_page": "answer the previous 200 page of the same endpoint again, body and headers alike",
    "401": "401 {'message': 'unauthorized'} whatever the key",
    "403": "403 {'message': 'forbidden'}",
    "non_json": "200 with an HTML body (Content-Type text/html)",
    "not_array": "200 with {'oops': 1}",
    "missing_search_after": "the normal page without the X-Search_after header",
    "invalid_rows": "the normal page plus opts['count'] (default 3) invalid rows spread through it; "
    "X-Result-Count counts them, X-Search_after stays the last real row's key",
    "rows_without_id": "the normal page with 'id' removed from every row (paging keys unchanged)",
}

# The ways an injected invalid row is broken, used in turn by the "invalid_rows" fault.
INVALID_ROW_KINDS = ("missing_timestamp", "bad_timestamp", "missing_event_type")

_STATUS_FAULTS = {
    "401": (401, "unauthorized"),
    "403": (403, "forbidden"),
    "429": (429, "Too Many Requests"),
    "429_no_retry_after": (429, "Too Many Requests"),
    "500": (500, "internal server error"),
    "502": (502, "bad gateway"),
    "503": (503, "service unavailable"),
}

_EVENT_TYPES = {
    "directory": ("user_create", "user_update", "user_delete", "group_create", "admin_login_attempt"),
    "sso": ("sso_auth",),
    "ldap": ("ldap_bind", "ldap_search"),
    "radius": ("radius_auth",),
    "systems": ("login_attempt", "user_lockout"),
    "mdm": ("mdm_command_result",),
    "password_manager": ("password_manager_item_accessed",),
}


def rfc3339_millis(moment: datetime) -> str:
    """``2026-12-01T10:00:00.123Z``: the vendor's timestamp format."""
    moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_time(value: Any) -> datetime:
    """An RFC 3339 time (``Z`` or an offset; none means UTC) as an aware datetime; ValueError if not one."""
    if not isinstance(value, str) or "T" not in value.upper():
        raise ValueError(value)
    moment = datetime.fromisoformat(value.strip())
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def epoch_millis(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)


def sort_key(event: dict[str, Any]) -> tuple[int, str]:
    """The vendor's paging key of a stored event: ``(epoch millis of its timestamp, id)``."""
    return epoch_millis(parse_time(event["timestamp"])), str(event["id"])


@dataclass
class RecordedRequest:
    """One request as received, completed with how it was answered."""

    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    raw_body: bytes
    body: Any  # the parsed JSON body, None when absent or not JSON
    at: float  # time.time() on arrival
    status: int | None = None  # None while being answered and for a dropped connection
    rows: int = 0  # rows in the answered array (injected invalid rows included)
    fault: str | None = None  # the fault kind applied, if any
    response_headers: dict[str, str] = field(default_factory=dict)
    done: bool = False  # answered or dropped

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class _Fault:
    kind: str
    opts: dict[str, Any]
    path: str | None  # None, "events" or "count"


@dataclass
class _Answer:
    status: int
    body: bytes
    headers: dict[str, str]
    rows: int = 0
    content_type: str = "application/json"


class _QueryError(Exception):
    pass


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive, as the vendor; close() shuts idle connections
    timeout = 10  # an idle keep-alive connection ends after this

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        self.server.standin._serve(self, raw)

    do_POST = do_GET = do_PUT = do_PATCH = do_DELETE = _handle

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def drop(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def reply(self, answer: _Answer) -> None:
        try:
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)
            self.wfile.flush()
        except OSError:
            self.close_connection = True  # the client gave up (its timeout) or went away


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    standin: VendorStandin

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.open_connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            self.open_connections.add(request)
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self.connections_lock:
                self.open_connections.discard(request)

    def close_connections(self) -> None:
        with self.connections_lock:
            connections = list(self.open_connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # broken pipes after a client timeout or a dropped connection are expected here


class VendorStandin:
    """A real HTTP server on 127.0.0.1 answering like Directory Insights' query API (see the module doc).

    Every public method is thread-safe and may be called while a poller is paging.
    """

    def __init__(
        self,
        *,
        api_key: str = "test-key",
        org_id: str = DEFAULT_ORG_ID,
        default_limit: int = 1000,
        empty_page_search_after: str = "echo",
        page_delay: float = 0.0,
    ) -> None:
        if empty_page_search_after not in ("echo", "omit"):
            raise ValueError("empty_page_search_after is 'echo' or 'omit'")
        self.api_key = api_key
        self.org_id = org_id  # the key's own organisation, read when no x-org-id is sent
        self.default_limit = default_limit
        self.empty_page_search_after = empty_page_search_after
        self.page_delay = page_delay  # seconds every /events answer waits (a slow multi-page backfill)
        self.requests: list[RecordedRequest] = []
        self._events: dict[str, list[tuple[tuple[int, str], dict[str, Any]]]] = {}
        self._ids: set[str] = set()
        self._faults: list[_Fault] = []
        self._callbacks: list[tuple[int, Callable[[VendorStandin], Any]]] = []
        self._last_page: dict[str, _Answer] = {}
        self._lock = threading.RLock()
        self._condition = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle
    def start(self) -> VendorStandin:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.standin = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="vendor-standin", daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop at once: slow answers stop waiting, open connections are shut."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.close_connections()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    stop = close

    def __enter__(self) -> VendorStandin:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def port(self) -> int:
        assert self._server is not None, "start the stand-in first"
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        """The base URL, as a source's ``base_url``: ``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def events_url(self) -> str:
        return self.url + EVENTS_PATH

    @property
    def count_url(self) -> str:
        return self.url + COUNT_PATH

    # -- keys and events
    def rotate_key(self, new: str) -> None:
        """From now on only ``new`` is accepted."""
        with self._lock:
            self.api_key = new

    def add(self, events: Iterable[dict[str, Any]], org: str | None = None) -> None:
        """Store events for organisation ``org`` (None: the key's own). Each needs ``id`` and ``timestamp``."""
        org = org or self.org_id
        with self._lock:
            store = self._events.setdefault(org, [])
            for event in events:
                store.append((sort_key(event), dict(event)))
                self._ids.add(str(event["id"]))
            store.sort(key=lambda item: item[0])

    def add_late(self, events: Iterable[dict[str, Any]], org: str | None = None) -> None:
        """Store events arriving late (typically older than ones already served, inside the overlap).

        The same as ``add``; named for what the test means, and meant for ``after_request`` callbacks.
        """
        self.add(events, org=org)

    def events(self, org: str | None = None) -> list[dict[str, Any]]:
        """The stored events of ``org`` (None: the key's own) in ascending paging order."""
        with self._lock:
            return [dict(event) for _, event in self._events.get(org or self.org_id, [])]

    def make_events(
        self,
        n: int,
        start: datetime | None = None,
        step: timedelta = timedelta(seconds=1),
        org: str | None = None,
        same_timestamp: bool = False,
        service: str = "directory",
        event_type: str | None = None,
    ) -> list[dict[str, Any]]:
        """``n`` realistic events with ids unique in this stand-in (not stored: pass them to ``add``).

        Timestamps run from ``start`` (default: ``n`` steps plus an hour before now) by ``step``,
        or are all ``start`` when ``same_timestamp``; ``organization`` is ``org`` or the key's own.
        """
        step = timedelta(0) if same_timestamp else step
        if start is None:
            start = datetime.now(UTC) - step * n - timedelta(hours=1)
        start = start if start.tzinfo else start.replace(tzinfo=UTC)
        organization = org or self.org_id
        types = _EVENT_TYPES.get(service, (f"{service}_event",))
        events = []
        for index in range(n):
            event_id = self._new_id()
            user = f"user{index % 7}"
            events.append(
                {
                    "id": event_id,
                    "event_type": event_type or types[index % len(types)],
                    "service": service,
                    "timestamp": rfc3339_millis(start + step * index),
                    "organization": organization,
                    "@version": "1",
                    "success": index % 5 != 4,
                    "mfa": index % 3 == 0,
                    "client_ip": f"198.51.100.{index % 250 + 1}",
                    "initiated_by": {"id": secrets.token_hex(12), "type": "admin", "email": f"{user}@example.com"},
                    "resource": {"id": secrets.token_hex(12), "type": "user", "username": user},
                    "geoip": {"country_code": "US", "region_name": "Colorado", "timezone": "America/Denver"},
                    "useragent": {"name": "Chrome", "major": "120", "os": "Mac OS X", "device": "Other"},
                    "provider": None,
                }
            )
        return events

    def _new_id(self) -> str:
        with self._lock:
            while True:
                event_id = secrets.token_hex(12)  # 24 hex digits, like the vendor's ids
                if event_id not in self._ids:
                    self._ids.add(event_id)
                    return event_id

    # -- scripting
    def fail_next(self, kind: str, times: int = 1, *, path: str | None = None, **opts: Any) -> None:
        """Queue ``times`` faults of ``kind`` (see ``FAULT_KINDS``) for the next requests, in order.

        ``path``: None (any API request), ``"events"`` or ``"count"``. Options: ``retry_after``
        (429, 503), ``message`` (the status faults' JSON message), ``seconds`` (slow), ``count`` and
        ``kinds`` (invalid_rows).
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; one of {', '.join(FAULT_KINDS)}")
        if path not in (None, "events", "count"):
            raise ValueError("path is None, 'events' or 'count'")
        with self._lock:
            self._faults.extend(_Fault(kind, dict(opts), path) for _ in range(times))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    @property
    def pending_faults(self) -> list[str]:
        with self._lock:
            return [fault.kind for fault in self._faults]

    def after_request(self, n: int, callback: Callable[[VendorStandin], Any]) -> None:
        """Call ``callback(standin)`` once the ``n``-th request (1-based, counting all) is answered.

        It runs after that answer is computed and before it is sent, so the client's next request
        already sees its effect (e.g. ``add_late``).
        """
        with self._lock:
            if n <= len(self.requests):
                raise ValueError(f"request {n} has already arrived ({len(self.requests)} so far)")
            self._callbacks.append((n, callback))

    def wait_for(self, count: int, timeout: float = 10.0) -> list[RecordedRequest]:
        """Wait until at least ``count`` requests have been answered (or dropped); return them all."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while sum(1 for request in self.requests if request.done) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} request(s) within {timeout}s, got {len(self.requests)}")
                self._condition.wait(left)
            return list(self.requests)

    @property
    def event_requests(self) -> list[RecordedRequest]:
        """The recorded requests to ``/events``."""
        with self._lock:
            return [request for request in self.requests if request.path == EVENTS_PATH]

    # -- serving
    def _serve(self, handler: _Handler, raw: bytes) -> None:
        path = handler.path.split("?", 1)[0]
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        record = RecordedRequest(
            method=handler.command,
            path=path,
            headers={name.lower(): value for name, value in handler.headers.items()},
            raw_body=raw,
            body=body,
            at=time.time(),
        )
        endpoint = {EVENTS_PATH: "events", COUNT_PATH: "count"}.get(path)
        with self._condition:
            self.requests.append(record)
            number = len(self.requests)
            fault = self._take_fault(endpoint) if endpoint else None
            self._condition.notify_all()
        record.fault = fault.kind if fault else None

        if fault is not None and fault.kind == "slow":
            self._stopping.wait(float(fault.opts.get("seconds", 2)))
        if endpoint == "events" and self.page_delay > 0:
            self._stopping.wait(self.page_delay)
        if fault is not None and fault.kind == "drop":
            self._run_callbacks(number)
            handler.drop()
            with self._condition:
                record.done = True
                self._condition.notify_all()
            return

        answer = self._answer(handler.command, endpoint, record, fault)
        record.status, record.rows, record.response_headers = answer.status, answer.rows, dict(answer.headers)
        self._run_callbacks(number)
        with self._condition:
            record.done = True
            self._condition.notify_all()
        if self._stopping.is_set():
            handler.drop()
            return
        handler.reply(answer)

    def _take_fault(self, endpoint: str) -> _Fault | None:
        for index, fault in enumerate(self._faults):
            if fault.path in (None, endpoint):
                return self._faults.pop(index)
        return None

    def _run_callbacks(self, number: int) -> None:
        with self._lock:
            due = [callback for n, callback in self._callbacks if n == number]
            self._callbacks = [(n, callback) for n, callback in self._callbacks if n != number]
        for callback in due:
            callback(self)

    def _answer(self, method: str, endpoint: str | None, record: RecordedRequest, fault: _Fault | None) -> _Answer:
        if endpoint is None:
            return _error(404, "not found")
        if method != "POST":
            return _error(405, "method not allowed")
        kind = fault.kind if fault else None
        opts = fault.opts if fault else {}
        if kind in _STATUS_FAULTS:
            status, message = _STATUS_FAULTS[kind]
            answer = _error(status, str(opts.get("message", message)))
            retry_after = opts.get("retry_after", 1 if kind == "429" else None)
            if kind in ("429", "503") and retry_after is not None:
                answer.headers["Retry-After"] = str(retry_after)
            return answer
        if kind == "non_json":
            return _Answer(
                200, b"<html><body><h1>Service temporarily unavailable</h1></body></html>", {}, 0, "text/html"
            )
        if kind == "not_array":
            return _Answer(200, b'{"oops": 1}', {"X-Request-Id": str(uuid.uuid4())})
        if kind == "repeat_page":
            with self._lock:
                previous = self._last_page.get(endpoint)
            if previous is not None:
                return previous

        with self._lock:
            key = self.api_key
        if record.headers.get("x-api-key") != key:
            return _error(401, "unauthorized")
        body = record.body
        if not isinstance(body, dict):
            return _error(400, "request body must be a JSON object")
        org = record.headers.get("x-org-id") or self.org_id
        try:
            answer = self._query(endpoint, body, org, fault)
        except _QueryError as error:
            return _error(400, str(error))
        with self._lock:
            self._last_page[endpoint] = answer
        return answer

    def _query(self, endpoint: str, body: dict[str, Any], org: str, fault: _Fault | None) -> _Answer:
        services = body.get("service")
        if not isinstance(services, list) or not services or not all(isinstance(s, str) for s in services):
            raise _QueryError("service is required: a list of service names")
        unknown = [s for s in services if s not in SERVICES]
        if unknown:
            raise _QueryError(f"invalid service {', '.join(unknown)}; valid services: {', '.join(SERVICES)}")
        if "start_time" not in body:
            raise _QueryError("start_time is required")
        try:
            start = parse_time(body["start_time"])
        except ValueError:
            raise _QueryError("start_time is not a valid RFC3339 date") from None
        end = None
        if body.get("end_time") is not None:
            try:
                end = parse_time(body["end_time"])
            except ValueError:
                raise _QueryError("end_time is not a valid RFC3339 date") from None
            if end < start:
                raise _QueryError("end_time is before start_time")
        descending = isinstance(body.get("sort"), str) and body["sort"].upper() == "DESC"
        limit = body.get("limit")
        if not isinstance(limit, int) or isinstance(limit, bool) or limit <= 0:
            limit = self.default_limit
        limit = min(limit, MAX_LIMIT)
        after = None
        if body.get("search_after") is not None:
            after = _parse_search_after(body["search_after"])
        fields = body.get("fields")
        if fields is not None and not (isinstance(fields, list) and all(isinstance(f, str) for f in fields)):
            raise _QueryError("fields must be a list of field names")

        start_ms = epoch_millis(start)
        end_ms = epoch_millis(end) if end is not None else None
        any_service = "all" in services
        with self._lock:
            stored = list(self._events.get(org, []))
        matching = [
            (key, event)
            for key, event in stored
            if key[0] >= start_ms
            and (end_ms is None or key[0] < end_ms)
            and (any_service or event.get("service") in services)
        ]
        if endpoint == "count":
            return _Answer(200, json.dumps({"count": len(matching)}).encode(), {"X-Request-Id": str(uuid.uuid4())})

        if descending:
            matching.reverse()
            if after is not None:
                matching = [item for item in matching if item[0] < after]
        elif after is not None:
            matching = [item for item in matching if item[0] > after]
        page = matching[:limit]
        rows = [dict(event) for _, event in page]
        if fields:
            rows = [{name: row[name] for name in fields if name in row} for row in rows]

        kind = fault.kind if fault else None
        opts = fault.opts if fault else {}
        if kind == "rows_without_id":
            for row in rows:
                row.pop("id", None)
        if kind == "invalid_rows":
            rows = _with_invalid_rows(rows, int(opts.get("count", 3)), opts.get("kinds"), org)

        headers = {
            "X-Result-Count": str(len(rows)),
            "X-Limit": str(limit),
            "X-Sort": "DESC" if descending else "ASC",
            "X-Request-Id": str(uuid.uuid4()),
        }
        if page:
            headers["X-Search_after"] = _json_compact(list(page[-1][0]))
        elif self.empty_page_search_after == "echo" and body.get("search_after") is not None:
            headers["X-Search_after"] = _json_compact(body["search_after"])
        if kind == "missing_search_after":
            headers.pop("X-Search_after", None)
        return _Answer(200, json.dumps(rows).encode(), headers, len(rows))


def _parse_search_after(value: Any) -> tuple[int, str]:
    if not isinstance(value, list) or len(value) != 2:
        raise _QueryError("search_after must be the X-Search_after array of the previous page")
    millis, event_id = value
    try:
        if isinstance(millis, bool) or not isinstance(millis, int | str):
            raise ValueError(millis)
        millis = int(millis)
    except ValueError:
        raise _QueryError("search_after must be the X-Search_after array of the previous page") from None
    return millis, str(event_id)


def _with_invalid_rows(rows: list[dict[str, Any]], count: int, kinds: Any, org: str) -> list[dict[str, Any]]:
    """The page with ``count`` invalid rows spread through it (the last one may end the page)."""
    kinds = tuple(kinds or INVALID_ROW_KINDS)
    result = list(rows)
    for index in range(count):
        broken = {
            "id": "invalid-" + secrets.token_hex(8),
            "event_type": "user_update",
            "service": "directory",
            "timestamp": rfc3339_millis(datetime.now(UTC)),
            "organization": org,
        }
        how = kinds[index % len(kinds)]
        if how == "missing_timestamp":
            del broken["timestamp"]
        elif how == "bad_timestamp":
            broken["timestamp"] = "not a date"
        elif how == "missing_event_type":
            del broken["event_type"]
        else:
            raise ValueError(f"unknown invalid row kind {how!r}; one of {INVALID_ROW_KINDS}")
        position = round((index + 1) * len(rows) / count) + index if count else 0
        result.insert(min(position, len(result)), broken)
    return result


def _json_compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _error(status: int, message: str) -> _Answer:
    return _Answer(status, json.dumps({"message": message}).encode(), {"X-Request-Id": str(uuid.uuid4())})

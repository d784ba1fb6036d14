"""The vendor's Directory Insights query API, as a poller calls it (api.md §8).

One keep-alive connection per client, to the address checked by the private-address guard
(no second DNS lookup that a rebinding could answer differently). Every way a call can go
wrong becomes one of two errors: `VendorUnavailable` (try again later: 429, 5xx, timeouts,
dropped connections, a body that is not a JSON array) or `VendorRefused` (401, 403 and other
4xx: polling stops until someone edits the source). The API key is never in a message.
"""

from __future__ import annotations

import http.client
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson

from alertsite.netsafety import PinnedHTTPConnection, PinnedHTTPSConnection, UnsafeDestination, addresses_resolve
from alertsite.retry_after import retry_after_seconds
from events.validation import json_loads_exact

EVENTS_PATH = "/insights/directory/v1/events"
USER_AGENT = "alertsite-source/1"
SNIPPET = 200
# A page may hold up to 10,000 events of up to 256 KiB: refuse anything far past that.
MAX_BODY_BYTES = 1024 * 1024 * 1024


class VendorError(Exception):
    def __init__(self, message: str, *, status_code: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.retry_after = retry_after


class VendorUnavailable(VendorError):
    """Transient: back off (or wait Retry-After) and try again."""


class VendorRefused(VendorError):
    """Permanent until the source is changed: a wrong key, a forbidden organisation, a bad query."""


@dataclass(frozen=True, slots=True)
class Page:
    rows: list[Any]
    result_count: int  # X-Result-Count, else the number of rows
    limit: int | None  # X-Limit, if sent
    search_after: list[Any] | None  # X-Search_after decoded, if sent and valid
    request_id: str


def _header_int(headers: http.client.HTTPMessage, name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


def _search_after(headers: http.client.HTTPMessage) -> list[Any] | None:
    value = headers.get("X-Search_after") or headers.get("X-Search-After")
    if not value:
        return None
    try:
        decoded = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    return decoded if isinstance(decoded, list) and decoded else None


class DirectoryInsightsClient:
    """`with DirectoryInsightsClient(...) as client: client.events_page(body, org)`."""

    def __init__(self, *, base_url: str, api_key: str, timeout: float, allow_private: bool) -> None:
        parts = urlsplit(base_url)
        self.https = parts.scheme == "https"
        self.host = parts.hostname or ""
        self.port = parts.port or (443 if self.https else 80)
        self.prefix = parts.path.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout
        self.allow_private = allow_private
        self.connection: http.client.HTTPConnection | None = None

    def __enter__(self) -> DirectoryInsightsClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def _connect(self) -> http.client.HTTPConnection:
        if self.connection is None:
            try:
                address = addresses_resolve(self.host, self.port, allow_private=self.allow_private)[0]
            except UnsafeDestination as exc:
                raise VendorRefused(str(exc)) from exc
            except OSError as exc:
                raise VendorUnavailable(f"Cannot resolve {self.host}: {exc}") from exc
            if self.https:
                self.connection = PinnedHTTPSConnection(
                    self.host, self.port, address=address, timeout=self.timeout, verify=True
                )
            else:
                self.connection = PinnedHTTPConnection(self.host, self.port, address=address, timeout=self.timeout)
        return self.connection

    def post(self, path: str, body: dict[str, Any], *, org: str | None) -> tuple[int, http.client.HTTPMessage, bytes]:
        """One POST on the kept-alive connection; a connection the server closed is reopened once."""
        data = orjson.dumps(body)
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
            "x-api-key": self.api_key,
        }
        if org is not None:
            headers["x-org-id"] = org
        for attempt in (1, 2):
            reused = self.connection is not None
            connection = self._connect()
            try:
                connection.request("POST", self.prefix + path, body=data, headers=headers)
                response = connection.getresponse()
                payload = response.read(MAX_BODY_BYTES + 1)
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                # (RemoteDisconnected is a ConnectionResetError: an EOF or a reset look alike here.)
                self.close()
                if attempt == 1 and reused:
                    continue  # a kept-alive connection the server had closed meanwhile: once more, afresh
                raise VendorUnavailable(
                    f"The connection to {self.host} was dropped: {exc or type(exc).__name__}"
                ) from exc
            except TimeoutError as exc:
                self.close()
                raise VendorUnavailable(f"{self.host} did not answer within {self.timeout:g} s.") from exc
            except ssl.SSLError as exc:
                self.close()
                raise VendorUnavailable(f"TLS with {self.host} failed: {exc}") from exc
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                raise VendorUnavailable(f"Cannot reach {self.host}: {exc or type(exc).__name__}") from exc
            if len(payload) > MAX_BODY_BYTES:
                self.close()
                raise VendorUnavailable(f"The answer of {self.host} is larger than {MAX_BODY_BYTES:,} bytes.")
            if response.will_close:
                self.close()
            return response.status, response.headers, payload
        raise AssertionError("unreachable")  # pragma: no cover

    def events_page(self, body: dict[str, Any], *, org: str | None) -> Page:
        """One page of `POST /insights/directory/v1/events`."""
        status, headers, payload = self.post(EVENTS_PATH, body, org=org)
        _raise_for_status(status, headers, payload, secret=self.api_key)
        try:
            rows = json_loads_exact(payload)
        except (orjson.JSONDecodeError, ValueError, RecursionError):
            raise VendorUnavailable(
                f"The vendor answered {status} with a body that is not JSON: {_snippet(payload, self.api_key)!r}",
                status_code=status,
            ) from None
        if not isinstance(rows, list):
            raise VendorUnavailable(
                f"The vendor answered {status} with a JSON {type(rows).__name__}, not an array of events: "
                f"{_snippet(payload, self.api_key)!r}",
                status_code=status,
            )
        result_count = _header_int(headers, "X-Result-Count")
        return Page(
            rows=rows,
            result_count=len(rows) if result_count is None else result_count,
            limit=_header_int(headers, "X-Limit"),
            search_after=_search_after(headers),
            request_id=headers.get("X-Request-Id", ""),
        )


def _masked(text: str, secret: str) -> str:
    """The vendor's text with the API key masked: a vendor or a proxy may echo it back."""
    return text.replace(secret, "***") if secret else text


def _snippet(payload: bytes, secret: str) -> str:
    """The start of a body, for a message; the key masked before cutting, so no part of it is left."""
    head = payload[: SNIPPET + len(secret.encode())].decode("utf-8", "replace")
    return _masked(head, secret)[:SNIPPET]


def _raise_for_status(status: int, headers: http.client.HTTPMessage, payload: bytes, *, secret: str) -> None:
    if 200 <= status < 300:
        return
    detail = _snippet(payload, secret).strip()
    try:
        message = orjson.loads(payload).get("message") or detail
    except (orjson.JSONDecodeError, AttributeError):
        message = detail
    message = _masked(str(message), secret)
    if status == 429:
        raise VendorUnavailable(
            f"The vendor is throttling requests (429): {message}",
            status_code=status,
            retry_after=retry_after_seconds(headers.get("Retry-After")),
        )
    if status in (401, 403):
        what = "refused the API key" if status == 401 else "forbids this key that organisation or query"
        raise VendorRefused(f"The vendor {what} ({status}): {message}. Edit the source's key.", status_code=status)
    if status == 408 or status >= 500:
        raise VendorUnavailable(
            f"The vendor answered {status}: {message}",
            status_code=status,
            retry_after=retry_after_seconds(headers.get("Retry-After")),  # a 503 may say when
        )
    raise VendorRefused(f"The vendor answered {status}: {message}", status_code=status)

"""Keep-alive HTTP connections per destination, each pinned to an address the guard checked.

Why: a new TCP (and TLS) connection per webhook cost more than the request itself, and an
alert storm to one receiver paid it thousands of times. Connections are kept per
(scheme, checked address, port, host name, verify flag): the caller resolves and checks the
address (alertsite.netsafety) before every request and asks for a connection *to that
address*, so a connection is only ever reused for the very address that was just checked.
When DNS starts answering another address, that address is checked and gets connections of
its own; the old ones idle out. The host name in the key is what the Host header and TLS
(SNI, certificate check) use, so connections are never shared across names either.

One pool per process (`pool()`, re-created after a fork: a socket must not be shared by a
prefork parent and its children) and thread-safe, so a deliver task's threads share it.
"""

from __future__ import annotations

import http.client
import os
import select
import ssl
import threading
import time
from dataclasses import dataclass
from typing import NamedTuple

from alertsite.netsafety import PinnedHTTPConnection, PinnedHTTPSConnection

Connection = PinnedHTTPConnection | PinnedHTTPSConnection

IDLE_SECONDS = 15.0  # drop connections idle longer than this (servers close idle ones themselves)
MAX_IDLE_PER_DESTINATION = 16
DRAIN_LIMIT = 64 * 1024  # read at most this much of a body we don't need, to keep its connection
STALE = (
    http.client.RemoteDisconnected,
    BrokenPipeError,
    ConnectionResetError,
    ConnectionAbortedError,
    ssl.SSLEOFError,
)


class Destination(NamedTuple):
    """Where a connection goes: only requests for the same checked address, port and name share it."""

    scheme: str  # http | https
    address: str  # the checked IP address the socket connects to
    port: int
    host: str  # Host header, SNI and certificate name
    verify: bool = True


@dataclass(frozen=True)
class Reply:
    status: int
    head: bytes  # the first `read_limit` bytes of the body
    retry_after: str | None
    reused: bool  # whether the request went over a kept connection


class ConnectionPool:
    def __init__(self, *, max_idle: int = MAX_IDLE_PER_DESTINATION, idle_seconds: float = IDLE_SECONDS) -> None:
        self.max_idle = max_idle
        self.idle_seconds = idle_seconds
        self.opened = 0  # connections made, for tests and benches
        self._idle: dict[Destination, list[tuple[float, Connection]]] = {}
        self._lock = threading.Lock()

    # -- connections --------------------------------------------------------------------------

    def _open(self, destination: Destination, timeout: float) -> Connection:
        with self._lock:
            self.opened += 1
        if destination.scheme == "https":
            return PinnedHTTPSConnection(
                destination.host,
                destination.port,
                address=destination.address,
                timeout=timeout,
                verify=destination.verify,
            )
        return PinnedHTTPConnection(destination.host, destination.port, address=destination.address, timeout=timeout)

    def _checkout(self, destination: Destination, timeout: float) -> tuple[Connection, bool]:
        """An idle connection that still looks alive, or a new one (not yet connected)."""
        now = time.monotonic()
        while True:
            with self._lock:
                idle = self._idle.get(destination)
                if not idle:
                    break
                since, connection = idle.pop()
            if now - since > self.idle_seconds or not _alive(connection):
                connection.close()
                continue
            connection.timeout = timeout
            if connection.sock is not None:
                connection.sock.settimeout(timeout)
            return connection, True
        return self._open(destination, timeout), False

    def _checkin(self, destination: Destination, connection: Connection) -> None:
        with self._lock:
            idle = self._idle.setdefault(destination, [])
            if len(idle) < self.max_idle:
                idle.append((time.monotonic(), connection))
                return
        connection.close()

    def clear(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for connections in idle.values():
            for _, connection in connections:
                connection.close()

    # -- requests -----------------------------------------------------------------------------

    def post(
        self,
        destination: Destination,
        target: str,
        *,
        body: bytes,
        headers: dict[str, str],
        timeout: float,
        read_limit: int,
    ) -> Reply:
        """POST and read the status and the first `read_limit` bytes; keep the connection if it can be.

        A kept connection the server closed meanwhile (it said nothing: EOF or reset before
        any answer) is retried once on a new connection: otherwise a receiver's idle timeout
        would turn into a failed attempt and a backoff. Receivers de-duplicate by delivery id,
        so the rare resend of a request that did arrive is harmless.
        """
        for attempt in range(2):
            connection, reused = self._checkout(destination, timeout)
            try:
                connection.request("POST", target, body=body, headers=headers)
                response = connection.getresponse()
            except STALE:
                connection.close()
                if reused and attempt == 0:
                    continue
                raise
            except BaseException:
                connection.close()
                raise
            try:
                head = response.read(read_limit)
                keep = _drained(response)
            except BaseException:
                connection.close()
                raise
            if keep:
                self._checkin(destination, connection)
            else:
                connection.close()
            return Reply(response.status, head, response.getheader("Retry-After"), reused)
        raise AssertionError("unreachable")  # pragma: no cover


def _drained(response: http.client.HTTPResponse) -> bool:
    """Read what is left of a short body; whether the connection can carry another request."""
    if response.will_close:
        return False
    left = DRAIN_LIMIT
    while not response.isclosed() and left > 0:
        chunk = response.read(min(left, 16 * 1024))
        if not chunk:
            break
        left -= len(chunk)
    return response.isclosed()


def _alive(connection: Connection) -> bool:
    """An idle connection is readable only if the server closed it (or sent junk): drop it then."""
    sock = connection.sock
    if sock is None:
        return False
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return False
    return not readable


_pool: ConnectionPool | None = None
_pool_pid = 0
_pool_lock = threading.Lock()


def pool() -> ConnectionPool:
    """This process's pool (a forked child starts its own and leaves the parent's sockets alone)."""
    global _pool, _pool_pid
    pid = os.getpid()
    if _pool is None or _pool_pid != pid:
        with _pool_lock:
            if _pool is None or _pool_pid != pid:
                _pool, _pool_pid = ConnectionPool(), pid
    return _pool

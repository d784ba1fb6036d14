"""A webhook receiver for the benches: HTTP/1.1 keep-alive, answers 200 at once, timestamps arrivals.

Shared by bench/e2e.py and bench/peer.py so alertsite and Alertmanager are timed by the same
receiver. It keeps connections open as any real receiver (and Alertmanager's Go client)
would, and counts them, so a sender that reconnects per request shows up. Bodies are kept
raw and parsed only when asked (`keys`), so the event loop does as little as possible while
a storm arrives.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

RESPONSE = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"ok":true}'


@dataclass
class Arrival:
    at: float  # time.perf_counter() when the whole request was in
    head: bytes
    body: bytes

    def header(self, name: str) -> str:
        wanted = name.lower().encode() + b":"
        for line in self.head.split(b"\r\n")[1:]:
            if line.lower().startswith(wanted):
                return line[len(wanted) :].strip().decode("latin-1")
        return ""


class HookReceiver:
    """`with HookReceiver() as hook:` serves on 127.0.0.1:<free port> from a thread of this process."""

    def __init__(self) -> None:
        self.arrivals: list[Arrival] = []
        self.connections = 0
        self.condition = threading.Condition()
        self.loop = asyncio.new_event_loop()
        self.port = 0
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hook-receiver", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> HookReceiver:
        self._thread.start()
        self._ready.wait(10)
        return self

    def stop(self) -> None:
        if self.loop.is_running():
            self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)

    def __enter__(self) -> HookReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        # Connections still open when the bench stops are dropped with the loop: nothing to report.
        self.loop.set_exception_handler(lambda loop, context: None)
        server = self.loop.run_until_complete(
            self.loop.create_server(lambda: _Connection(self), "127.0.0.1", 0, backlog=2048)
        )
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self.loop.run_forever()
        server.close()

    def _arrived(self, arrivals: list[Arrival]) -> None:
        with self.condition:
            self.arrivals.extend(arrivals)
            self.condition.notify_all()

    # -- use -----------------------------------------------------------------------------------

    def reset(self) -> None:
        with self.condition:
            self.arrivals = []
            self.connections = 0

    def count(self) -> int:
        with self.condition:
            return len(self.arrivals)

    def wait_for(self, count: int, timeout: float, *, quiet_after: float | None = None) -> bool:
        """Wait until `count` requests are in (or, with `quiet_after`, until none came for that long)."""
        deadline = time.monotonic() + timeout
        with self.condition:
            while len(self.arrivals) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                if (
                    quiet_after is not None
                    and self.arrivals
                    and time.perf_counter() - self.arrivals[-1].at > quiet_after
                ):
                    return False
                self.condition.wait(min(left, 0.5))
        return True

    def keys(self, key: Callable[[Arrival], str]) -> dict[str, float]:
        """The first arrival time of each distinct key (a delivery id, an event id, an alert label)."""
        first: dict[str, float] = {}
        with self.condition:
            arrivals = list(self.arrivals)
        for arrival in arrivals:
            first.setdefault(key(arrival), arrival.at)
        return first


class _Connection(asyncio.Protocol):
    """One client connection: a plain buffer parsed by hand (a Protocol, not streams, so the
    receiver's own CPU stays small next to what it measures); pipelined requests are fine."""

    def __init__(self, receiver: HookReceiver) -> None:
        self.receiver = receiver
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.receiver.connections += 1

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        arrivals: list[Arrival] = []
        close = False
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                break
            head = self.buffer[:end]
            lower = head.lower()
            at = lower.find(b"content-length:")
            length = 0
            if at >= 0:
                line_end = lower.find(b"\r\n", at)
                length = int(lower[at + 15 : line_end if line_end >= 0 else len(lower)].strip())
            if len(self.buffer) < end + 4 + length:
                break
            body = self.buffer[end + 4 : end + 4 + length]
            self.buffer = self.buffer[end + 4 + length :]
            arrivals.append(Arrival(time.perf_counter(), head, body))
            close = close or b"connection: close" in lower
        if arrivals and self.transport is not None:
            self.transport.write(RESPONSE * len(arrivals))
            self.receiver._arrived(arrivals)
            if close:
                self.transport.close()

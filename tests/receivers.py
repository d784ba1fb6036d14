"""Real network endpoints on loopback for delivery tests: a webhook receiver and an SMTP server.

``WebhookReceiver`` is a ``ThreadingHTTPServer`` that records every request as it arrives
(before answering) and answers from a script of replies::

    with WebhookReceiver() as hook:
        hook.script(500, Reply.with_status(429, retry_after=120), Reply.slow(4), "drop", "ok")
        ...  # point a channel at hook.url
        request = hook.wait_for(1)[0]

``SmtpServer`` is an aiosmtpd ``Controller`` recording each message with its envelope::

    with SmtpServer() as smtp:
        ...  # EMAIL_HOST=127.0.0.1, EMAIL_PORT=smtp.port
        mail = smtp.wait_for(1)[0]
"""

from __future__ import annotations

import email
import email.policy
import http.client
import ipaddress
import socket
import ssl
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson
from aiosmtpd.controller import Controller

# -- webhook receiver ---------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """One scripted answer: a status after an optional delay, or a dropped connection."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b'{"ok": true}'
    delay: float = 0.0
    drop: bool = False

    @classmethod
    def ok(cls) -> Reply:
        return cls()

    @classmethod
    def with_status(cls, status: int, *, retry_after: int | str | None = None, headers: dict | None = None) -> Reply:
        extra = dict(headers or {})
        if retry_after is not None:
            extra["Retry-After"] = str(retry_after)
        return cls(status=status, headers=extra, body=f'{{"status": {status}}}'.encode())

    @classmethod
    def slow(cls, seconds: float, status: int = 200) -> Reply:
        return cls(status=status, delay=seconds)

    @classmethod
    def dropped(cls) -> Reply:
        return cls(drop=True)

    @staticmethod
    def of(behaviour: Reply | str | int) -> Reply:
        """Accept a Reply, "ok", "drop", "slow:<seconds>" or a bare status code."""
        if isinstance(behaviour, Reply):
            return behaviour
        if isinstance(behaviour, int):
            return Reply.with_status(behaviour)
        if behaviour == "ok":
            return Reply.ok()
        if behaviour == "drop":
            return Reply.dropped()
        if behaviour.startswith("slow:"):
            return Reply.slow(float(behaviour.split(":", 1)[1]))
        raise ValueError(f"unknown behaviour {behaviour!r}")


@dataclass(frozen=True)
class ReceivedRequest:
    method: str
    path: str
    headers: http.client.HTTPMessage  # case-insensitive .get()
    body: bytes
    at: float  # time.time() when the request arrived

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def json(self) -> Any:
        return orjson.loads(self.body)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        receiver = self.server.receiver
        reply = receiver._record(
            ReceivedRequest(method=self.command, path=self.path, headers=self.headers, body=body, at=time.time())
        )
        if reply.delay:
            receiver._stopping.wait(reply.delay)
        if reply.drop:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        try:
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            if "Content-Type" not in reply.headers:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
        except OSError:
            pass  # the client gave up (timeout) or was killed

    do_POST = do_GET = do_PUT = do_PATCH = do_DELETE = _handle

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _KeepAliveHandler(_Handler):
    """HTTP/1.1: the connection stays open for the client's next request."""

    protocol_version = "HTTP/1.1"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    receiver: WebhookReceiver
    tls: ssl.SSLContext | None = None

    def finish_request(self, request: Any, client_address: Any) -> None:
        with self.receiver._condition:
            self.receiver.connections += 1
        if self.tls is not None:  # handshake in the request's own thread, never in the accept loop
            try:
                request = self.tls.wrap_socket(request, server_side=True)
            except (OSError, ssl.SSLError):
                request.close()
                return
        super().finish_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # broken pipes after a client timeout are expected here


def self_signed_context() -> ssl.SSLContext:
    """A server context with a fresh self-signed certificate for 127.0.0.1 and localhost."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "alertsite test receiver")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    with tempfile.TemporaryDirectory() as folder:
        cert_file, key_file = Path(folder, "cert.pem"), Path(folder, "key.pem")
        cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
    return context


class WebhookReceiver:
    """A real HTTP server on 127.0.0.1:<free port> recording requests and answering from a script."""

    def __init__(
        self, *script: Reply | str | int, default: Reply | str | int = "ok", tls: bool = False, keep_alive: bool = False
    ) -> None:
        self.tls = tls
        self.keep_alive = keep_alive  # HTTP/1.1 keep-alive; else HTTP/1.0, a connection per request
        self.connections = 0  # TCP connections accepted
        self.requests: list[ReceivedRequest] = []
        self.default = Reply.of(default)
        self._script: list[Reply] = [Reply.of(item) for item in script]
        self._condition = threading.Condition()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle
    def start(self) -> WebhookReceiver:
        self._server = _Server(("127.0.0.1", 0), _KeepAliveHandler if self.keep_alive else _Handler)
        self._server.receiver = self
        self._server.tls = self_signed_context() if self.tls else None
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="webhook-receiver", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- use
    @property
    def port(self) -> int:
        assert self._server is not None, "start the receiver first"
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}/hook"

    def script(self, *behaviours: Reply | str | int) -> None:
        """Queue answers for the next requests; once used up, requests get `default`."""
        with self._condition:
            self._script.extend(Reply.of(item) for item in behaviours)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedRequest]:
        """Wait until at least `count` requests have arrived; return them all."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while len(self.requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} request(s) within {timeout}s, got {len(self.requests)}")
                self._condition.wait(left)
            return list(self.requests)

    def _record(self, request: ReceivedRequest) -> Reply:
        with self._condition:
            self.requests.append(request)
            reply = self._script.pop(0) if self._script else self.default
            self._condition.notify_all()
        return reply


# -- SMTP server ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    raw: bytes

    def part(self, content_type: str) -> str:
        """The decoded body part of this type (text/plain, text/html)."""
        body = self.message.get_body(preferencelist=(content_type.split("/")[1],))
        assert body is not None and body.get_content_type() == content_type, f"no {content_type} part"
        return body.get_content()


class _MailRecorder:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list) -> str:
        if address.lower() in self.server.refused:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        reply = self.server._next_data_reply()
        if reply is not None:
            return reply
        raw = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        self.server._record(
            ReceivedMail(mail_from=envelope.mail_from, rcpt_tos=list(envelope.rcpt_tos), message=message, raw=raw)
        )
        return "250 Message accepted for delivery"


def free_port() -> int:
    """A TCP port nothing listens on right now (also what a "server down" test points at)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SmtpServer:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 recording every message it accepts.

    `refused` addresses get 550 at RCPT; `script_data("451 4.3.0 Try later")` answers the next
    DATA commands with those replies instead of accepting the message.
    """

    def __init__(self, *, refused: tuple[str, ...] = ()) -> None:
        self.messages: list[ReceivedMail] = []
        self.refused = {address.lower() for address in refused}
        self._data_replies: list[str] = []
        self._condition = threading.Condition()
        self._controller: Controller | None = None
        self.port = 0

    def start(self) -> SmtpServer:
        for _ in range(5):
            self.port = free_port()
            controller = Controller(_MailRecorder(self), hostname="127.0.0.1", port=self.port, ready_timeout=10)
            try:
                controller.start()
            except (OSError, RuntimeError):
                continue  # someone took the port between the probe and the bind
            self._controller = controller
            return self
        raise RuntimeError("could not start the SMTP server")

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedMail]:
        deadline = time.monotonic() + timeout
        with self._condition:
            while len(self.messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} message(s) within {timeout}s, got {len(self.messages)}")
                self._condition.wait(left)
            return list(self.messages)

    def script_data(self, *replies: str) -> None:
        with self._condition:
            self._data_replies.extend(replies)

    def _next_data_reply(self) -> str | None:
        with self._condition:
            return self._data_replies.pop(0) if self._data_replies else None

    def _record(self, mail: ReceivedMail) -> None:
        with self._condition:
            self.messages.append(mail)
            self._condition.notify_all()

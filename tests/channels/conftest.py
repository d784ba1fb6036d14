"""Fixtures for channel tests: real receivers on loopback, channels, outbox rows, faked DNS."""

from __future__ import annotations

import itertools
import re
import socket
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import orjson
import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from alertsite import netsafety
from channels.models import Channel, Delivery
from channels.notification import Notification
from channels.services import channel_create, notification_enqueue
from tests.receivers import SmtpServer, WebhookReceiver

SECRET = "whsec-correct-horse"
FAILED_LOGINS = {
    "name": "Failed admin logins",
    "priority": "high",
    "conditions": [
        {"event_type": "user_login_attempt", "filters": [{"key": "success", "operator": "eq", "value": False}]}
    ],
}
ALERT_PAYLOAD = {
    "alert": {
        "id": 0,
        "reference": "ALR-000000",
        "status": "open",
        "priority": "high",
        "title": "Failed admin logins: bob.smith@example.com from 198.51.100.77",
        "event_count": 1,
        "rule": {"id": 0, "name": "Failed admin logins"},
    },
    "event": {"id": "evt-1", "event_type": "user_login_attempt", "timestamp": "2025-03-02T09:16:41.077Z"},
}
_sources = itertools.count(1)


def smtp_settings(port: int) -> override_settings:
    """Send e-mail through the real SMTP backend to a local port."""
    return override_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=port,
        EMAIL_USE_TLS=False,
        EMAIL_USE_SSL=False,
        EMAIL_HOST_USER="",
        EMAIL_HOST_PASSWORD="",
    )


def input_value(page: str, name: str) -> str | None:
    """The value attribute of the page's <input name=...> (None when it has none); the input must be there."""
    match = re.search(rf'<input[^>]*name="{name}"[^>]*>', page)
    assert match, name
    value = re.search(r'value="([^"]*)"', match.group(0))
    return value.group(1) if value else None


def stored_config_text(channel_id: int) -> str:
    """The channel's config column as stored in the database (to check what is kept sealed at rest)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT config FROM channels_channel WHERE id = %s", [channel_id])
        value = cursor.fetchone()[0]
    return value if isinstance(value, str) else orjson.dumps(value).decode()


@pytest.fixture
def public_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """*.example.com resolves to a public (documentation) address; 'internal.example.com' to 10.0.0.5."""
    real = socket.getaddrinfo

    def fake(host, port, *args, **kwargs):
        if host == "internal.example.com":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.5", port))]
        if isinstance(host, str) and host.endswith("example.com"):
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(netsafety.socket, "getaddrinfo", fake)


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as hook:
        yield hook


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A real SMTP server, with Django's e-mail pointed at it for the test."""
    with SmtpServer() as server, smtp_settings(server.port):
        yield server


@pytest.fixture
def make_webhook(db: None) -> Callable[..., Channel]:
    names = itertools.count(1)

    def make(url: str, *, name: str | None = None, enabled: bool = True, **config: Any) -> Channel:
        return channel_create(
            data={
                "kind": "webhook",
                "name": name or f"Hook {next(names)}",
                "enabled": enabled,
                "config": {"url": url, **config},
            },
            actor=None,
        )

    return make


@pytest.fixture
def make_email_channel(db: None) -> Callable[..., Channel]:
    names = itertools.count(1)

    def make(
        *, recipients: list[str] | None = None, roles: list[str] | None = None, name: str | None = None
    ) -> Channel:
        return channel_create(
            data={
                "kind": "email",
                "name": name or f"Mail {next(names)}",
                "config": {"recipients": recipients or [], "roles": roles or []},
            },
            actor=None,
        )

    return make


def enqueue(
    channel: Channel,
    *,
    kind: str = "alert.created",
    payload: dict | None = None,
    causal_depth: int = 0,
    source: str | None = None,
) -> Delivery:
    """One pending outbox row for the channel (its after-commit send never runs in a django_db test)."""
    source = source or f"test-source:{next(_sources)}"
    notification_enqueue(
        notification=Notification.from_json(kind, payload if payload is not None else ALERT_PAYLOAD),
        channel_ids=[channel.pk],
        source=source,
        causal_depth=causal_depth,
    )
    return Delivery.objects.get(source=source, channel=channel, kind=kind)


def make_due(delivery: Delivery) -> None:
    """Move a scheduled retry into the past, as if its backoff (and its channel's pause) had elapsed."""
    past = timezone.now() - timedelta(seconds=1)
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=past)
    Channel.objects.filter(pk=delivery.channel_id, paused_until__isnull=False).update(paused_until=past)

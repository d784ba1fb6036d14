"""Fixtures for channel tests: real receivers on loopback, channels, outbox rows, the pipeline."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import orjson
import pytest
from django.test import override_settings
from django.utils import timezone

from channels.models import Channel, Delivery
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
        kind=kind,
        channel_ids=[channel.pk],
        payload=payload if payload is not None else ALERT_PAYLOAD,
        source=source,
        causal_depth=causal_depth,
    )
    return Delivery.objects.get(source=source, channel=channel, kind=kind)


def make_due(delivery: Delivery) -> None:
    """Move a scheduled retry into the past, as if its backoff had elapsed."""
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))


@pytest.fixture
def ingest(ingest_client, django_capture_on_commit_callbacks) -> Callable[..., None]:
    """POST events through the API and run everything their commit sets off (evaluation, alerts, sends)."""

    def post(*events: dict) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            response = ingest_client.post(
                "/api/v1/events", data=orjson.dumps(list(events)), content_type="application/json"
            )
        assert response.status_code == 202, response.content

    return post

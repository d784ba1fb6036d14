"""GET /healthz: database and broker status (api.md section 1)."""

from __future__ import annotations

import os
import time

import pytest
from django.test import override_settings

from alertsite.celery import app as celery_app

pytestmark = pytest.mark.django_db

REFUSING_BROKER = "redis://127.0.0.1:1/0"  # nothing listens on port 1


@pytest.fixture
def broker_url(monkeypatch):
    """Point the Celery app at another broker for one test; return a setter."""
    original = celery_app.conf.broker_url

    def use(url: str) -> None:
        # Celery prefers the CELERY_BROKER_URL environment variable over its configuration.
        monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
        celery_app.conf.broker_url = url

    yield use
    celery_app.conf.broker_url = original


@pytest.fixture
def redis_broker_url() -> str:
    url = os.environ.get("CELERY_BROKER_URL", "")
    if not url.startswith("redis://"):
        pytest.skip("CELERY_BROKER_URL is not a redis:// URL")
    return url


def test_healthz_answers_200_in_eager_mode(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "broker": "eager"}


def test_healthz_answers_with_a_trailing_slash(client):
    response = client.get("/healthz/")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "broker": "eager"}


def test_healthz_needs_no_login(client):
    assert "Location" not in client.get("/healthz")


def test_healthz_allows_only_get(client):
    assert client.post("/healthz").status_code == 405


@override_settings(CELERY_TASK_ALWAYS_EAGER=False)
def test_healthz_answers_503_when_the_broker_refuses_connections(client, broker_url):
    broker_url(REFUSING_BROKER)
    started = time.monotonic()
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"database": "ok", "broker": "down"}
    assert time.monotonic() - started < 10  # a load balancer must not wait long for the answer


@pytest.mark.redis
@override_settings(CELERY_TASK_ALWAYS_EAGER=False)
def test_healthz_answers_ok_with_a_reachable_redis_broker(client, broker_url, redis_broker_url):
    broker_url(redis_broker_url)
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "broker": "ok"}

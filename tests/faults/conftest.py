"""Fixtures of the fault tests: a private PostgreSQL cluster (migrated once), a private Redis."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from tests.faults.servers import PrivatePostgres, PrivateRedis
from tests.faults.stack import template_prepare
from tests.workers import broker_url, worker_env

TEMPLATE = "alertsite_template"
_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def private_postgres() -> Iterator[PrivatePostgres]:
    """A cluster of its own on a free port, with a migrated template database."""
    server = PrivatePostgres()
    try:
        server.start()
        url = server.create_database(TEMPLATE)
        template_prepare(worker_env(DATABASE_URL=url, CELERY_BROKER_URL="memory://"))
        yield server
    finally:
        server.destroy()


@pytest.fixture
def fault_database(private_postgres: PrivatePostgres) -> str:
    """A fresh copy of the template for one test: its URL."""
    if not private_postgres.running():
        private_postgres.start()
    return private_postgres.create_database(f"alertsite_fault_{next(_numbers)}", template=TEMPLATE)


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis().start()
    try:
        yield server
    finally:
        server.destroy()


@pytest.fixture
def shared_redis() -> Iterator[str]:
    """The test run's own Redis database (CELERY_BROKER_URL), emptied before and after: for the
    tests that crash something else."""
    import redis

    url = broker_url()
    if not url.startswith("redis://"):
        pytest.skip("needs Redis (set CELERY_BROKER_URL=redis://...)")
    client = redis.Redis.from_url(url)
    client.flushdb()
    try:
        yield url
    finally:
        client.flushdb()

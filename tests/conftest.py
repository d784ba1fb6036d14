"""Shared fixtures: API clients and users with a role."""

from __future__ import annotations

from collections.abc import Callable
from itertools import count
from typing import TYPE_CHECKING

import orjson
import pytest
from django.test import Client
from rest_framework.test import APIClient

from alertsite.accounts import services
from alertsite.accounts.roles import Role
from events.services import event_types_forget
from rules.alerting import alert_policies_forget

if TYPE_CHECKING:
    from django.contrib.auth.models import User

PASSWORD = "correct-horse-battery-staple"
_usernames = count(1)


def _serialized_rollback_into_empty_tables() -> None:
    """`serialized_rollback` restores the database as it was serialized, row ids included. A
    transactional test without it ends with a flush whose post_migrate signal puts back the
    content types, role groups, event-type catalog and rule templates under new ids, so the next
    serialized test's restore collided with them on their unique names (in whichever order the
    two happened to run). Such leftovers are flushed first (without the signal): the restore
    then starts from empty tables, as after a serialized test."""
    from django.core.management import call_command
    from django.db.backends.base.creation import BaseDatabaseCreation

    load = BaseDatabaseCreation.deserialize_db_from_string
    if getattr(load, "into_empty_tables", False):
        return

    def load_into_empty_tables(self: BaseDatabaseCreation, data: str) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM django_content_type LIMIT 1")
            leftovers = cursor.fetchone() is not None
        if leftovers:
            call_command(
                "flush", verbosity=0, interactive=False, database=self.connection.alias, inhibit_post_migrate=True
            )
        load(self, data)

    load_into_empty_tables.into_empty_tables = True  # type: ignore[attr-defined]
    BaseDatabaseCreation.deserialize_db_from_string = load_into_empty_tables  # type: ignore[method-assign]


_serialized_rollback_into_empty_tables()


@pytest.fixture(autouse=True)
def _event_types_forgotten() -> None:
    """Each test starts with a catalog this process has not seen (rolled-back tests insert types too)."""
    event_types_forget()
    alert_policies_forget()  # rolled-back tests may leave rule rows kept under a stamp that comes back


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def make_user(db: None) -> Callable[..., User]:
    """Return a factory: ``make_user(role="viewer", username=..., password=..., email=...)``."""

    def make(
        role: Role | str = Role.VIEWER, *, username: str | None = None, password: str = PASSWORD, email: str = ""
    ) -> User:
        username = username or f"{Role(role).value}{next(_usernames)}"
        return services.user_create(username=username, password=password, email=email, role=role)

    return make


@pytest.fixture
def admin_user(make_user: Callable[..., User]) -> User:
    """A user with the admin role (replaces pytest-django's superuser fixture of the same name)."""
    return make_user(Role.ADMIN, username="admin")


@pytest.fixture
def auth_client(make_user: Callable[..., User]) -> Callable[..., APIClient]:
    """Return a factory: ``auth_client("responder")`` gives an APIClient sending that user's token.

    Pass ``user=`` to authenticate an existing user; the client carries it as ``client.user``.
    """

    def make(role: Role | str = Role.VIEWER, *, user: User | None = None) -> APIClient:
        user = user or make_user(role)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {services.token_issue(user=user)}")
        client.user = user
        return client

    return make


@pytest.fixture
def login(make_user: Callable[..., User]) -> Callable[[str], Client]:
    """Return a factory: ``login("viewer")`` gives a console (session) Client signed in as a new user with that role.

    tests/browser has its own ``login`` (signing in through the form in a real browser).
    """

    def make(role: str) -> Client:
        client = Client()
        client.force_login(make_user(role))
        return client

    return make


@pytest.fixture
def ingest_client(auth_client: Callable[..., APIClient]) -> APIClient:
    """A client with the `ingest` role: it may POST events and nothing else."""
    return auth_client(Role.INGEST)


@pytest.fixture
def ingest(ingest_client: APIClient, django_capture_on_commit_callbacks) -> Callable[..., None]:
    """``ingest(*events)``: POST events the way a collector does and run everything their commit sets off
    (evaluation, alerts, notifications)."""

    def post(*events: dict) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            response = ingest_client.post(
                "/api/v1/events", data=orjson.dumps(list(events)), content_type="application/json"
            )
        assert response.status_code == 202, response.content

    return post


# -- real parts: skip where they are absent -------------------------------------------


def _on_postgres() -> bool:
    from django.db import connection

    return connection.vendor == "postgresql"


def _has_redis() -> bool:
    from tests.workers import broker_url

    return broker_url().startswith("redis://")


def pytest_runtest_setup(item: pytest.Item) -> None:
    needs_postgres = item.get_closest_marker("postgres") or item.get_closest_marker("worker")
    needs_redis = item.get_closest_marker("redis") or item.get_closest_marker("worker")
    if needs_postgres and not _on_postgres():
        pytest.skip("needs PostgreSQL (set DATABASE_URL=postgres://...)")
    if needs_redis and not _has_redis():
        pytest.skip("needs Redis (set CELERY_BROKER_URL=redis://...)")


@pytest.fixture
def broker_queue():
    """Tasks go to the real broker (not in-process) during the test; the queue starts empty."""
    import redis

    from alertsite.celery import app
    from tests.workers import broker_url

    client = redis.Redis.from_url(broker_url())
    client.flushdb()
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        yield client
    finally:
        app.conf.task_always_eager = previous
        client.flushdb()


@pytest.fixture
def evaluate_every_type(monkeypatch):
    """Hand every new event to the listeners, whether or not a rule selects its type."""
    from events import hooks

    monkeypatch.setattr(hooks, "_evaluation_scopes", [])

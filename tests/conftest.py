"""Shared fixtures: API clients and users with a role."""

from __future__ import annotations

from collections.abc import Callable
from itertools import count
from typing import TYPE_CHECKING

import orjson
import pytest
from django.core.management import call_command
from django.db import transaction
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


# -- transactional tests on PostgreSQL: a cheaper flush and restore ----------------------


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's test database, with the flush and the serialized restore of transactional
    tests made cheap on PostgreSQL, and kept for the tests that run after the browser has started.

    Every `transaction=True` test ends with a flush and every `serialized_rollback=True` test
    starts by loading back what the migrations put in (the event catalog, the rule templates,
    the role groups and their permissions). Django empties the tables with one TRUNCATE of all of
    them (a new file for every table and index, 0.2 to 1 s a test here) and reloads the data
    object by object through the serializers (about 350 INSERTs, 0.3 s). Here the flush DELETEs
    the rows (every foreign key is DEFERRABLE INITIALLY DEFERRED and no table has a trigger, so
    the order does not matter and nothing else happens), and the restore COPYs in the rows that
    Django's restore writes into empty tables, taken once at the start
    (tests/test_fast_restore.py compares the two).

    Once Playwright's sync API runs (the first browser test), this thread has a running asyncio
    loop, and Django's connection handler (an asgiref Local) hands it a new DatabaseWrapper that
    lacks the serialized contents: every later serialized_rollback test then got no restore, and
    its flush ran the post_migrate handlers instead (0.5 to 1 s a test). The contents are kept on
    the wrapper class, so those tests are restored as they ask.
    """
    from django.db import connections

    with django_db_blocker.unblock():
        for connection in connections.all():
            if connection.vendor == "postgresql":
                _flush_by_delete(connection)
                if hasattr(connection, "_test_serialized_contents"):
                    _restore_by_copy(connection)
    yield


def _flush_by_delete(connection) -> None:
    """`flush` without sequence resets becomes one DELETE a table instead of one TRUNCATE of all."""
    operations = type(connection.ops)
    sql_flush = operations.sql_flush

    def delete_all(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        if reset_sequences or not tables:
            return sql_flush(self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade)
        return ["SET CONSTRAINTS ALL DEFERRED", *(f"DELETE FROM {self.quote_name(table)}" for table in sorted(tables))]

    operations.sql_flush = delete_all


class _RolledBack(Exception):
    pass


def _restore_by_copy(connection) -> None:
    """Keep the rows that Django's restore puts in every serialized model's table (and in its
    many-to-many tables) as COPY data, and load that data instead of the JSON, into tables
    emptied first if anything is left in them."""
    from django.apps import apps

    contents = connection._test_serialized_contents
    labels = {item["model"] for item in orjson.loads(contents)}
    quote = connection.ops.quote_name
    # table -> its columns as COPY names them; the id of a many-to-many row is left to its
    # sequence, as Django's restore (through `.set()`) leaves it.
    tables: dict[str, str] = {}
    for label in sorted(labels):
        model = apps.get_model(label)
        tables[model._meta.db_table] = ", ".join(quote(field.column) for field in model._meta.concrete_fields)
        for field in model._meta.local_many_to_many:
            through = field.remote_field.through._meta
            if through.auto_created:
                tables[through.db_table] = ", ".join(
                    quote(column.column) for column in through.concrete_fields if not column.primary_key
                )
    creation = type(connection.creation)
    deserialize = creation.deserialize_db_from_string
    snapshot: dict[str, bytes] = {}
    # What Django's restore writes into empty tables (its JSON keeps times to the millisecond):
    # restored once in a transaction that is rolled back, and copied out.
    try:
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            for table in tables:
                cursor.execute(f"DELETE FROM {quote(table)}")
            deserialize(connection.creation, contents)
            for table, columns in tables.items():
                with cursor.cursor.copy(f"COPY {quote(table)} ({columns}) TO STDOUT") as copy:
                    data = b"".join(bytes(block) for block in copy)
                if data:
                    snapshot[f"{quote(table)} ({columns})"] = data
            raise _RolledBack
    except _RolledBack:
        pass

    any_row = " UNION ALL ".join(f"(SELECT 1 FROM {quote(table)} LIMIT 1)" for table in tables)

    def restore(self, data: str) -> None:
        if data is not contents or not snapshot:
            deserialize(self, data)
            return
        db = self.connection
        with db.cursor() as cursor:
            cursor.execute(any_row)
            leftovers = cursor.fetchone() is not None
        if leftovers:
            # As _serialized_rollback_into_empty_tables does: the migrated rows before the first
            # transactional test, or what a flush's post_migrate signal put back, go first.
            call_command("flush", verbosity=0, interactive=False, database=db.alias, inhibit_post_migrate=True)
        with transaction.atomic(using=db.alias), db.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            for target, rows in snapshot.items():
                with cursor.cursor.copy(f"COPY {target} FROM STDIN") as copy:
                    copy.write(rows)

    creation.deserialize_db_from_string = restore
    type(connection)._test_serialized_contents = contents  # for wrappers made later (see above)


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

"""The cheaper flush and restore of transactional tests (tests/conftest.py, django_db_setup) leave
the database as Django's own flush and serialized restore do: the same rows in every table (a
many-to-many row's id aside, which both take from its sequence) and the sequences moved alike."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django.db.backends.base.creation import BaseDatabaseCreation
from django.test.utils import CaptureQueriesContext

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def table_columns() -> dict[str, str]:
    """Every Django table and the columns compared: all but the id of a many-to-many table."""
    quote = connection.ops.quote_name
    columns: dict[str, str] = {}
    for model in apps.get_models(include_auto_created=True):
        fields = model._meta.concrete_fields
        if model._meta.auto_created:
            fields = [field for field in fields if not field.primary_key]
        columns[model._meta.db_table] = ", ".join(quote(field.column) for field in fields)
    return columns


def rows() -> dict[str, list[bytes]]:
    """Every Django table's rows, as COPY lines, sorted."""
    found: dict[str, list[bytes]] = {}
    with connection.cursor() as cursor:
        for table, columns in table_columns().items():
            with cursor.cursor.copy(f"COPY {connection.ops.quote_name(table)} ({columns}) TO STDOUT") as copy:
                found[table] = sorted(b"".join(bytes(block) for block in copy).splitlines())
    return found


def sequences() -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT sequencename, coalesce(last_value, 0) FROM pg_sequences")
        return dict(cursor.fetchall())


def flush() -> None:
    """What a transactional test's teardown runs."""
    call_command("flush", verbosity=0, interactive=False, inhibit_post_migrate=True)
    assert not any(rows().values())


def restored(restore) -> tuple[dict[str, list[bytes]], dict[str, int]]:
    """The rows after `restore` into a flushed database, and how far it moved each sequence."""
    flush()
    before = sequences()
    restore(connection._test_serialized_contents)
    after = sequences()
    return rows(), {name: after[name] - before[name] for name in after}


def test_the_copy_restore_leaves_what_django_deserializing_leaves() -> None:
    with CaptureQueriesContext(connection) as queries:
        rows_by_copy, moved_by_copy = restored(connection.creation.deserialize_db_from_string)
    assert len(queries) < 100, "the restore saved object by object instead of copying"
    rows_by_django, moved_by_django = restored(
        lambda data: BaseDatabaseCreation.deserialize_db_from_string(connection.creation, data)
    )

    assert sum(len(table) for table in rows_by_django.values()) > 300  # the catalog, templates, groups, ...
    assert [table for table in rows_by_django if rows_by_copy[table] != rows_by_django[table]] == []
    assert moved_by_copy == moved_by_django


def test_a_restore_over_what_a_flush_with_post_migrate_put_back_empties_the_tables_first() -> None:
    """The first transactional test finds the migrated rows, and one after a transactional test
    without serialized_rollback finds the content types, groups, catalog and templates that the
    flush's post_migrate signal recreated under new ids: neither is copied over."""
    rows_by_django, _ = restored(
        lambda data: BaseDatabaseCreation.deserialize_db_from_string(connection.creation, data)
    )
    call_command("flush", verbosity=0, interactive=False)  # with the post_migrate signal
    assert rows() != rows_by_django and any(rows().values())
    connection.creation.deserialize_db_from_string(connection._test_serialized_contents)
    assert rows() == rows_by_django

"""Bulk INSERT of model instances that answers which rows it wrote.

Django's `bulk_create(ignore_conflicts=True)` answers no primary keys, so a caller that must
know which rows are new reads them back with a second statement; and building that call costs
more Python than the statement itself when a batch holds a handful of rows (the common case on
the alerting path). `insert_new` writes `INSERT ... ON CONFLICT DO NOTHING RETURNING id` itself,
one statement per chunk, on PostgreSQL and SQLite (3.35+) alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection
from django.db.models import Model

# SQLite's default limit on the parameters of one statement is 32766 since 3.32; stay well below.
MAX_PARAMETERS = 30_000


def insert_all(objs: Sequence[Model]) -> None:
    """Insert the instances (all of one model) and set each one's primary key, as
    `bulk_create` does (RETURNING in VALUES order, which Django relies on too), without
    building its query: for the few rows an alerting batch writes, that was most of the cost."""
    if not objs:
        return
    pk_column = str(objs[0]._meta.pk.column)
    rows = insert_new_returning(objs, [pk_column], on_conflict="")
    if len(rows) != len(objs):
        raise RuntimeError(f"INSERT answered {len(rows)} rows for {len(objs)} instances")
    for obj, (pk,) in zip(objs, rows, strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = connection.alias


def insert_new(objs: Sequence[Model]) -> list[int]:
    """Insert the instances (all of one model), skipping any that would break a unique
    constraint; answer the primary keys of the rows written, in ascending order."""
    if not objs:
        return []
    pk_column = str(objs[0]._meta.pk.column)
    return sorted(int(row[0]) for row in insert_new_returning(objs, [pk_column]))


def insert_new_returning(
    objs: Sequence[Model], columns: Sequence[str], *, on_conflict: str = "ON CONFLICT DO NOTHING"
) -> list[tuple[Any, ...]]:
    """`insert_new`, answering these columns of each row written: a caller that must tell which
    of its instances were written returns their unique key too."""
    if not objs:
        return []
    meta = objs[0]._meta
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    quote = connection.ops.quote_name
    names = ", ".join(quote(str(field.column)) for field in fields)
    returning = ", ".join(quote(column) for column in columns)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    per_chunk = max(1, MAX_PARAMETERS // len(fields))
    written: list[tuple[Any, ...]] = []
    with connection.cursor() as cursor:
        for start in range(0, len(objs), per_chunk):
            chunk = objs[start : start + per_chunk]
            params: list[Any] = []
            for obj in chunk:
                params.extend(field.get_db_prep_save(field.pre_save(obj, True), connection) for field in fields)
            cursor.execute(
                f"INSERT INTO {quote(meta.db_table)} ({names}) "
                f"VALUES {', '.join([row] * len(chunk))} {on_conflict} "
                f"RETURNING {returning}",
                params,
            )
            written.extend(tuple(found) for found in cursor.fetchall())
    return written

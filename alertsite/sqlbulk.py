"""Bulk INSERT of model instances that answers which rows it wrote.

Django's `bulk_create(ignore_conflicts=True)` answers no primary keys, so a caller that must
know which rows are new reads them back with a second statement; and building that call costs
more Python than the statement itself when a batch holds a handful of rows (the common case on
the alerting path). `insert_new` writes `INSERT ... ON CONFLICT DO NOTHING RETURNING id` itself,
one statement per chunk, on PostgreSQL and SQLite (3.35+) alike.

Turning instances into parameters is planned once per model (`_plan`): a field whose value
Django would pass on unchanged (an int to an integer or foreign key column, a str to a text
one, an aware datetime on PostgreSQL...) is read straight off the instance, and only the others
go through `get_db_prep_save`. For an alert's thirty-odd fields that was most of the insert's CPU.

On PostgreSQL a chunk of several rows is sent as one array per column (`SELECT * FROM
unnest(%s::bigint[], ...)`, as Django's own bulk_create does since 5.2): the statement's text is
the same for any number of rows, so psycopg converts it once and PostgreSQL prepares it once. A
multi-row VALUES list is new text for every row count, and psycopg parses any statement longer
than 4 KB or with more than 50 parameters anew on every call: a quarter of the evaluation
worker's CPU went there under a sustained load.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import (
    AutoField,
    BigAutoField,
    BooleanField,
    CharField,
    DateTimeField,
    Field,
    ForeignKey,
    IntegerField,
    Model,
    SmallAutoField,
    TextField,
    UUIDField,
)

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
        written(obj, pk)


def insert_statement(objs: Sequence[Model], returning: Sequence[str]) -> tuple[str, list[Any]] | None:
    """The `INSERT ... RETURNING` that writes these instances in one statement, and its parameters,
    for a caller that sends it inside a larger statement (a CTE); None when they take more than
    one statement's parameters (send them with `insert_all` then)."""
    if not objs:
        return None
    plan = _plan(type(objs[0]))
    if not plan.unnest and len(objs) * len(plan.fields) > MAX_PARAMETERS:
        return None
    source, params = _rows_source(plan, [plan.values(obj) for obj in objs])
    names = ", ".join(connection.ops.quote_name(column) for column in returning)
    return f"INSERT INTO {plan.table} ({plan.names}) {source} RETURNING {names}", params


def written(obj: Model, pk: Any) -> None:
    """Mark an instance a caller's own INSERT wrote, as `insert_all` marks its own."""
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
    plan = _plan(type(objs[0]))
    returning = ", ".join(connection.ops.quote_name(column) for column in columns)
    per_chunk = max(1, MAX_PARAMETERS // len(plan.fields))
    written: list[tuple[Any, ...]] = []
    with connection.cursor() as cursor:
        for start in range(0, len(objs), per_chunk):
            chunk = objs[start : start + per_chunk]
            source, params = _rows_source(plan, [plan.values(obj) for obj in chunk])
            cursor.execute(
                f"INSERT INTO {plan.table} ({plan.names}) {source} {on_conflict} RETURNING {returning}", params
            )
            written.extend(tuple(found) for found in cursor.fetchall())
    return written


def _rows_source(plan: _Plan, rows: list[list[Any]]) -> tuple[str, list[Any]]:
    """The rows of an INSERT and their parameters: one array per column (several rows, where the
    plan allows), else a VALUES list."""
    if plan.unnest and len(rows) > 1:
        return plan.unnest, [list(column) for column in zip(*rows, strict=True)]
    return f"VALUES {', '.join([plan.row] * len(rows))}", [value for row in rows for value in row]


@dataclass(frozen=True, slots=True)
class _Plan:
    """How one model's instances become an INSERT's parameters on this database."""

    table: str
    names: str  # the quoted columns, every concrete field but the primary key
    row: str  # "(%s, %s, ...)"
    unnest: str  # "SELECT * FROM unnest(%s::bigint[], ...)" on PostgreSQL when every column allows; else ""
    fields: tuple[Field, ...]
    attnames: tuple[str, ...]
    passed: tuple[frozenset[type] | None, ...]  # value types passed on as they are; None: always prepared

    def values(self, obj: Model) -> list[Any]:
        values: list[Any] = []
        state = obj.__dict__
        for field, attname, passed in zip(self.fields, self.attnames, self.passed, strict=True):
            if passed is None:
                values.append(field.get_db_prep_save(field.pre_save(obj, True), connection))
                continue
            value = state[attname] if attname in state else getattr(obj, attname)
            if value is None or type(value) in passed:
                if type(value) is datetime and value.tzinfo is None:
                    value = field.get_db_prep_save(value, connection)  # naive: Django warns and makes it aware
                values.append(value)
            else:
                values.append(field.get_db_prep_save(value, connection))
        return values


_plans: dict[tuple[str, type[Model]], _Plan] = {}


def _plan(model: type[Model]) -> _Plan:
    key = (connection.vendor, model)
    if (plan := _plans.get(key)) is not None:
        return plan
    quote = connection.ops.quote_name
    fields = tuple(field for field in model._meta.concrete_fields if not field.primary_key)
    plan = _Plan(
        table=quote(model._meta.db_table),
        names=", ".join(quote(str(field.column)) for field in fields),
        row="(" + ", ".join(["%s"] * len(fields)) + ")",
        unnest=_unnest_source(fields),
        fields=fields,
        attnames=tuple(str(field.attname) for field in fields),
        passed=tuple(_passed_types(field) for field in fields),
    )
    _plans[key] = plan
    return plan


def _unnest_source(fields: Sequence[Field]) -> str:
    """`SELECT * FROM unnest(...)` with one typed array per field, or "" where a field forbids it:
    the rules of Django's own InsertUnnest (django.db.backends.postgresql.compiler)."""
    if connection.vendor != "postgresql":
        return ""
    data_types = connection.data_types
    for field in fields:
        target = field.target_field if isinstance(field, ForeignKey) else field
        if hasattr(field, "get_placeholder") or target.get_internal_type() not in data_types:
            return ""
    # Without the type's modifier: varchar[] rather than varchar(40)[], so nothing is cut.
    arrays = ", ".join(f"%s::{str(field.db_type(connection)).split('(')[0]}[]" for field in fields)
    return f"SELECT * FROM unnest({arrays})"


# Field classes whose preparation hands a value of these types back unchanged, as long as the
# class keeps the base class's preparation methods (a subclass that overrides one is prepared).
_PASSED: tuple[tuple[type[Field], frozenset[type]], ...] = (
    (IntegerField, frozenset({int})),
    (CharField, frozenset({str})),
    (TextField, frozenset({str})),
    (BooleanField, frozenset({bool})),
)
_AUTO_KEYS = frozenset({AutoField, BigAutoField, SmallAutoField})  # an int key is handed on as it is
_PREPARATION = ("get_prep_value", "get_db_prep_value", "get_db_prep_save", "pre_save")


def _unchanged(field: Field, base: type[Field]) -> bool:
    kind = type(field)
    return all(getattr(kind, name) is getattr(base, name) for name in _PREPARATION)


def _passed_types(field: Field) -> frozenset[type] | None:
    """The value types `field` would pass to the database unchanged, or None if unsure."""
    if isinstance(field, ForeignKey):
        target = field.target_field
        return frozenset({int}) if type(target) in _AUTO_KEYS else _passed_types(target)
    postgres = connection.vendor == "postgresql"
    if postgres and type(field) is DateTimeField and not (field.auto_now or field.auto_now_add):
        return frozenset({datetime})  # adapt_datetimefield_value hands it on; naive ones are prepared
    if postgres and type(field) is UUIDField:
        return frozenset({uuid.UUID})
    for base, types in _PASSED:
        if isinstance(field, base) and _unchanged(field, base):
            return types
    return None

"""Model instances from a constant SQL text, as `Model.objects.raw()` builds them, for less CPU.

A raw queryset maps its columns to fields, resolves the model's init order and looks up the
fields' converters on every call; for the one to ten rows the alerting path reads at a time
(a request's claimed events, its channels, the maintenance windows) that set-up cost more
than the statement itself. `instances` does that work once per (model, column list) and
keeps it: the rows it builds are what the raw queryset would build (deferred fields absent,
extra columns as attributes, the fields' `from_db_value` applied), on every database.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import connection
from django.db.models import Model
from django.db.models.expressions import Col

M = TypeVar("M", bound=Model)

Converter = Callable[[Any, Any, Any], Any]


@dataclass(frozen=True, slots=True)
class _Plan:
    """How one column list becomes instances of one model."""

    init_names: tuple[str, ...]  # attnames of the fields present, in the model's field order
    init_columns: tuple[int, ...]  # where each of them is in the row
    converters: tuple[tuple[int, tuple[Converter, ...], Col], ...]  # by position in init_columns
    extras: tuple[tuple[str, int], ...]  # columns that are no field: set as attributes
    complete: bool  # every concrete field is present: `from_db` takes the values as they are


_plans: dict[tuple[str, type[Model], tuple[str, ...]], _Plan] = {}


def _plan(model: type[Model], columns: tuple[str, ...]) -> _Plan:
    key = (connection.vendor, model, columns)
    if (plan := _plans.get(key)) is not None:
        return plan
    position = {name: index for index, name in enumerate(columns)}
    table = model._meta.db_table
    names: list[str] = []
    places: list[int] = []
    converters: list[tuple[int, tuple[Converter, ...], Col]] = []
    used: set[int] = set()
    for field in model._meta.concrete_fields:
        index = position.get(str(field.column))
        if index is None:
            continue
        column = field.get_col(table)
        found = tuple(connection.ops.get_db_converters(column)) + tuple(column.get_db_converters(connection))
        if found:
            converters.append((len(names), found, column))
        names.append(str(field.attname))
        places.append(index)
        used.add(index)
    if str(model._meta.pk.column) not in position:
        raise ValueError(f"the statement must return {model.__name__}'s primary key column")
    plan = _Plan(
        init_names=tuple(names),
        init_columns=tuple(places),
        converters=tuple(converters),
        extras=tuple((name, index) for index, name in enumerate(columns) if index not in used),
        complete=len(names) == len(model._meta.concrete_fields),
    )
    _plans[key] = plan
    return plan


def instances(model: type[M], sql: str, params: Sequence[Any] = ()) -> list[M]:
    """The rows of `sql` as instances of `model`, in the statement's order."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        columns = tuple(str(column[0]) for column in cursor.description)
        rows = cursor.fetchall()
    if not rows:
        return []
    plan = _plan(model, columns)
    alias = connection.alias
    names = plan.init_names if not plan.complete else None
    built: list[M] = []
    for row in rows:
        values = [row[index] for index in plan.init_columns]
        for place, found, column in plan.converters:
            value = values[place]
            for convert in found:
                value = convert(value, column, connection)
            values[place] = value
        instance = model.from_db(alias, names, values)  # type: ignore[arg-type]
        for name, index in plan.extras:
            setattr(instance, name, row[index])
        built.append(instance)
    return built

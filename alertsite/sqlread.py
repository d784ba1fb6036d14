"""Model instances from a constant SQL text, as `Model.objects.raw()` builds them, for less CPU.

A raw queryset maps its columns to fields, resolves the model's init order and looks up the
fields' converters on every call; for the one to ten rows the alerting path reads at a time
(a request's claimed events, its channels, the maintenance windows) that set-up cost more
than the statement itself. `instances` does that work once per (model, column list) and
keeps it: the rows it builds are what the raw queryset would build (deferred fields absent,
extra columns as attributes, the fields' `from_db_value` applied), on every database.

Each row's instance is made as `Model.from_db` leaves it (`__dict__` holding the columns read,
`_state` not adding, from this database), without running `Model.__init__`: for an evaluation
batch of events, `__init__`'s per-field loop and its two signals were a sixth of the worker's
CPU. A model that overrides `__init__` or `from_db`, or has pre_init/post_init receivers, gets
`from_db` as before.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import connection
from django.db.models import Model
from django.db.models.base import ModelState
from django.db.models.expressions import Col
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.query_utils import DeferredAttribute
from django.db.models.signals import post_init, pre_init

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
    direct: bool  # instances may be made without `__init__` (see the module's docstring)


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
        direct=_plain_descriptors(model, names),
    )
    _plans[key] = plan
    return plan


def _plain_descriptors(model: type[Model], attnames: list[str]) -> bool:
    """Whether `__init__` would do nothing but store these fields' values: the model keeps
    Model's `__init__` and `from_db`, and each field's class attribute is Django's plain
    descriptor (a field whose descriptor converts on assignment must go through it)."""
    if model.__init__ is not Model.__init__ or model.from_db.__func__ is not Model.from_db.__func__:  # type: ignore[attr-defined]
        return False
    plain = (DeferredAttribute, ForeignKeyDeferredAttribute)
    return all(type(model.__dict__.get(name, getattr(model, name, None))) in plain for name in attnames)


def _direct(model: type[Model], plan: _Plan) -> bool:
    """`plan.direct`, unless a pre_init or post_init receiver listens to `model` now."""
    return plan.direct and not pre_init.has_listeners(model) and not post_init.has_listeners(model)


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
    direct = _direct(model, plan)
    new = model.__new__
    for row in rows:
        values = [row[index] for index in plan.init_columns]
        for place, found, column in plan.converters:
            value = values[place]
            for convert in found:
                value = convert(value, column, connection)
            values[place] = value
        if direct:
            instance = new(model)
            state = ModelState()
            state.adding = False
            state.db = alias
            instance.__dict__.update(zip(plan.init_names, values, strict=True))
            instance._state = state
        else:
            instance = model.from_db(alias, names, values)  # type: ignore[arg-type]
        for name, index in plan.extras:
            setattr(instance, name, row[index])
        built.append(instance)
    return built

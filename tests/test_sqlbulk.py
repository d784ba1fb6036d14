"""alertsite.sqlbulk.insert_new: one INSERT that skips conflicting rows and says which it wrote."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext

from alertsite.sqlbulk import insert_all, insert_new
from channels.models import Channel, Delivery

pytestmark = pytest.mark.django_db


def delivery(channel: Channel, source: str) -> Delivery:
    return Delivery(channel=channel, kind="alert.created", source=source, payload={"n": source})


@pytest.fixture
def channel() -> Channel:
    return Channel.objects.create(kind="webhook", name="Hook", config={"url": "https://hooks.example.com/x"})


def test_answers_the_primary_keys_of_the_rows_it_wrote(channel):
    pks = insert_new([delivery(channel, "alert:1"), delivery(channel, "alert:2")])
    assert sorted(Delivery.objects.values_list("pk", flat=True)) == pks


def test_rows_breaking_a_unique_constraint_are_skipped_not_raised(channel):
    first = insert_new([delivery(channel, "alert:1")])
    again = insert_new([delivery(channel, "alert:1"), delivery(channel, "alert:2")])
    assert len(again) == 1 and again[0] not in first
    assert Delivery.objects.count() == 2


def test_defaults_and_auto_now_add_are_filled_as_save_would(channel):
    (pk,) = insert_new([delivery(channel, "alert:1")])
    row = Delivery.objects.get(pk=pk)
    assert row.uuid and row.created_at and row.status == "pending" and row.payload == {"n": "alert:1"}


def test_many_rows_take_one_statement(channel):
    with CaptureQueriesContext(connection) as queries:
        pks = insert_new([delivery(channel, f"alert:{n}") for n in range(200)])
    assert len(pks) == 200 and len(queries) == 1


def test_insert_all_sets_each_instances_primary_key_in_order(channel):
    rows = [delivery(channel, f"alert:{n}") for n in range(5)]
    insert_all(rows)
    assert [row.source for row in rows] == [Delivery.objects.get(pk=row.pk).source for row in rows]
    assert not rows[0]._state.adding


def test_insert_all_raises_on_a_conflict_instead_of_skipping(channel):
    insert_all([delivery(channel, "alert:1")])
    with pytest.raises(IntegrityError):
        insert_all([delivery(channel, "alert:1")])


def test_values_are_what_djangos_preparation_makes_for_every_model():
    """The plan hands on only what `get_db_prep_save` would hand on unchanged, for every model's
    fields (auto_now fields aside: they take the time of the call)."""
    from django.apps import apps

    from alertsite.sqlbulk import _plan

    for model in apps.get_models():
        plan = _plan(model)
        obj = model()
        for field, passed in zip(plan.fields, plan.passed, strict=True):
            if passed is None:
                continue
            assert not getattr(field, "auto_now", False) and not getattr(field, "auto_now_add", False), field
            for value in _samples(passed):
                setattr(obj, field.attname, value)
                assert plan.values(obj)[plan.fields.index(field)] == field.get_db_prep_save(value, connection), field


def _samples(types: frozenset[type]) -> list:
    import uuid
    from datetime import UTC, datetime

    made = {int: 7, str: "x", bool: True, datetime: datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), uuid.UUID: uuid.uuid4()}
    return [None, *(made[kind] for kind in types)]


def test_an_alert_written_by_the_plan_reads_back_as_the_orm_wrote_it(ingest):
    """A wide model through the plan: every column as the ORM's own save wrote it."""
    from alerts.models import Alert
    from rules.services import rule_create
    from tests.factories import make_event

    rule_create(data={"name": "Logins", "conditions": [{"event_type": "user_login_attempt"}]}, actor=None)
    ingest(make_event(id="plan-1"))
    saved = Alert.objects.get()
    fields = [f.attname for f in Alert._meta.concrete_fields if not f.primary_key]
    copy = Alert(**{name: getattr(saved, name) for name in fields})
    copy.group_key = "another"  # one collecting alert per group
    insert_all([copy])
    written, original = (Alert.objects.filter(pk=pk).values(*fields).get() for pk in (copy.pk, saved.pk))
    assert {**written, "group_key": "", "created_at": None} == {**original, "group_key": "", "created_at": None}

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

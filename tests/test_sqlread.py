"""alertsite.sqlread.instances builds what `Model.objects.raw()` builds, on every database."""

from __future__ import annotations

import pytest

from alertsite.sqlread import instances
from channels.models import Channel
from events.models import AuditEvent
from tests.factories import make_event

pytestmark = pytest.mark.django_db

EVENTS = AuditEvent._meta.db_table


@pytest.fixture
def stored(ingest_client) -> None:
    for n in range(3):
        ingest_client.post("/api/v1/events", data=[make_event(id=f"sr-{n}", attributes={"n": n})], format="json")


def as_dicts(rows: list) -> list[dict]:
    return [{**row.__dict__, "_state": (row._state.adding, row._state.db)} for row in rows]


def test_whole_rows_are_the_raw_querysets_rows(stored):
    sql = f"SELECT * FROM {EVENTS} ORDER BY id"
    built = instances(AuditEvent, sql)
    assert len(built) == 3
    assert as_dicts(built) == as_dicts(list(AuditEvent.objects.raw(sql)))
    assert built[1].payload["attributes"] == {"n": 1}  # decoded, as a read decodes it


def test_some_columns_leave_the_others_deferred(stored):
    sql = f"SELECT id, timestamp, payload FROM {EVENTS} ORDER BY id DESC"
    built = instances(AuditEvent, sql)
    raw = list(AuditEvent.objects.raw(sql))
    assert as_dicts(built) == as_dicts(raw)
    assert built[0].get_deferred_fields() == raw[0].get_deferred_fields()
    assert [row.event_id for row in built] == ["sr-2", "sr-1", "sr-0"]  # loaded on access, as raw does


def test_a_column_that_is_no_field_becomes_an_attribute(stored):
    built = instances(AuditEvent, f"SELECT id, event_type, 41 + 1 AS answer FROM {EVENTS} ORDER BY id")
    assert [row.answer for row in built] == [42, 42, 42]


def test_no_rows_is_an_empty_list():
    assert instances(Channel, f"SELECT * FROM {Channel._meta.db_table} WHERE id = %s", [-1]) == []


def test_the_primary_key_must_be_among_the_columns(stored):
    with pytest.raises(ValueError, match="primary key"):
        instances(AuditEvent, f"SELECT event_id FROM {EVENTS}")


def test_a_post_init_receiver_still_hears_every_instance(stored):
    from django.db.models.signals import post_init

    heard: list[int] = []

    def receiver(sender, instance, **kwargs) -> None:
        heard.append(instance.pk)

    post_init.connect(receiver, sender=AuditEvent)
    try:
        built = instances(AuditEvent, f"SELECT id, payload FROM {EVENTS} ORDER BY id")
    finally:
        post_init.disconnect(receiver, sender=AuditEvent)
    assert heard == [row.pk for row in built] and len(heard) == 3


def test_a_foreign_key_and_a_deferred_field_load_on_access():
    from channels.models import Delivery

    channel = Channel.objects.create(kind="webhook", name="Hook", config={"url": "https://hooks.example.com/x"})
    Delivery.objects.create(channel=channel, kind="alert.created", source="alert:1", payload={"n": 1})
    (built,) = instances(Delivery, f"SELECT id, channel_id FROM {Delivery._meta.db_table}")
    assert built.channel == channel and built.source == "alert:1"

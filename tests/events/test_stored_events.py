"""A request evaluating its own events builds them from what it wrote (events.progress.stored_events):
they must be the events the claim would have read back, field for field."""

from __future__ import annotations

import pytest
from django.db import transaction

from events import hooks
from events.models import AuditEvent
from events.progress import EVALUATED_FIELDS, pending_claim_listed, stored_events
from events.services import event_batch_ingest
from events.validation import EventRecord, Limits, event_validate
from tests.factories import make_event

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def every_type_evaluated(monkeypatch):
    monkeypatch.setattr(hooks, "_evaluation_scopes", [])  # no scope: every type gets a pending row
    monkeypatch.setattr(hooks, "_ingest_listeners", [])  # and it stays pending for the claim here


def record_of(event: dict) -> EventRecord:
    record = event_validate(event, index=0, limits=Limits.from_settings())
    assert isinstance(record, EventRecord), record
    return record


def claimed(record: EventRecord) -> AuditEvent:
    """The event as the claim loads it after an ordinary ingest (a pending row, no evaluation here)."""
    result = event_batch_ingest(records=[record])
    with transaction.atomic():
        (event,) = pending_claim_listed(result.new_pks)
    return event


def test_a_stored_event_is_the_event_the_claim_would_load():
    record = record_of(
        make_event(
            id="stored-1",
            timestamp="2025-03-02T11:16:41.077123+02:00",  # not UTC: a read answers UTC
            client_ip="203.0.113.9",
            attributes={"count": 7, "ratio": 0.5, "big": 9007199254740993, "list": [1, "a", None]},
            resource={"id": "r1", "type": "user", "username": "ana"},
        )
    )
    loaded = claimed(record)
    (built,) = stored_events([(loaded.pk, record)])
    for name in EVALUATED_FIELDS:
        assert getattr(built, name) == getattr(loaded, name), name
    assert built.timestamp.utcoffset() == loaded.timestamp.utcoffset()
    assert built.get_deferred_fields() == loaded.get_deferred_fields()
    assert built._state.adding is False and built._state.db == loaded._state.db


def test_stored_events_keep_the_order_they_are_given():
    first, second = record_of(make_event(id="o-1")), record_of(make_event(id="o-2"))
    built = stored_events([(11, first), (12, second)])
    assert [(event.pk, event.event_id) for event in built] == [(11, "o-1"), (12, "o-2")]

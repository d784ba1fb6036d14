"""Stored JSON is decoded by orjson, with the standard library's exact integers and answers."""

from __future__ import annotations

import json

import pytest

from alertsite import jsonexact
from alertsite.jsonexact import json_loads_exact
from channels.models import Delivery
from events.models import AuditEvent
from tests.factories import make_event


def test_an_all_digit_id_inside_a_string_needs_no_second_decoding(monkeypatch):
    monkeypatch.setattr(jsonexact.json, "loads", lambda raw: pytest.fail("decoded twice"))
    assert json_loads_exact(b'{"id": "x1234567890123456789012", "n": 5}') == {"id": "x1234567890123456789012", "n": 5}


@pytest.mark.parametrize(
    "raw", [b'{"n": 123456789012345678901234}', b"[-98765432109876543210]", b"99999999999999999999"]
)
def test_an_integer_beyond_64_bits_stays_exact(raw):
    assert json_loads_exact(raw) == json.loads(raw)


def test_19_digit_integers_within_64_bits_are_the_same_either_way():
    assert json_loads_exact(b"[9223372036854775807, -9223372036854775808]") == [2**63 - 1, -(2**63)]


@pytest.mark.django_db
def test_a_stored_payload_reads_back_as_the_standard_library_would():
    payload = {**make_event(id="fast-1"), "nested": {"big": 2**70, "pi": 3.14159, "text": "ü€𝄞", "none": None}}
    event = AuditEvent.objects.create(
        event_id="fast-1",
        event_type="user_login_attempt",
        timestamp="2026-01-01T00:00:00Z",
        received_at="2026-01-01T00:00:00Z",
        payload=payload,
    )
    assert AuditEvent.objects.get(pk=event.pk).payload == json.loads(json.dumps(payload))


@pytest.mark.django_db
def test_a_key_lookup_on_a_fast_field_still_answers_the_value():
    AuditEvent.objects.create(
        event_id="fast-2",
        event_type="t",
        timestamp="2026-01-01T00:00:00Z",
        received_at="2026-01-01T00:00:00Z",
        payload={"a": {"b": [1, 2]}, "n": 7},
    )
    assert list(AuditEvent.objects.values_list("payload__a__b", "payload__n")) == [([1, 2], 7)]
    assert Delivery._meta.get_field("payload").deconstruct()[1] == "django.db.models.JSONField"  # no migration

"""Backtests read only the events SQL cannot rule out (rules.prefilter), and still find exactly the
engine's matches: the prefilter is a superset, never narrower."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from events.services import event_batch_ingest
from events.validation import Limits, event_validate
from rules import preview_scan
from rules.conditions import conditions_parse
from rules.engine import RuleEngine, RuleSpec
from rules.preview import rule_change_preview, rule_preview
from tests.factories import make_event

pytestmark = pytest.mark.django_db

# Events that a text or column check could get wrong: case, arrays, quotes, non-ASCII, non-boolean success.
EVENTS = [
    {"initiated_by": {"type": "user", "email": "Ana@Example.com"}},
    {"initiated_by": {"type": "user", "email": "ana@example.com"}, "success": True},
    {"initiated_by": [{"email": "ANA@example.com"}, {"email": "bob@example.com"}]},
    {"initiated_by": {"type": "user", "email": "kim@example.com"}},
    {"initiated_by": {"type": "user", "email": "\u212aim@example.com"}},  # KELVIN SIGN lowers to "k"
    {"initiated_by": {"type": "user", "email": 'quote"d@example.com'}},
    {"success": "false", "error_message": "Invalid TOTP code"},
    {"success": 0, "geoip": {"country_code": "us"}},
    {"success": ..., "geoip": {"country_code": "US"}, "error_message": "user suspended"},
    {"geoip": {"country_code": ["FR", "us"]}},
    {"event_type": "admin_login_attempt", "initiated_by": {"type": "admin", "email": "ana@example.com"}},
]

BODIES = [
    [
        {
            "event_type": "user_login_attempt",
            "filters": [{"key": "initiated_by.email", "operator": "eq", "value": "ANA@example.com"}],
        }
    ],
    [
        {
            "event_type": "user_login_attempt",
            "filters": [{"key": "initiated_by.email", "operator": "starts_with", "value": "kim"}],
        }
    ],
    [{"event_type": "user_login_attempt", "filters": [{"key": "success", "operator": "eq", "value": False}]}],
    [{"event_type": "user_login_attempt", "filters": [{"key": "success", "operator": "eq", "value": True}]}],
    [
        {
            "event_type": "user_login_attempt",
            "match": "all",
            "filters": [
                {"key": "geoip.country_code", "operator": "in", "value": ["us", "ca"]},
                {"key": "success", "operator": "eq", "value": False},
            ],
        }
    ],
    [
        {
            "event_type": "user_login_attempt",
            "match": "any",
            "filters": [
                {"key": "error_message", "operator": "contains", "value": "totp"},
                {"key": "geoip.country_code", "operator": "eq", "value": "fr"},
            ],
        }
    ],
    [
        {
            "event_type": "user_login_attempt",
            "match": "any",
            "filters": [
                {"key": "error_message", "operator": "contains", "value": "suspended"},
                {"key": "client_ip", "operator": "in_cidr", "value": "203.0.113.0/24"},
            ],
        }
    ],
    [
        {
            "event_type": "user_login_attempt",
            "filters": [{"key": "initiated_by.email", "operator": "contains", "value": 'e"d'}],
        }
    ],
    [{"event_type": "user_login_attempt", "expression": "initiated_by.email == 'ana@example.com'"}],
    [
        {
            "event_type": "user_login_attempt",
            "filters": [{"key": "geoip.country_code", "operator": "eq", "value": "US"}],
        },
        {"event_type": "admin_login_attempt", "filters": [{"key": "success", "operator": "eq", "value": False}]},
    ],
]


def store_all() -> list[dict]:
    now = timezone.now()
    stored = []
    for index, fields in enumerate(EVENTS):
        moment = (now - timedelta(minutes=len(EVENTS) - index)).isoformat().replace("+00:00", "Z")
        payload = make_event(id=f"pre-{index}", timestamp=moment, **fields)
        record = event_validate(payload, index=0, limits=Limits.from_settings())
        assert not isinstance(record, list), record
        event_batch_ingest(records=[record])
        stored.append(payload)
    return stored


def engine_matches(conditions: list[dict], events: list[dict]) -> list[str]:
    engine = RuleEngine([RuleSpec(id=1, conditions=tuple(conditions_parse(conditions)))])
    return sorted(events[position]["id"] for position, _ in engine.match_batch(events))


@pytest.mark.parametrize("conditions", BODIES)
def test_the_preview_finds_exactly_what_the_engine_matches_over_every_stored_event(conditions):
    events = store_all()
    expected = engine_matches(conditions, events)
    result = rule_preview(values={"conditions": conditions}, since=timezone.now() - timedelta(hours=1), sample_size=100)
    assert sorted(event.event_id for event in result.sample) == expected
    assert result.matched == len(expected)


def test_scanned_counts_every_event_of_the_types_even_those_sql_ruled_out():
    store_all()
    result = rule_preview(values={"conditions": BODIES[0]}, since=timezone.now() - timedelta(hours=1))
    assert result.scanned == len(EVENTS) - 1  # one is an admin_login_attempt


def test_a_change_preview_compares_exactly_the_engines_matches_of_both_sides():
    events = store_all()
    before, after = BODIES[0], BODIES[2]
    result = rule_change_preview(
        before={"conditions": before},
        after={"conditions": after},
        since=timezone.now() - timedelta(hours=1),
        sample_size=100,
    )
    old, new = set(engine_matches(before, events)), set(engine_matches(after, events))
    assert sorted(event.event_id for event in result.events.added_sample) == sorted(new - old)
    assert sorted(event.event_id for event in result.events.removed_sample) == sorted(old - new)
    assert (result.events.before, result.events.after) == (len(old), len(new))


def test_samples_are_the_newest_matches_first():
    store_all()
    result = rule_preview(values={"conditions": BODIES[2]}, since=timezone.now() - timedelta(hours=1), sample_size=2)
    assert [event.event_id for event in result.sample] == ["pre-9", "pre-5"]


def test_beyond_the_scan_limit_only_the_newest_events_count(monkeypatch):
    monkeypatch.setattr(preview_scan, "MAX_SCANNED", 4)
    store_all()
    result = rule_preview(values={"conditions": BODIES[2]}, since=timezone.now() - timedelta(hours=1), sample_size=10)
    # The newest 4 user_login_attempt events are pre-6 .. pre-9; of them success is false only in pre-9.
    assert (result.scanned, result.truncated) == (4, True)
    assert [event.event_id for event in result.sample] == ["pre-9"]


@pytest.mark.postgres
def test_sql_rules_out_the_events_that_cannot_match():
    from events.models import AuditEvent
    from rules.prefilter import conditions_prefilter

    store_all()
    kept = AuditEvent.objects.filter(conditions_prefilter(conditions_parse(BODIES[0]))).values_list(
        "event_id", flat=True
    )
    # Both spellings of ana's address, the array (the engine looks inside), the KELVIN SIGN row.
    assert sorted(kept) == ["pre-0", "pre-1", "pre-2", "pre-4"]


@pytest.mark.postgres
def test_sql_keeps_failed_or_unknown_success_for_a_success_filter():
    from events.models import AuditEvent
    from rules.prefilter import conditions_prefilter

    store_all()
    kept = AuditEvent.objects.filter(conditions_prefilter(conditions_parse(BODIES[2]))).values_list(
        "event_id", flat=True
    )
    assert sorted(kept) == ["pre-0", "pre-2", "pre-3", "pre-4", "pre-5", "pre-6", "pre-7", "pre-8", "pre-9"]

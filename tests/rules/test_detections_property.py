"""Property (issue 16): for random event streams, evaluating live in random batch sizes raises the
same alerts as `detection_replay` over the stream in timestamp order, for both kinds.

Arrival is shuffled: batches are cut at random, events of different keys overtake each other
across batches, and inside a batch any order goes. Events of one key (one user's values, one
admin's steps) arrive in event-time order across batches: a late event whose earlier-decided
partner already fired cannot retract it (the live decision is final; see README "Detections").
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerts.models import Alert, AlertEvent
from events import services as event_services
from events.models import AuditEvent
from events.services import event_batch_ingest
from events.validation import Limits, event_validate
from rules.detections import DetectionEvent, detection_replay
from rules.evaluation import events_evaluate
from rules.models import BackfillStatus, DetectionStep, DetectionValue, Rule, RuleMatch
from rules.services import rule_create, rules_version_bump
from tests.factories import make_event

pytestmark = pytest.mark.django_db

BASE = timezone.now().replace(microsecond=0) - timedelta(days=20)
USERS = ["alice@example.com", "bob@example.com", "carol@example.com"]
COUNTRIES = ["DE", "FR", "BR"]
NEW_VALUE = {"type": "new_value", "fields": ["initiated_by.email", "geoip.country_code"], "history_days": 1}
SEQUENCE = {"type": "sequence", "steps": [0, 1], "by": ["initiated_by.email"], "within_minutes": 10}
STEP_TYPES = ["admin_totp_disable", "admin_password_change"]

# (user, country, hour) for logins: four days, so values expire and come back after history_days.
logins = st.lists(st.tuples(st.sampled_from(USERS), st.sampled_from(COUNTRIES), st.integers(0, 96)), max_size=25)
# (admin, step, minute) for sequences: an hour, so windows of 10 minutes open, close and overlap.
steps = st.lists(st.tuples(st.sampled_from(USERS), st.integers(0, 1), st.integers(0, 60)), max_size=25)


def setup_rule(name: str, conditions: list[dict[str, Any]], detection: dict[str, Any]) -> Rule:
    rule = Rule.objects.filter(name=name).first()
    if rule is None:
        rule = rule_create(
            data={"name": name, "priority": "low", "conditions": conditions, "detection": detection}, actor=None
        )
        Rule.objects.filter(pk=rule.pk).update(learn_status=BackfillStatus.DONE)
        rules_version_bump()
    return rule


def clean_slate() -> None:
    for model in (AlertEvent, Alert, RuleMatch, DetectionValue, DetectionStep, AuditEvent):
        model.objects.all().delete()


def ingest_in_time_order(payloads: list[dict[str, Any]]) -> list[AuditEvent]:
    """Store the stream oldest first, so pks follow (timestamp, stream order): the replay's tie-break."""
    limits = Limits.from_settings()
    records = [event_validate(p, index=n, limits=limits) for n, p in enumerate(payloads)]
    event_batch_ingest(records=records)  # type: ignore[arg-type]
    return list(AuditEvent.objects.order_by("timestamp", "pk"))


def arrival(data: st.DataObject, events: list[AuditEvent], key_of: Any) -> list[list[int]]:
    """Random batches: keys interleave at random (one key's events stay in order), each batch shuffled."""
    queues: dict[Any, list[AuditEvent]] = defaultdict(list)
    for event in events:
        queues[key_of(event)].append(event)
    order: list[AuditEvent] = []
    while queues:
        key = data.draw(st.sampled_from(sorted(queues, key=repr)))
        order.append(queues[key].pop(0))
        if not queues[key]:
            del queues[key]
    batches = []
    while order:
        size = data.draw(st.integers(1, 6))
        batch = [event.pk for event in order[:size]]
        batches.append(data.draw(st.permutations(batch)))
        order = order[size:]
    return batches


def live_alerts(rule: Rule) -> list[tuple[int, ...]]:
    alerts = Alert.objects.filter(rule=rule).order_by("event__timestamp", "event_id")
    found = []
    for alert in alerts:
        links = AlertEvent.objects.filter(alert=alert).order_by("step", "event_timestamp", "event_id")
        found.append(tuple(links.values_list("event_id", flat=True)))
    return sorted(found)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stream=logins, data=st.data())
def test_new_value_live_in_random_batches_equals_replay(stream, data, monkeypatch):
    monkeypatch.setattr(event_services, "events_ingested_notify", lambda pks: None)
    rule = setup_rule("New values", [{"event_type": "user_login_attempt"}], NEW_VALUE)
    clean_slate()
    payloads = [
        make_event(
            id=f"l{n}",
            success=True,
            timestamp=(BASE + timedelta(hours=hour)).isoformat(),
            initiated_by={"type": "user", "email": user},
            geoip={"country_code": country},
        )
        for n, (user, country, hour) in enumerate(sorted(stream, key=lambda item: item[2]))
    ]
    events = ingest_in_time_order(payloads)
    for batch in arrival(
        data, events, lambda e: (e.payload["initiated_by"]["email"], e.payload["geoip"]["country_code"])
    ):
        events_evaluate(event_pks=batch)
    replayed = detection_replay(
        NEW_VALUE, [DetectionEvent(e.pk, e.timestamp, e.payload, frozenset({0})) for e in events]
    )
    assert live_alerts(rule) == sorted(decision.event_pks for decision in replayed)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stream=steps, data=st.data())
def test_sequence_live_in_random_batches_equals_replay(stream, data, monkeypatch):
    monkeypatch.setattr(event_services, "events_ingested_notify", lambda pks: None)
    rule = setup_rule("Sequences", [{"event_type": STEP_TYPES[0]}, {"event_type": STEP_TYPES[1]}], SEQUENCE)
    clean_slate()
    payloads = [
        make_event(
            id=f"s{n}",
            event_type=STEP_TYPES[step],
            timestamp=(BASE + timedelta(minutes=minute)).isoformat(),
            initiated_by={"type": "admin", "email": user},
            success=...,
            geoip=...,
        )
        for n, (user, step, minute) in enumerate(sorted(stream, key=lambda item: item[2]))
    ]
    events = ingest_in_time_order(payloads)
    for batch in arrival(data, events, lambda e: e.payload["initiated_by"]["email"]):
        events_evaluate(event_pks=batch)
    replayed = detection_replay(
        SEQUENCE,
        [DetectionEvent(e.pk, e.timestamp, e.payload, frozenset({STEP_TYPES.index(e.event_type)})) for e in events],
    )
    assert live_alerts(rule) == sorted(decision.event_pks for decision in replayed)

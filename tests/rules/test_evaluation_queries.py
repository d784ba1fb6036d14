"""Evaluating a batch costs a bounded number of statements, however many events and matches it has."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from channels.models import Channel, Delivery
from events import services as event_services
from events.models import PendingEvaluation
from events.services import event_batch_ingest
from events.validation import Limits, event_validate
from rules.evaluation import events_evaluate_pending
from rules.models import RuleMatch
from rules.services import rule_create
from tests.factories import make_event

pytestmark = pytest.mark.django_db


def batch(prefix: str, events: int, failures: int) -> None:
    """`events` logins, `failures` of them failed (the rule below matches those)."""
    limits = Limits.from_settings()
    records = [
        event_validate(make_event(id=f"{prefix}{n}", success=n >= failures), index=n, limits=limits)
        for n in range(events)
    ]
    event_batch_ingest(records=records)  # type: ignore[arg-type]


def statements_to_evaluate(prefix: str, events: int, matches: int) -> int:
    batch(prefix, events, matches)
    with CaptureQueriesContext(connection) as queries:
        result = events_evaluate_pending(
            limit=10_000, received_since=PendingEvaluation.objects.earliest("received_at").received_at
        )
    assert (result.events, result.new_matches) == (events, matches)
    return len(queries)


def test_statements_per_batch_do_not_grow_with_events_or_matches(monkeypatch):
    monkeypatch.setattr(event_services, "events_ingested_notify", lambda pks: None)
    channel = Channel.objects.create(kind="email", name="Ops mail", config={"recipients": ["ops@example.com"]})
    rule_create(
        data={
            "name": "Failed logins",
            "priority": "high",
            "send_notifications": True,
            "channels": [channel.pk],
            "conditions": [
                {"event_type": "user_login_attempt", "filters": [{"key": "success", "operator": "eq", "value": False}]}
            ],
        },
        actor=None,
    )
    statements_to_evaluate("w", events=10, matches=1)  # warms the per-process caches (rule engine, types)
    small = statements_to_evaluate("s", events=100, matches=10)
    large = statements_to_evaluate("l", events=500, matches=50)
    # SQLite caps the parameters of a statement: its bulk INSERTs of wide rows (alerts) split
    # into chunks of a few dozen rows, so there a batch of 50 alerts costs one more INSERT.
    assert large - small <= (0 if connection.vendor == "postgresql" else 2), (small, large)
    assert small <= 25, small
    assert RuleMatch.objects.count() == 61
    assert Delivery.objects.filter(kind="alert.created").count() == 61


def test_a_batchs_new_alerts_and_their_event_links_are_one_insert_on_postgresql(monkeypatch):
    from alerts.models import Alert, AlertEvent

    monkeypatch.setattr(event_services, "events_ingested_notify", lambda pks: None)
    rule_create(
        data={
            "name": "Failed logins",
            "priority": "high",
            "conditions": [
                {"event_type": "user_login_attempt", "filters": [{"key": "success", "operator": "eq", "value": False}]}
            ],
        },
        actor=None,
    )
    batch("k", 10, 4)
    with CaptureQueriesContext(connection) as queries:
        events_evaluate_pending(limit=100, received_since=PendingEvaluation.objects.earliest("received_at").received_at)
    writing_links = [q["sql"] for q in queries if "INSERT INTO" in q["sql"] and AlertEvent._meta.db_table in q["sql"]]
    assert len(writing_links) == 1
    assert (f'INSERT INTO "{Alert._meta.db_table}" ' in writing_links[0]) == (connection.vendor == "postgresql")
    for alert in Alert.objects.all():  # each alert linked to the event that raised it, and only to it
        assert list(AlertEvent.objects.filter(alert=alert).values_list("event_id", flat=True)) == [alert.event_id]
    assert Alert.objects.count() == 4

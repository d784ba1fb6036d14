"""Migrations alerts.0005 and rules.0005: existing alerts get their rule's channels, notify flags and grouping."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from alerts.models import Alert
from tests.migration_steps import migrate, migrate_latest

BEFORE = [
    ("alerts", "0004_category_source_backfill"),
    ("rules", "0004_rule_match_plural"),
    ("channels", "0002_channel_consecutive_failures_and_more"),
]
WHEN = datetime(2025, 3, 2, 9, 16, tzinfo=UTC)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_migration_copies_each_rules_policy_onto_its_alerts():
    old = migrate(BEFORE)
    try:
        Rule, OldAlert, Channel = (
            old.get_model(*name) for name in (("rules", "Rule"), ("alerts", "Alert"), ("channels", "Channel"))
        )
        channel = Channel.objects.create(kind="webhook", name="Hook", config={})
        rules = {
            "notify": Rule.objects.create(
                name="Notify", send_notifications=True, notify_on_acknowledge=True, conditions=[], priority="high"
            ),
            "grouped": Rule.objects.create(name="Grouped", group_window_minutes=30, conditions=[], priority="low"),
        }
        rules["notify"].channels.set([channel.pk])
        alerts = {
            name: OldAlert.objects.create(
                rule=rule,
                rule_name=rule.name,
                priority=rule.priority,
                title=name,
                event_type="user_login_attempt",
                first_seen_at=WHEN,
                last_seen_at=WHEN,
                created_at=WHEN,
            ).pk
            for name, rule in rules.items()
        }
        channel_pk = channel.pk
    finally:
        migrate_latest()
    found = {
        name: Alert.objects.values_list(
            "notify_channel_ids", "notify_on_acknowledge", "notify_on_resolve", "grouped"
        ).get(pk=pk)
        for name, pk in alerts.items()
    }
    assert found == {"notify": ([channel_pk], True, False, False), "grouped": ([], False, False, True)}

"""Migrations alerts.0003-0004: existing alerts get their category and source from the stored event, in batches."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime

import pytest

from alerts.models import Alert
from tests.migration_steps import migrate, migrate_latest

# events back to before 0004 too: the historical AuditEvent here still has `evaluated_at`.
BEFORE = [("alerts", "0002_search_trigram_indexes"), ("events", "0003_payload_gin_index")]
AFTER = [("alerts", "0004_category_source_backfill")]
WHEN = datetime(2025, 3, 2, 9, 16, tzinfo=UTC)


# serialized_rollback: the flush afterwards must not re-create the role groups (post_migrate), or a
# later serialized_rollback test (test_concurrency) restores them twice.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_migration_fills_category_and_source_of_existing_alerts_from_their_event(monkeypatch):
    monkeypatch.setattr(importlib.import_module("alerts.migrations.0004_category_source_backfill"), "BATCH_SIZE", 2)
    old = migrate(BEFORE)
    try:
        AuditEvent, OldAlert = old.get_model("events", "AuditEvent"), old.get_model("alerts", "Alert")
        payloads = {
            "user": {"service": "directory", "initiated_by": {"type": "user", "id": "61c0ffee0000000000000a02"}},
            "device": {
                "service": "systems",
                "initiated_by": {"type": "systemuser", "username": "jane.doe"},
                "system": {"id": "63aa00000000000000000101", "hostname": "JDOE-MBP"},
            },
            "admin": {
                "service": "directory",
                "initiated_by": {"type": "admin", "id": "60a1b2c3d4e5f60718293a4b"},
                "resource": {"type": "admin", "id": "60a1b2c3d4e5f60718293a4c"},
            },
            "radius": {"service": "radius", "initiated_by": {"type": "user", "username": "12345"}},
        }
        alerts = {}
        for name, payload in [*payloads.items(), ("purged", None)]:
            event = None
            if payload is not None:
                event = AuditEvent.objects.create(
                    event_id=f"mig-{name}",
                    event_type="user_login_attempt",
                    service=payload["service"],
                    timestamp=WHEN,
                    received_at=WHEN,
                    payload={"id": f"mig-{name}", "event_type": "user_login_attempt", **payload},
                )
            alerts[name] = OldAlert.objects.create(
                rule_name="Old rule",
                priority="high",
                title=f"Old {name}",
                event=event,
                event_type="user_login_attempt",
                first_seen_at=WHEN,
                last_seen_at=WHEN,
                created_at=WHEN,
            ).pk
    finally:
        migrate(AFTER)
        migrate_latest()

    found = {
        name: Alert.objects.values_list("category", "source_type", "source_id").get(pk=pk)
        for name, pk in alerts.items()
    }
    assert found == {
        "user": ("directory", "user", "61c0ffee0000000000000a02"),
        "device": ("devices", "device", "63aa00000000000000000101"),
        "admin": ("directory", "user", "60a1b2c3d4e5f60718293a4c"),
        "radius": ("radius", "user", "12345"),
        "purged": ("other", "", ""),
    }

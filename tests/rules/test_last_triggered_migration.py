"""Migration rules.0012: every rule's last match moves to `last_matched_at`; a threshold rule's
`last_triggered_at` becomes the creation of its newest alert (none: never triggered)."""

from __future__ import annotations

from typing import Any

import pytest

from alerts.models import Alert
from rules.models import Rule
from rules.services import rule_create
from tests.factories import make_event
from tests.migration_steps import migrate, migrate_latest

BEFORE = [("rules", "0011_detection_stores")]
AFTER = [("rules", "0012_rule_last_matched_threshold_fires")]
CONDITIONS = [{"event_type": "user_login_attempt", "filters": [{"key": "success", "operator": "eq", "value": False}]}]
THRESHOLD: dict[str, Any] = {"count": 3, "window_minutes": 10}


def failed_login(n: int) -> dict[str, Any]:
    return make_event(id=f"m-{n}", timestamp=f"2025-03-02T09:16:{n:02d}.000Z")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_threshold_rules_keep_their_last_alert_as_last_triggered(ingest) -> None:
    fired = rule_create(
        data={
            "name": "Fired",
            "priority": "high",
            "conditions": CONDITIONS,
            "threshold": THRESHOLD,
            "group_by": ["initiated_by.email"],
        },
        actor=None,
    )
    ingest(failed_login(1), failed_login(2), failed_login(3))
    ingest(failed_login(4))  # joins the open alert
    quiet_threshold = {"count": 50, "window_minutes": 10}
    below = rule_create(
        data={"name": "Below", "priority": "low", "conditions": CONDITIONS, "threshold": quiet_threshold}, actor=None
    )
    Rule.objects.filter(pk=below.pk).update(last_matched_at=None, last_triggered_at=None)
    try:
        old = migrate(BEFORE)  # back: the last match is "last triggered" again
        OldRule = old.get_model("rules", "Rule")
        last_match = OldRule.objects.get(pk=fired.pk).last_triggered_at
        OldRule.objects.filter(pk=below.pk).update(last_triggered_at=last_match)
        migrate(AFTER)
        fired_now, below_now = Rule.objects.get(pk=fired.pk), Rule.objects.get(pk=below.pk)
        assert fired_now.last_matched_at == last_match
        assert fired_now.last_triggered_at == Alert.objects.get(rule=fired).created_at
        assert fired_now.last_triggered_at < last_match
        assert (below_now.last_matched_at, below_now.last_triggered_at) == (last_match, None)
    finally:
        migrate_latest()

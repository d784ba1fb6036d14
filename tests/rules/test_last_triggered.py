"""When a rule "last triggered" (issue 17, part 4; api.md section 4 `threshold`).

A threshold rule fires when N matching events fall within its window: that is when it raises an
alert, so that is its `last_triggered_at`. Its matches below the threshold, and those that join
the alert it opened, move only `last_matched_at`. Any other rule triggers on every match, as before.
"""

from __future__ import annotations

from typing import Any

import pytest

from alerts.models import Alert
from rules.models import Rule
from rules.services import rule_create
from tests.factories import make_event

pytestmark = pytest.mark.django_db

FAILED_LOGINS: dict[str, Any] = {
    "name": "Repeated failed logins",
    "priority": "high",
    "conditions": [
        {"event_type": "user_login_attempt", "filters": [{"key": "success", "operator": "eq", "value": False}]}
    ],
    "group_by": ["initiated_by.email"],
}
THRESHOLD = {"count": 3, "window_minutes": 10}


def failed_login(n: int) -> dict[str, Any]:
    return make_event(id=f"login-{n}", timestamp=f"2025-03-02T09:16:{n:02d}.000Z")


def test_a_threshold_rule_below_its_threshold_has_matched_but_not_triggered(ingest) -> None:
    rule = rule_create(data={**FAILED_LOGINS, "threshold": THRESHOLD}, actor=None)
    ingest(failed_login(1), failed_login(2))
    rule.refresh_from_db()
    assert rule.last_matched_at is not None
    assert rule.last_triggered_at is None
    assert (rule.match_count, rule.alert_count) == (2, 0)


def test_a_threshold_rule_triggers_when_it_raises_an_alert(ingest) -> None:
    rule = rule_create(data={**FAILED_LOGINS, "threshold": THRESHOLD}, actor=None)
    ingest(failed_login(1), failed_login(2))
    ingest(failed_login(3))
    rule.refresh_from_db()
    assert rule.alert_count == 1
    assert rule.last_triggered_at is not None
    assert rule.last_triggered_at == rule.last_matched_at


def test_a_match_joining_the_open_alert_does_not_trigger_the_threshold_rule_again(ingest) -> None:
    rule = rule_create(data={**FAILED_LOGINS, "threshold": THRESHOLD}, actor=None)
    ingest(failed_login(1), failed_login(2), failed_login(3))
    rule.refresh_from_db()
    fired = rule.last_triggered_at
    ingest(failed_login(4))
    rule.refresh_from_db()
    assert Alert.objects.get(rule=rule).event_count == 4
    assert rule.last_triggered_at == fired
    assert rule.last_matched_at > fired


def test_a_rule_without_threshold_triggers_on_every_match(ingest) -> None:
    rule = rule_create(data=FAILED_LOGINS, actor=None)
    ingest(failed_login(1))
    rule.refresh_from_db()
    assert rule.last_triggered_at is not None
    assert rule.last_triggered_at == rule.last_matched_at


def test_the_api_shows_both_times(ingest, auth_client) -> None:
    rule = rule_create(data={**FAILED_LOGINS, "threshold": THRESHOLD}, actor=None)
    ingest(failed_login(1))
    data = auth_client("viewer").get(f"/api/v1/rules/{rule.pk}").json()
    assert data["last_triggered_at"] is None
    assert data["last_matched_at"] is not None
    assert Rule.objects.get(pk=rule.pk).last_matched_at is not None

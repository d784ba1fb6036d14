"""Existing Conditions: a rule saved or enabled with the toggle on is run over recently stored events."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone

from events.services import event_batch_ingest
from events.validation import Limits, event_validate
from rules.models import BackfillStatus, Rule, RuleMatch
from rules.services import rule_create, rule_set_enabled, rule_update
from tests.factories import make_event

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lookback_two_hours")]

RULES = "/api/v1/rules"
BODY = {
    "name": "Failed logins",
    "priority": "high",
    "existing_conditions": True,
    "conditions": [
        {"event_type": "user_login_attempt", "filters": [{"key": "success", "operator": "eq", "value": False}]}
    ],
}


@pytest.fixture
def lookback_two_hours():
    with override_settings(ALERTSITE_EXISTING_LOOKBACK_HOURS=2):
        yield


def rfc3339(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def store(event_id: str, *, hours_ago: float, causal_depth: int = 0, **fields: Any) -> None:
    """Store an event as ingestion does, without evaluating it (no rule exists yet anyway)."""
    at = timezone.now() - timedelta(hours=hours_ago)
    payload = make_event(id=event_id, timestamp=rfc3339(at), **fields)
    record = event_validate(payload, index=0, limits=Limits.from_settings(), causal_depth=causal_depth)
    assert not isinstance(record, list), record
    event_batch_ingest(records=[record])


@pytest.fixture
def stored_events() -> None:
    store("recent-1", hours_ago=0.5, success=False)
    store("recent-2", hours_ago=1.5, success=False)
    store("recent-ok", hours_ago=1, success=True)
    store("old", hours_ago=3, success=False)
    store("other-type", hours_ago=1, success=False, event_type="admin_login_attempt")


def matched_event_ids(rule: Rule) -> set[str]:
    return set(RuleMatch.objects.filter(rule=rule).values_list("event__event_id", flat=True))


def test_new_rule_with_existing_conditions_matches_stored_events_in_the_lookback(
    stored_events, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        rule = rule_create(data=BODY, actor=None)
    assert matched_event_ids(rule) == {"recent-1", "recent-2"}


def test_backfill_records_match_times_and_counts(stored_events, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        rule = rule_create(data=BODY, actor=None)
    rule.refresh_from_db()
    assert rule.match_count == 2
    assert rule.last_triggered_at is not None


def test_events_older_than_the_lookback_are_not_matched(django_capture_on_commit_callbacks):
    store("old", hours_ago=3, success=False)
    with django_capture_on_commit_callbacks(execute=True):
        rule = rule_create(data=BODY, actor=None)
    assert matched_event_ids(rule) == set()


def test_lookback_follows_the_setting(django_capture_on_commit_callbacks):
    store("old", hours_ago=3, success=False)
    with override_settings(ALERTSITE_EXISTING_LOOKBACK_HOURS=4), django_capture_on_commit_callbacks(execute=True):
        rule = rule_create(data=BODY, actor=None)
    assert matched_event_ids(rule) == {"old"}


def test_progress_shows_in_the_api_when_done(stored_events, auth_client, django_capture_on_commit_callbacks):
    client = auth_client("admin")
    with django_capture_on_commit_callbacks(execute=True):
        rule_id = client.post(RULES, BODY, format="json").json()["id"]
    progress = client.get(f"{RULES}/{rule_id}").json()["existing_conditions_progress"]
    # recent-1, recent-2 and recent-ok are login attempts inside the lookback
    assert progress == {"status": "done", "total": 3, "done": 3, "matched": 2, "error": None}


def test_progress_fields_are_stored_on_the_rule(stored_events, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        rule = rule_create(data=BODY, actor=None)
    rule.refresh_from_db()
    assert (rule.backfill_status, rule.backfill_total, rule.backfill_done, rule.backfill_matched) == (
        BackfillStatus.DONE,
        3,
        3,
        2,
    )


def test_backfill_is_queued_until_the_transaction_commits(stored_events, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        rule = rule_create(data=BODY, actor=None)
    rule.refresh_from_db()
    assert rule.backfill_status == BackfillStatus.QUEUED
    assert matched_event_ids(rule) == set()


def test_rule_without_existing_conditions_is_not_backfilled(stored_events, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        rule = rule_create(data={**BODY, "existing_conditions": False}, actor=None)
    rule.refresh_from_db()
    assert rule.backfill_status == BackfillStatus.IDLE
    assert matched_event_ids(rule) == set()


def test_disabled_rule_is_not_backfilled_at_save(stored_events, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        rule = rule_create(data={**BODY, "enabled": False}, actor=None)
    assert matched_event_ids(rule) == set()


def test_enabling_a_disabled_rule_with_the_toggle_on_triggers_the_backfill(
    stored_events, auth_client, django_capture_on_commit_callbacks
):
    client = auth_client("admin")
    rule_id = client.post(RULES, {**BODY, "enabled": False}, format="json").json()["id"]
    assert not RuleMatch.objects.filter(rule_id=rule_id).exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{RULES}/{rule_id}/enable")
    assert response.status_code == 200
    assert matched_event_ids(Rule.objects.get(pk=rule_id)) == {"recent-1", "recent-2"}
    assert client.get(f"{RULES}/{rule_id}").json()["existing_conditions_progress"]["status"] == "done"


def test_turning_the_toggle_on_later_triggers_the_backfill(stored_events, django_capture_on_commit_callbacks):
    rule = rule_create(data={**BODY, "existing_conditions": False}, actor=None)
    with django_capture_on_commit_callbacks(execute=True):
        rule_update(rule=rule, data={"existing_conditions": True}, actor=None)
    assert matched_event_ids(rule) == {"recent-1", "recent-2"}


def test_reenabling_does_not_match_the_same_events_twice(stored_events, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        rule = rule_create(data=BODY, actor=None)
    rule_set_enabled(rule=rule, enabled=False, actor=None)
    with django_capture_on_commit_callbacks(execute=True):
        rule_set_enabled(rule=rule, enabled=True, actor=None)
    rule.refresh_from_db()
    assert RuleMatch.objects.filter(rule=rule).count() == 2
    assert (rule.backfill_status, rule.backfill_matched) == (BackfillStatus.DONE, 0)


def test_events_caused_two_steps_away_are_not_backfilled(django_capture_on_commit_callbacks):
    store("depth-1", hours_ago=0.5, causal_depth=1, success=False)
    store("depth-2", hours_ago=0.5, causal_depth=2, success=False)
    with django_capture_on_commit_callbacks(execute=True):
        rule = rule_create(data=BODY, actor=None)
    assert matched_event_ids(rule) == {"depth-1"}
    rule.refresh_from_db()
    assert rule.backfill_total == 1


def test_rule_disabled_before_its_backfill_runs_does_not_stay_queued(stored_events, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        rule = rule_create(data=BODY, actor=None)
        rule_set_enabled(rule=rule, enabled=False, actor=None)
    assert matched_event_ids(rule) == set()
    rule.refresh_from_db()
    assert rule.backfill_status != BackfillStatus.QUEUED

"""api.md section 4: `existing_conditions` backfills "when true at save or enable time", through the API.

A save that changes what an enabled rule with the toggle on matches or raises queues the
backfill; one that changes only labels (name, description, priority) or nothing does not.
The backfill itself is covered in test_existing_conditions.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from rules.models import BackfillStatus, Rule

pytestmark = pytest.mark.django_db

RULES = "/api/v1/rules"
BODY: dict[str, Any] = {
    "name": "Failed logins",
    "priority": "high",
    "existing_conditions": True,
    "conditions": [
        {"event_type": "user_login_attempt", "filters": [{"key": "success", "operator": "eq", "value": False}]}
    ],
}


@pytest.fixture
def admin(auth_client):
    return auth_client("admin")


@pytest.fixture
def saved(admin, django_capture_on_commit_callbacks):
    """Save a rule through the API, let its first backfill run, and return a save that reports the status after it."""

    def save(**overrides: Any):
        with django_capture_on_commit_callbacks(execute=True):
            response = admin.post(RULES, {**BODY, **overrides}, format="json")
        assert response.status_code == 201, response.content
        rule_id = response.json()["id"]

        def status_after(method: str, path: str = "", body: dict[str, Any] | None = None) -> str:
            # Nothing runs on commit here: a queued backfill stays visible as "queued".
            with django_capture_on_commit_callbacks(execute=False):
                reply = getattr(admin, method)(f"{RULES}/{rule_id}{path}", body, format="json")
            assert reply.status_code == 200, reply.content
            return Rule.objects.get(pk=rule_id).backfill_status

        return status_after

    return save


@pytest.mark.parametrize(
    "change",
    [
        {"threshold": {"count": 3, "window_minutes": 10}},
        {"group_by": ["initiated_by.email"], "group_window_minutes": 60},
        {"conditions": [{"event_type": "user_login_attempt"}]},
    ],
    ids=["threshold", "group_by", "conditions"],
)
def test_an_update_changing_what_the_rule_matches_or_raises_queues_the_backfill(saved, change):
    status_after = saved()
    assert status_after("patch", body=change) == BackfillStatus.QUEUED


@pytest.mark.parametrize(
    "change",
    [{"priority": "low"}, {"description": "Changed"}, {"name": "Renamed"}],
    ids=["priority", "description", "name"],
)
def test_an_update_of_what_only_labels_the_rule_does_not_queue_the_backfill(saved, change):
    status_after = saved()
    assert status_after("patch", body=change) == BackfillStatus.DONE


def test_a_put_of_an_enabled_rule_with_existing_conditions_queues_the_backfill(saved):
    status_after = saved()
    body = {**BODY, "conditions": [{"event_type": "user_login_attempt"}]}
    assert status_after("put", body=body) == BackfillStatus.QUEUED


def test_a_patch_that_changes_nothing_does_not_queue_the_backfill(saved):
    status_after = saved()
    assert status_after("patch", body={"priority": BODY["priority"]}) == BackfillStatus.DONE


def test_enabling_an_already_enabled_rule_does_not_queue_the_backfill(saved):
    status_after = saved()
    assert status_after("post", "/enable") == BackfillStatus.DONE


def test_enabling_a_disabled_rule_with_existing_conditions_queues_the_backfill(saved):
    status_after = saved(enabled=False)
    assert status_after("post", "/enable") == BackfillStatus.QUEUED


def test_an_update_of_a_disabled_rule_does_not_queue_the_backfill(saved):
    status_after = saved(enabled=False)
    assert status_after("patch", body={"priority": "low"}) == BackfillStatus.IDLE


def test_an_update_of_a_rule_without_existing_conditions_does_not_queue_the_backfill(saved):
    status_after = saved(existing_conditions=False)
    assert status_after("patch", body={"priority": "low"}) == BackfillStatus.IDLE


def test_disabling_a_rule_does_not_queue_the_backfill(saved):
    status_after = saved()
    assert status_after("post", "/disable") == BackfillStatus.DONE

"""POST /api/v1/rules/{id}/preview-change (api.md section 10): over stored events, the events and
alerts a change to a rule would add and remove, with samples."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from channels.models import Channel
from events.services import event_batch_ingest
from events.validation import Limits, event_validate
from rules.models import Rule, RuleVersion
from rules.services import rule_create
from tests.factories import make_event

pytestmark = pytest.mark.django_db

FAILED = {"key": "success", "operator": "eq", "value": False}
BOB = "bob@example.com"
CAROL = "carol@example.com"


def store(event_id: str, minutes_ago: float, email: str = BOB, **fields: Any) -> None:
    moment = timezone.now() - timedelta(minutes=minutes_ago)
    payload = make_event(
        id=event_id,
        timestamp=moment.isoformat().replace("+00:00", "Z"),
        initiated_by={"id": "u", "type": "user", "email": email},
        **fields,
    )
    record = event_validate(payload, index=0, limits=Limits.from_settings())
    assert not isinstance(record, list), record
    event_batch_ingest(records=[record])


def failed_logins(**overrides: Any) -> Rule:
    data = {
        "name": "Failed logins",
        "conditions": [{"event_type": "user_login_attempt", "match": "all", "filters": [FAILED]}],
        **overrides,
    }
    return rule_create(data=data, actor=None)


def only_bob() -> list[dict[str, Any]]:
    email = {"key": "initiated_by.email", "operator": "eq", "value": BOB}
    return [{"event_type": "user_login_attempt", "match": "all", "filters": [FAILED, email]}]


def preview(client, rule: Rule, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(f"/api/v1/rules/{rule.pk}/preview-change", body, format="json")
    assert response.status_code == 200, response.content
    return response.json()


@pytest.fixture
def admin(auth_client):
    return auth_client("admin")


def test_narrowing_the_conditions_removes_the_events_it_no_longer_matches(admin):
    store("bob-1", 5)
    store("carol-1", 4, email=CAROL)
    store("carol-2", 3, email=CAROL)
    answer = preview(admin, failed_logins(), {"conditions": only_bob()})
    events = answer["events"]
    assert (events["before"], events["after"], events["added"], events["removed"]) == (3, 1, 0, 2)
    assert [event["id"] for event in events["removed_sample"]] == ["carol-2", "carol-1"]
    assert events["added_sample"] == []


def test_widening_the_conditions_adds_the_events_it_would_now_match(admin):
    store("ok-1", 5, success=True)
    store("failed-1", 4)
    wider = [{"event_type": "user_login_attempt", "match": "all", "filters": []}]
    events = preview(admin, failed_logins(), {"conditions": wider})["events"]
    assert (events["added"], events["removed"]) == (1, 0)
    assert [event["id"] for event in events["added_sample"]] == ["ok-1"]


def test_a_threshold_removes_the_alerts_that_would_no_longer_open(admin):
    for minutes in (9, 8, 7):
        store(f"bob-{minutes}", minutes)
    store("carol-1", 5, email=CAROL)
    rule = failed_logins(group_by=["initiated_by.email"])
    # Before: one alert per match (4). After: 3 in 10 minutes per user: bob-7 opens the only one,
    # which it opened before too; the other three go.
    alerts = preview(admin, rule, {"threshold": {"count": 3, "window_minutes": 10}})["alerts"]
    assert (alerts["before"], alerts["after"], alerts["added"], alerts["removed"]) == (4, 1, 0, 3)
    assert [sample["event"]["id"] for sample in alerts["removed_sample"]] == ["carol-1", "bob-8", "bob-9"]


def test_ending_grouping_adds_an_alert_per_match(admin):
    for minutes in (9, 8, 7):
        store(f"bob-{minutes}", minutes)
    rule = failed_logins(group_by=["initiated_by.email"], group_window_minutes=60)
    alerts = preview(admin, rule, {"group_window_minutes": 0})["alerts"]
    assert (alerts["before"], alerts["after"], alerts["added"], alerts["removed"]) == (1, 3, 2, 0)
    assert [(sample["event"]["id"], sample["event_count"]) for sample in alerts["added_sample"]] == [
        ("bob-7", 1),
        ("bob-8", 1),
    ]


def test_an_alert_opened_by_the_same_event_in_the_same_group_is_neither_added_nor_removed(admin):
    store("bob-1", 5)
    store("carol-1", 4, email=CAROL)
    alerts = preview(admin, failed_logins(), {"conditions": only_bob()})["alerts"]
    assert (alerts["before"], alerts["after"], alerts["added"], alerts["removed"]) == (2, 1, 0, 1)
    assert alerts["removed_sample"][0]["event"]["id"] == "carol-1"


def test_turning_generate_alerts_off_removes_every_alert_but_no_event(admin):
    store("bob-1", 5)
    channel = Channel.objects.create(kind="webhook", name="SOC", config={"url": "http://127.0.0.1:9/"})
    change = {"generate_alerts": False, "send_notifications": True, "channels": [channel.pk]}
    answer = preview(admin, failed_logins(), change)
    assert (answer["alerts"]["before"], answer["alerts"]["after"], answer["alerts"]["removed"]) == (1, 0, 1)
    assert (answer["events"]["added"], answer["events"]["removed"]) == (0, 0)


def test_answer_lists_the_fields_the_body_changes(admin):
    answer = preview(admin, failed_logins(), {"priority": "high", "conditions": only_bob()})
    assert [change["field"] for change in answer["changes"]] == ["priority", "conditions"]


def test_since_defaults_to_7_days_and_can_be_given(admin):
    store("recent", 60)
    store("old", 60 * 24 * 8)
    rule = failed_logins()
    assert preview(admin, rule, {"conditions": only_bob()})["events"]["before"] == 1
    since = (timezone.now() - timedelta(days=9)).isoformat()
    assert preview(admin, rule, {"conditions": only_bob(), "since": since})["events"]["before"] == 2


def test_a_bad_change_is_a_400_with_the_path(admin):
    bad = [{"event_type": "user_login_attempt", "filters": [{"key": "success", "operator": "nope"}]}]
    response = admin.post(f"/api/v1/rules/{failed_logins().pk}/preview-change", {"conditions": bad}, format="json")
    assert response.status_code == 400
    assert "conditions[0].filters[0].operator" in response.json()


def test_a_bad_since_is_a_400_naming_it(admin):
    response = admin.post(f"/api/v1/rules/{failed_logins().pk}/preview-change", {"since": "soon"}, format="json")
    assert response.status_code == 400
    assert "since" in response.json()


def test_previewing_changes_nothing(admin):
    rule = failed_logins()
    preview(admin, rule, {"priority": "low", "conditions": only_bob()})
    rule.refresh_from_db()
    assert rule.priority == "medium"
    assert RuleVersion.objects.filter(rule=rule).count() == 1


def test_every_reader_may_preview_a_change(auth_client):
    rule = failed_logins()
    for role in ("viewer", "responder"):
        response = auth_client(role).post(f"/api/v1/rules/{rule.pk}/preview-change", {}, format="json")
        assert response.status_code == 200

"""Detections in `POST /rules/{id}/test` (with `"history"`), `preview` and `preview-change` (api.md section 12)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from events.services import event_batch_ingest
from events.validation import Limits, event_validate
from rules.models import Rule
from rules.preview import rule_change_preview, rule_preview
from rules.services import rule_create
from rules.validation import rule_validate, rule_values
from tests.factories import make_event

pytestmark = pytest.mark.django_db

LOGIN = {
    "event_type": "user_login_attempt",
    "match": "all",
    "filters": [{"key": "success", "operator": "eq", "value": True}],
}
NEW_COUNTRY = {"type": "new_value", "fields": ["initiated_by.email", "geoip.country_code"], "history_days": 30}
BOB = {"id": "u2", "type": "user", "email": "bob@example.com"}
CAROL = {"id": "u3", "type": "user", "email": "carol@example.com"}


def login(event_id: str, minutes_ago: float, country: str, who: dict[str, Any] = BOB, **fields: Any) -> dict[str, Any]:
    moment = timezone.now().replace(microsecond=0) - timedelta(minutes=minutes_ago)
    fields.setdefault("success", True)
    return make_event(
        id=event_id,
        timestamp=moment.isoformat().replace("+00:00", "Z"),
        initiated_by=who,
        geoip={"country_code": country},
        **fields,
    )


def store(*events: dict[str, Any]) -> None:
    records = [event_validate(event, index=i, limits=Limits.from_settings()) for i, event in enumerate(events)]
    assert all(not isinstance(record, list) for record in records), records
    event_batch_ingest(records=records)  # type: ignore[arg-type]


def new_country_rule(**overrides: Any) -> Rule:
    return rule_create(
        data={"name": "New country", "conditions": [LOGIN], "detection": NEW_COUNTRY, **overrides}, actor=None
    )


@pytest.fixture
def admin(auth_client):
    return auth_client("admin")


def explain(admin, rule: Rule, body: dict[str, Any]):
    return admin.post(f"/api/v1/rules/{rule.pk}/test", body, format="json")


# -- test with a history ------------------------------------------------------------------------------


def test_a_rule_without_detection_answers_detection_null(admin):
    rule = rule_create(data={"name": "Logins", "conditions": [LOGIN]}, actor=None)
    answer = explain(admin, rule, {"event": login("a", 1, "DE"), "history": [login("b", 2, "DE")]}).json()
    assert answer["matched"] is True and answer["detection"] is None


def test_the_prior_value_that_decided_is_named(admin):
    rule = new_country_rule()
    answer = explain(admin, rule, {"event": login("a", 1, "DE"), "history": [login("b", 60, "DE")]}).json()
    assert answer["detection"]["type"] == "new_value"
    assert answer["detection"]["counts"] is False
    assert "seen before" in answer["detection"]["explanation"]
    assert "bob@example.com, DE" in answer["detection"]["explanation"]


def test_without_history_a_value_is_new(admin):
    rule = new_country_rule()
    answer = explain(admin, rule, {"event": login("a", 1, "DE")}).json()
    assert answer["detection"]["counts"] is True
    assert "first time in 30 days" in answer["detection"]["explanation"]


def test_history_after_the_event_does_not_count_as_before(admin):
    rule = new_country_rule()
    answer = explain(admin, rule, {"event": login("a", 60, "DE"), "history": [login("b", 1, "DE")]}).json()
    assert answer["detection"]["counts"] is True


def test_history_events_the_conditions_do_not_match_are_not_remembered(admin):
    rule = new_country_rule()
    failed = login("b", 60, "DE", success=False)
    answer = explain(admin, rule, {"event": login("a", 1, "DE"), "history": [failed]}).json()
    assert answer["detection"]["counts"] is True


def test_an_event_the_conditions_do_not_match_does_not_count(admin):
    rule = new_country_rule()
    answer = explain(admin, rule, {"event": login("a", 1, "DE", success=False)}).json()
    assert answer["matched"] is False
    assert answer["detection"]["counts"] is False
    assert "none of the rule's conditions" in answer["detection"]["explanation"]


def test_the_step_that_a_sequence_waits_for_is_named(admin):
    totp = {"event_type": "admin_totp_disable", "match": "all", "filters": []}
    password = {"event_type": "admin_password_change", "match": "all", "filters": []}
    rule = rule_create(
        data={
            "name": "Takeover",
            "conditions": [totp, password],
            "detection": {"type": "sequence", "steps": [0, 1], "by": ["resource.email"], "within_minutes": 10},
        },
        actor=None,
    )
    helpdesk = {"type": "admin", "email": "helpdesk@example.com"}
    disabled = login("a", 5, "US", event_type="admin_totp_disable", resource=helpdesk)
    changed = login("b", 2, "US", event_type="admin_password_change", resource=helpdesk)
    alone = explain(admin, rule, {"event": changed}).json()["detection"]
    after = explain(admin, rule, {"event": changed, "history": [disabled]}).json()["detection"]
    assert alone["counts"] is False and "waiting for step 1 (admin_totp_disable)" in alone["explanation"]
    assert after["counts"] is True
    assert "step 1 (admin_totp_disable)" in after["explanation"]
    assert "step 2 (admin_password_change)" in after["explanation"]


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"event": {"event_type": "user_login_attempt"}}, "event.timestamp"),
        ({"history": "yesterday"}, "history"),
        ({"history": [{"event_type": "user_login_attempt", "timestamp": "noon"}]}, "history[0].timestamp"),
        ({"history": [{}, 5]}, "history"),
    ],
)
def test_bad_history_is_a_400_naming_the_part(admin, body, path):
    rule = new_country_rule()
    response = explain(admin, rule, {"event": login("a", 1, "DE"), **body})
    assert response.status_code == 400, response.content
    assert any(key == path or key.startswith(path) for key in response.json()), response.json()


def test_too_long_a_history_is_a_400(admin):
    rule = new_country_rule()
    history = [login(f"h{i}", 10, "DE") for i in range(1001)]
    response = explain(admin, rule, {"event": login("a", 1, "DE"), "history": history})
    assert response.status_code == 400 and "history" in response.json()


# -- preview -------------------------------------------------------------------------------------------


def test_preview_counts_each_value_once_and_says_why(admin):
    store(login("a", 50, "DE"), login("b", 40, "DE"), login("c", 30, "FR"), login("d", 20, "DE", who=CAROL))
    body = {"conditions": [LOGIN], "detection": NEW_COUNTRY, "since": (timezone.now() - timedelta(hours=2)).isoformat()}
    answer = admin.post("/api/v1/rules/preview", body, format="json").json()
    assert (answer["conditions_matched"], answer["matched"], answer["alerts"]) == (4, 3, 3)
    assert [event["id"] for event in answer["sample"]] == ["d", "c", "a"]
    assert answer["sample"][0]["explanation"] == "first time in 30 days: carol@example.com, DE"


def test_preview_of_a_detection_with_a_threshold_is_a_400(admin):
    body = {"conditions": [LOGIN], "detection": NEW_COUNTRY, "threshold": {"count": 2, "window_minutes": 5}}
    response = admin.post("/api/v1/rules/preview", body, format="json")
    assert response.status_code == 400 and "detection" in response.json()


def test_preview_reads_a_bounded_number_of_queries_whatever_the_events(django_assert_max_num_queries):
    store(
        *(login(f"e{i}", 100 - i, "DE" if i % 2 else "FR", who={"email": f"u{i % 7}@example.com"}) for i in range(60))
    )
    values = rule_validate({"conditions": [LOGIN], "detection": NEW_COUNTRY}, check_name=False)
    with django_assert_max_num_queries(8):
        result = rule_preview(values=values, since=timezone.now() - timedelta(hours=2), sample_size=5)
    assert result.conditions_matched == 60 and result.matched == 14


def test_preview_change_adding_a_detection_removes_the_repeats(admin):
    rule = rule_create(data={"name": "Logins", "conditions": [LOGIN]}, actor=None)
    store(login("a", 50, "DE"), login("b", 40, "DE"), login("c", 30, "FR"))
    response = admin.post(f"/api/v1/rules/{rule.pk}/preview-change", {"detection": NEW_COUNTRY}, format="json")
    answer = response.json()
    assert response.status_code == 200, answer
    assert answer["changes"] == [{"field": "detection", "from": None, "to": NEW_COUNTRY}]
    assert (answer["events"]["before"], answer["events"]["after"], answer["events"]["removed"]) == (3, 2, 1)
    assert [event["id"] for event in answer["events"]["removed_sample"]] == ["b"]
    assert (answer["alerts"]["before"], answer["alerts"]["after"], answer["alerts"]["removed"]) == (3, 2, 1)


def test_preview_change_of_the_remembered_days_is_primed_by_older_events():
    rule = new_country_rule()
    store(login("old", 60 * 24 * 20, "DE"), login("now", 30, "DE"))
    before = rule_values(rule)
    after = rule_validate({"detection": {**NEW_COUNTRY, "history_days": 7}}, instance=rule)
    result = rule_change_preview(before=before, after=after, since=timezone.now() - timedelta(days=1))
    # 30 days remember the German login of 20 days ago; 7 days do not.
    assert (result.events.before, result.events.after, result.events.added) == (0, 1, 1)
    assert result.events.added_sample[0].explanation == "first time in 7 days: bob@example.com, DE"


def test_a_stored_detection_of_an_unknown_kind_explains_and_previews_without_failing(admin):
    rule = new_country_rule()
    Rule.objects.filter(pk=rule.pk).update(detection={"type": "from_the_future"})
    rule.refresh_from_db()
    answer = explain(admin, rule, {"event": login("a", 1, "DE")}).json()
    assert answer["detection"]["counts"] is False and "unknown kind" in answer["detection"]["explanation"]
    store(login("b", 10, "DE"))
    response = admin.post(f"/api/v1/rules/{rule.pk}/preview-change", {"detection": None}, format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["events"]["before"], response.json()["events"]["after"]) == (0, 1)

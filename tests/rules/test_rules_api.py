"""The rules API (api.md section 4): CRUD, templates, enable/disable, test, preview, roles."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import orjson
import pytest
from django.utils import timezone

from channels.models import Channel
from rules.models import Rule
from rules.services import rule_create
from tests.factories import make_event

pytestmark = pytest.mark.django_db

RULES = "/api/v1/rules"
FAILED_LOGIN_FILTER = {"key": "success", "operator": "eq", "value": False}
CONTRACT_FIELDS = {
    "id",
    "name",
    "description",
    "enabled",
    "priority",
    "template",
    "conditions",
    "generate_alerts",
    "send_notifications",
    "channels",
    "notify_on_acknowledge",
    "notify_on_resolve",
    "existing_conditions",
    "group_by",
    "group_window_minutes",
    "threshold",
    "created_at",
    "updated_at",
    "last_triggered_at",
    "last_matched_at",
    "alert_count",
}


def rule_body(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Failed admin logins",
        "description": "Any failed admin console login",
        "priority": "high",
        "conditions": [{"event_type": "admin_login_attempt", "match": "all", "filters": [FAILED_LOGIN_FILTER]}],
    }
    data.update(overrides)
    return data


def stored_rule(**overrides: Any) -> Rule:
    return rule_create(data=rule_body(**overrides), actor=None)


def webhook(name: str = "SOC webhook") -> Channel:
    return Channel.objects.create(kind="webhook", name=name, config={"url": "http://127.0.0.1:9/hook"})


def rfc3339(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def ingest(client, events: list[dict[str, Any]]) -> None:
    response = client.post("/api/v1/events", data=orjson.dumps(events), content_type="application/json")
    assert response.status_code == 202, response.content


@pytest.fixture
def admin(auth_client):
    return auth_client("admin")


# -- create ---------------------------------------------------------------------------------------


def test_create_answers_201_with_the_contracts_fields(admin):
    response = admin.post(RULES, rule_body(), format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert CONTRACT_FIELDS <= set(data)
    assert data["name"] == "Failed admin logins"
    assert data["priority"] == "high"
    assert data["enabled"] is True
    assert data["template"] == "event_based"
    assert data["conditions"] == rule_body()["conditions"]
    assert (data["last_triggered_at"], data["alert_count"], data["threshold"]) == (None, 0, None)
    assert data["created_by"] == {"id": admin.user.pk, "username": admin.user.username}
    assert Rule.objects.get(pk=data["id"]).name == "Failed admin logins"


def test_create_stores_channels(admin):
    channel = webhook()
    response = admin.post(RULES, rule_body(send_notifications=True, channels=[channel.pk]), format="json")
    assert response.status_code == 201, response.content
    assert response.json()["channels"] == [channel.pk]


def test_create_from_a_template_starts_from_its_values(admin):
    response = admin.post(RULES, {"template": "brute_force_user_logins"}, format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["template"] == "brute_force_user_logins"
    assert data["threshold"] == {"count": 5, "window_minutes": 10}
    assert data["group_by"] == ["initiated_by.email"]
    assert data["conditions"][0]["event_type"] == "user_login_attempt"
    assert data["priority"] == "high"


def test_body_overrides_the_template_values(admin):
    body = {
        "template": "brute_force_user_logins",
        "name": "Password guessing",
        "priority": "low",
        "threshold": {"count": 10, "window_minutes": 5},
    }
    data = admin.post(RULES, body, format="json").json()
    assert (data["name"], data["priority"], data["threshold"]) == ("Password guessing", "low", body["threshold"])
    assert data["group_by"] == ["initiated_by.email"]


def test_create_from_an_unknown_template_is_a_400_on_template(admin):
    response = admin.post(RULES, rule_body(template="no_such_template"), format="json")
    assert response.status_code == 400
    assert "template" in response.json()


def test_an_expression_negating_a_field_is_saved_and_matches(admin):
    conditions = [{"event_type": "user_login_attempt", "expression": "!success"}]
    response = admin.post(RULES, rule_body(conditions=conditions), format="json")
    assert response.status_code == 201, response.content
    test = f"{RULES}/{response.json()['id']}/test"
    assert admin.post(test, {"event": make_event(success=False)}, format="json").json()["matched"] is True
    assert admin.post(test, {"event": make_event(success=True)}, format="json").json()["matched"] is False


def test_400_names_the_path_of_the_bad_filter(admin):
    filters = [FAILED_LOGIN_FILTER, {"key": "client_ip", "operator": "exists"}, {"key": "x", "operator": "is"}]
    body = rule_body(conditions=[{"event_type": "admin_login_attempt", "filters": filters}])
    response = admin.post(RULES, body, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["conditions[0].filters[2].operator"]


def test_400_lists_every_bad_field(admin):
    response = admin.post(RULES, rule_body(name="", priority="urgent", channels=[999]), format="json")
    assert response.status_code == 400
    assert {"name", "priority", "channels"} <= set(response.json())
    assert Rule.objects.count() == 0


def test_duplicate_name_ignoring_case_is_a_400(admin):
    stored_rule()
    response = admin.post(RULES, rule_body(name="FAILED ADMIN LOGINS"), format="json")
    assert response.status_code == 400
    assert "name" in response.json()


def test_body_that_is_not_an_object_is_a_400(admin):
    response = admin.post(RULES, [rule_body()], format="json")
    assert response.status_code == 400


# -- read ----------------------------------------------------------------------------------------


def test_get_one_rule(admin):
    rule = stored_rule()
    response = admin.get(f"{RULES}/{rule.pk}")
    assert response.status_code == 200
    assert response.json()["id"] == rule.pk


def test_unknown_rule_is_404(admin):
    assert admin.get(f"{RULES}/999999").status_code == 404


def test_list_is_paginated(admin):
    for n in range(3):
        stored_rule(name=f"Rule {n}")
    data = admin.get(RULES, {"page_size": 2}).json()
    assert data["count"] == 3
    assert [rule["name"] for rule in data["results"]] == ["Rule 0", "Rule 1"]
    assert data["next"]
    second = admin.get(RULES, {"page_size": 2, "page": 2}).json()
    assert [rule["name"] for rule in second["results"]] == ["Rule 2"]


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [rule["name"] for rule in response.json()["results"]]


def test_list_filters_by_enabled(admin):
    stored_rule(name="On")
    stored_rule(name="Off", enabled=False)
    assert names(admin.get(RULES, {"enabled": "false"})) == ["Off"]
    assert names(admin.get(RULES, {"enabled": "true"})) == ["On"]


def test_list_filters_by_priority(admin):
    for priority in ("low", "medium", "high"):
        stored_rule(name=priority.title(), priority=priority)
    assert names(admin.get(RULES, {"priority": "high"})) == ["High"]
    assert names(admin.get(f"{RULES}?priority=low&priority=high")) == ["High", "Low"]


def test_list_filters_by_event_type(admin):
    stored_rule(name="Admin logins")
    lockouts = [{"event_type": "user_lockout"}, {"event_type": "admin_login_attempt"}]
    stored_rule(name="Lockouts", conditions=lockouts)
    assert names(admin.get(RULES, {"event_type": "user_lockout"})) == ["Lockouts"]
    assert names(admin.get(RULES, {"event_type": "admin_login_attempt"})) == ["Admin logins", "Lockouts"]
    assert names(admin.get(RULES, {"event_type": "admin_login"})) == []


def test_list_filters_by_channel(admin):
    first, second = webhook("First"), webhook("Second")
    stored_rule(name="To first", send_notifications=True, channels=[first.pk])
    stored_rule(name="To both", send_notifications=True, channels=[first.pk, second.pk])
    stored_rule(name="To none")
    assert names(admin.get(RULES, {"channel": second.pk})) == ["To both"]
    assert names(admin.get(RULES, {"channel": first.pk})) == ["To both", "To first"]


def test_list_searches_name_and_description(admin):
    stored_rule(name="Lockouts", description="Users locked out")
    stored_rule(name="TOTP off", description="An admin disabled TOTP")
    assert names(admin.get(RULES, {"search": "lock"})) == ["Lockouts"]
    assert names(admin.get(RULES, {"search": "ADMIN"})) == ["TOTP off"]


def test_list_is_ordered_by_name_unless_asked_otherwise(admin):
    for name in ("b", "c", "a"):
        stored_rule(name=name)
    assert names(admin.get(RULES)) == ["a", "b", "c"]
    assert names(admin.get(RULES, {"ordering": "-name"})) == ["c", "b", "a"]
    assert names(admin.get(RULES, {"ordering": "-created_at"})) == ["a", "c", "b"]


def test_ordering_by_priority_sorts_by_rank_low_first(admin):
    for name, priority in (("a", "high"), ("b", "low"), ("c", "medium")):
        stored_rule(name=name, priority=priority)
    assert names(admin.get(RULES, {"ordering": "priority"})) == ["b", "c", "a"]


def test_ordering_by_minus_priority_sorts_high_first(admin):
    for name, priority in (("a", "low"), ("b", "high"), ("c", "medium")):
        stored_rule(name=name, priority=priority)
    assert names(admin.get(RULES, {"ordering": "-priority"})) == ["b", "c", "a"]


def test_rules_of_the_same_priority_are_ordered_by_name_so_pages_never_overlap(admin):
    for name, priority in (("d", "high"), ("a", "high"), ("c", "low"), ("b", "high")):
        stored_rule(name=name, priority=priority)
    first = names(admin.get(RULES, {"ordering": "-priority", "page_size": 2}))
    second = names(admin.get(RULES, {"ordering": "-priority", "page_size": 2, "page": 2}))
    assert first + second == ["a", "b", "d", "c"]


def test_list_query_count_does_not_grow_with_rules(admin, django_assert_max_num_queries):
    channel = webhook()

    def make_rules(count: int) -> None:
        for _ in range(count):
            stored_rule(name=f"Rule {Rule.objects.count()}", send_notifications=True, channels=[channel.pk])

    make_rules(3)
    with django_assert_max_num_queries(5):
        assert len(admin.get(RULES).json()["results"]) == 3
    make_rules(27)
    with django_assert_max_num_queries(5):
        assert len(admin.get(RULES).json()["results"]) == 30


# -- update and delete -------------------------------------------------------------------------


def test_patch_changes_only_the_given_fields(admin):
    rule = stored_rule(group_by=["initiated_by.email"])
    response = admin.patch(f"{RULES}/{rule.pk}", {"priority": "low"}, format="json")
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["priority"] == "low"
    assert (data["name"], data["group_by"]) == ("Failed admin logins", ["initiated_by.email"])
    assert data["updated_by"]["username"] == admin.user.username


def test_patch_with_an_invalid_value_is_a_400_and_changes_nothing(admin):
    rule = stored_rule()
    response = admin.patch(f"{RULES}/{rule.pk}", {"priority": "urgent", "description": "x"}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["priority"]
    rule.refresh_from_db()
    assert (rule.priority, rule.description) == ("high", "Any failed admin console login")


def test_put_replaces_the_whole_rule(admin):
    rule = stored_rule(group_by=["initiated_by.email"], group_window_minutes=30)
    body = {
        "name": "Lockouts",
        "priority": "medium",
        "conditions": [{"event_type": "user_lockout", "filters": []}],
    }
    response = admin.put(f"{RULES}/{rule.pk}", body, format="json")
    assert response.status_code == 200, response.content
    data = response.json()
    assert (data["name"], data["priority"], data["description"]) == ("Lockouts", "medium", "")
    assert (data["group_by"], data["group_window_minutes"]) == ([], 0)
    assert data["conditions"] == [{"event_type": "user_lockout", "match": "all", "filters": []}]


def test_put_without_name_is_a_400(admin):
    rule = stored_rule()
    response = admin.put(f"{RULES}/{rule.pk}", {"priority": "low", "conditions": rule.conditions}, format="json")
    assert response.status_code == 400
    assert "name" in response.json()


def test_put_without_conditions_is_a_400(admin):
    rule = stored_rule()
    response = admin.put(f"{RULES}/{rule.pk}", {"name": rule.name}, format="json")
    assert response.status_code == 400
    assert "conditions" in response.json()


def test_null_template_means_no_template_not_a_server_error(admin):
    response = admin.post(RULES, rule_body(template=None), format="json")
    assert response.status_code == 201
    assert response.json()["template"] == ""


def test_template_that_is_not_a_slug_is_a_400(admin):
    response = admin.post(RULES, rule_body(template=7), format="json")
    assert response.status_code == 400
    assert "template" in response.json()


def test_delete_answers_204_and_removes_the_rule(admin):
    rule = stored_rule()
    response = admin.delete(f"{RULES}/{rule.pk}")
    assert response.status_code == 204
    assert not Rule.objects.filter(pk=rule.pk).exists()


def test_disable_and_enable(admin):
    rule = stored_rule()
    response = admin.post(f"{RULES}/{rule.pk}/disable")
    assert response.status_code == 200
    assert response.json()["enabled"] is False
    rule.refresh_from_db()
    assert rule.enabled is False
    response = admin.post(f"{RULES}/{rule.pk}/enable")
    assert response.status_code == 200
    assert response.json()["enabled"] is True


def test_trailing_slash_variants_work(admin):
    rule = stored_rule()
    assert admin.get(f"{RULES}/").status_code == 200
    assert admin.get(f"{RULES}/{rule.pk}/").status_code == 200
    assert admin.patch(f"{RULES}/{rule.pk}/", {"priority": "low"}, format="json").status_code == 200
    assert admin.post(f"{RULES}/{rule.pk}/disable/").status_code == 200
    assert admin.post(f"{RULES}/{rule.pk}/test/", {"event": make_event()}, format="json").status_code == 200
    assert admin.post(f"{RULES}/preview/", rule_body(), format="json").status_code == 200
    assert admin.post(f"{RULES}/", rule_body(name="Other"), format="json").status_code == 201
    assert admin.delete(f"{RULES}/{rule.pk}/").status_code == 204
    assert admin.get("/api/v1/rule-templates/").status_code == 200


# -- test an event ---------------------------------------------------------------------------------


def login_rule() -> Rule:
    conditions = [
        {
            "event_type": "user_login_attempt",
            "filters": [FAILED_LOGIN_FILTER, {"key": "geoip.country_code", "operator": "not_in", "value": ["US"]}],
        }
    ]
    return stored_rule(name="Failed foreign logins", conditions=conditions)


def test_test_explains_a_matching_event_filter_by_filter(admin):
    rule = login_rule()
    response = admin.post(f"{RULES}/{rule.pk}/test", {"event": make_event(success=False)}, format="json")
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["matched"] is True
    (condition,) = data["conditions"]
    assert (condition["event_type"], condition["matched"]) == ("user_login_attempt", True)
    assert [(f["key"], f["operator"], f["matched"]) for f in condition["filters"]] == [
        ("success", "eq", True),
        ("geoip.country_code", "not_in", True),
    ]


def test_test_explains_a_non_matching_event_filter_by_filter(admin):
    rule = login_rule()
    event = make_event(success=False, geoip={"country_code": "US"})
    data = admin.post(f"{RULES}/{rule.pk}/test", {"event": event}, format="json").json()
    assert data["matched"] is False
    assert [f["matched"] for f in data["conditions"][0]["filters"]] == [True, False]


def test_test_of_an_event_of_another_type_does_not_match(admin):
    rule = login_rule()
    event = make_event(event_type="admin_login_attempt", success=False)
    data = admin.post(f"{RULES}/{rule.pk}/test", {"event": event}, format="json").json()
    assert data["matched"] is False
    assert data["conditions"][0]["matched"] is False


def test_test_of_a_disabled_rule_says_whether_the_event_matches_its_conditions(admin):
    rule = stored_rule(enabled=False)
    event = make_event(event_type="admin_login_attempt", success=False)
    data = admin.post(f"{RULES}/{rule.pk}/test", {"event": event}, format="json").json()
    assert (data["matched"], data["enabled"]) == (True, False)


def test_test_says_whether_the_rule_is_enabled(admin):
    rule = stored_rule()
    event = make_event(event_type="admin_login_attempt", success=False)
    data = admin.post(f"{RULES}/{rule.pk}/test", {"event": event}, format="json").json()
    assert (data["matched"], data["enabled"]) == (True, True)


def test_test_lists_filters_for_every_kind_of_condition(admin):
    conditions = [
        {"event_type": "user_login_attempt", "filters": [FAILED_LOGIN_FILTER]},
        {"event_type": "user_login_attempt", "expression": "len(initiated_by.email) > 3"},
        {"event_type": "user_lockout"},
    ]
    rule = stored_rule(conditions=conditions)
    data = admin.post(f"{RULES}/{rule.pk}/test", {"event": make_event()}, format="json").json()
    for condition in data["conditions"]:
        assert {"event_type", "matched", "filters"} <= set(condition), condition
        assert all({"key", "operator", "matched"} <= set(f) for f in condition["filters"])


def test_test_of_an_expression_lists_the_outcomes_of_its_field_filters(admin):
    expression = 'success == false && ieq(geoip.country_code, "us")'
    rule = stored_rule(conditions=[{"event_type": "user_login_attempt", "expression": expression}])
    event = make_event(success=False, geoip={"country_code": "DE"})
    data = admin.post(f"{RULES}/{rule.pk}/test", {"event": event}, format="json").json()
    (condition,) = data["conditions"]
    assert [(f["key"], f["operator"], f["matched"]) for f in condition["filters"]] == [
        ("success", "eq", True),
        ("geoip.country_code", "eq", False),
    ]
    assert condition["match"] == "all"
    assert condition["matched"] is False
    assert data["matched"] is False


def test_test_of_an_expression_keeps_the_expression_and_its_outcome(admin):
    expression = 'success == false || inCidr(client_ip, "203.0.113.0/24")'
    rule = stored_rule(conditions=[{"event_type": "user_login_attempt", "expression": expression}])
    data = admin.post(f"{RULES}/{rule.pk}/test", {"event": make_event(success=False)}, format="json").json()
    (condition,) = data["conditions"]
    assert condition["expression"] == {"source": expression, "matched": True}
    assert (condition["match"], [f["matched"] for f in condition["filters"]]) == ("any", [True, False])
    assert condition["matched"] is True


def test_test_of_an_expression_without_a_field_form_lists_no_filters(admin):
    expression = "len(initiated_by.email) > 3"
    rule = stored_rule(conditions=[{"event_type": "user_login_attempt", "expression": expression}])
    data = admin.post(f"{RULES}/{rule.pk}/test", {"event": make_event()}, format="json").json()
    (condition,) = data["conditions"]
    assert condition["filters"] == []
    assert condition["expression"] == {"source": expression, "matched": True}
    assert condition["matched"] is True
    assert data["matched"] is True


def test_schema_documents_the_test_answer(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    paths, components = schema["paths"], schema["components"]["schemas"]
    operation = (paths.get("/api/v1/rules/{id}/test") or paths["/api/v1/rules/{id}/test/"])["post"]

    def component(ref: str) -> dict[str, Any]:
        return components[ref.rsplit("/", 1)[-1]]

    answer = component(operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"])
    assert set(answer["required"]) >= {"matched", "enabled", "conditions"}
    condition = component(answer["properties"]["conditions"]["items"]["$ref"])
    assert set(condition["required"]) >= {"event_type", "matched", "filters"}
    assert set(component(condition["properties"]["filters"]["items"]["$ref"])["required"]) >= {
        "key",
        "operator",
        "matched",
    }


def test_test_without_an_event_is_a_400(admin):
    rule = login_rule()
    assert admin.post(f"{RULES}/{rule.pk}/test", {"event": "nope"}, format="json").status_code == 400


# -- preview -------------------------------------------------------------------------------------

BRUTE_FORCE = {
    "conditions": [{"event_type": "user_login_attempt", "filters": [FAILED_LOGIN_FILTER]}],
    "group_by": ["initiated_by.email"],
    "threshold": {"count": 3, "window_minutes": 10},
}


def failed_login(n: int, at: datetime, email: str = "bob@example.com", success: bool = False) -> dict[str, Any]:
    return make_event(id=f"login-{n}", timestamp=rfc3339(at), initiated_by={"email": email}, success=success)


@pytest.fixture
def stored_logins(admin) -> datetime:
    """Failed logins over the last hour; returns the start of that hour."""
    start = timezone.now() - timedelta(hours=1)
    events = [failed_login(n, start + timedelta(minutes=n)) for n in range(4)]  # bob: 4 in 3 minutes
    events += [failed_login(10 + n, start + timedelta(minutes=30 + n), "carol@example.com") for n in range(2)]
    events.append(failed_login(20, start + timedelta(minutes=40), success=True))  # not a failure
    events.append(failed_login(30, start - timedelta(days=2)))  # before `since`
    ingest(admin, events)
    return start


def test_preview_counts_matching_events_since_a_date(admin, stored_logins):
    body = {**BRUTE_FORCE, "threshold": None, "since": rfc3339(stored_logins - timedelta(minutes=1))}
    response = admin.post(f"{RULES}/preview", body, format="json")
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["matched"] == 6
    assert data["scanned"] == 7
    assert data["truncated"] is False


def test_preview_counts_one_alert_per_match_without_grouping(admin, stored_logins):
    body = {**BRUTE_FORCE, "threshold": None, "since": rfc3339(stored_logins - timedelta(minutes=1))}
    assert admin.post(f"{RULES}/preview", body, format="json").json()["alerts"] == 6


def test_preview_counts_alerts_after_the_threshold(admin, stored_logins):
    body = {**BRUTE_FORCE, "since": rfc3339(stored_logins - timedelta(minutes=1))}
    data = admin.post(f"{RULES}/preview", body, format="json").json()
    assert (data["matched"], data["alerts"]) == (6, 1)  # bob crosses 3 in 10 minutes; carol has only 2


def test_preview_counts_alerts_after_grouping(admin, stored_logins):
    body = {
        **BRUTE_FORCE,
        "threshold": None,
        "group_window_minutes": 5,
        "since": rfc3339(stored_logins - timedelta(minutes=1)),
    }
    assert admin.post(f"{RULES}/preview", body, format="json").json()["alerts"] == 2  # one for bob, one for carol


def test_preview_returns_a_sample_of_matching_events_newest_first(admin, stored_logins):
    body = {**BRUTE_FORCE, "since": rfc3339(stored_logins - timedelta(minutes=1)), "sample_size": 2}
    sample = admin.post(f"{RULES}/preview", body, format="json").json()["sample"]
    assert [event["id"] for event in sample] == ["login-11", "login-10"]
    assert sample[0]["event"]["initiated_by"] == {"email": "carol@example.com"}


def test_preview_without_since_looks_back_a_week(admin, stored_logins):
    body = {**BRUTE_FORCE, "threshold": None}
    assert admin.post(f"{RULES}/preview", body, format="json").json()["matched"] == 7


def test_preview_of_an_invalid_rule_is_a_400_with_the_path(admin):
    body = {"conditions": [{"event_type": "user_login_attempt", "filters": [{"key": "success", "operator": "?"}]}]}
    response = admin.post(f"{RULES}/preview", body, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["conditions[0].filters[0].operator"]


def test_preview_with_a_bad_since_is_a_400(admin):
    response = admin.post(f"{RULES}/preview", {**BRUTE_FORCE, "since": "yesterday"}, format="json")
    assert response.status_code == 400


def test_preview_with_a_bad_since_names_since_in_the_400(admin):
    response = admin.post(f"{RULES}/preview", {**BRUTE_FORCE, "since": "yesterday"}, format="json")
    assert "since" in response.json()


def test_preview_with_a_bad_sample_size_is_a_400_on_sample_size(admin):
    response = admin.post(f"{RULES}/preview", {**BRUTE_FORCE, "sample_size": 101}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["sample_size"]


def test_preview_saves_nothing(admin, stored_logins):
    admin.post(f"{RULES}/preview", {**BRUTE_FORCE, "name": "Preview only"}, format="json")
    assert Rule.objects.count() == 0


# -- roles -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["viewer", "responder"])
def test_readers_can_list_and_get_rules(auth_client, role):
    rule = stored_rule()
    client = auth_client(role)
    assert client.get(RULES).status_code == 200
    assert client.get(f"{RULES}/{rule.pk}").status_code == 200


@pytest.mark.parametrize("role", ["viewer", "responder"])
def test_readers_cannot_change_rules(auth_client, role):
    rule = stored_rule()
    client = auth_client(role)
    assert client.post(RULES, rule_body(name="Other"), format="json").status_code == 403
    assert client.patch(f"{RULES}/{rule.pk}", {"priority": "low"}, format="json").status_code == 403
    assert client.put(f"{RULES}/{rule.pk}", rule_body(), format="json").status_code == 403
    assert client.delete(f"{RULES}/{rule.pk}").status_code == 403
    assert client.post(f"{RULES}/{rule.pk}/enable").status_code == 403
    assert client.post(f"{RULES}/{rule.pk}/disable").status_code == 403
    rule.refresh_from_db()
    assert (rule.priority, rule.enabled) == ("high", True)


def test_ingest_role_cannot_read_rules(auth_client):
    client = auth_client("ingest")
    assert client.get(RULES).status_code == 403
    assert client.get("/api/v1/rule-templates").status_code == 403


def test_anonymous_caller_is_401(api_client):
    rule = stored_rule()
    assert api_client.get(RULES).status_code == 401
    assert api_client.get(f"{RULES}/{rule.pk}").status_code == 401
    assert api_client.post(RULES, rule_body(name="Other"), format="json").status_code == 401
    assert api_client.get("/api/v1/rule-templates").status_code == 401


# -- templates ---------------------------------------------------------------------------------------


def test_rule_templates_are_listed_with_their_rule_bodies(auth_client):
    response = auth_client("viewer").get("/api/v1/rule-templates")
    assert response.status_code == 200
    templates = {template["slug"]: template for template in response.json()}
    assert {"event_based", "brute_force_user_logins"} <= set(templates)
    for template in templates.values():
        assert set(template) == {"slug", "tab", "name", "description", "rule"}
    assert templates["event_based"]["name"] == "Rule For Event Based Alerts"
    assert templates["event_based"]["tab"] == "insights"
    assert templates["brute_force_user_logins"]["rule"]["threshold"] == {"count": 5, "window_minutes": 10}


def test_rule_templates_filter_by_tab(auth_client):
    client = auth_client("viewer")
    every = client.get("/api/v1/rule-templates").json()
    insights = client.get("/api/v1/rule-templates", {"tab": "insights"}).json()
    assert insights
    assert {template["tab"] for template in insights} == {"insights"}
    assert len(insights) < len(every)
    assert client.get("/api/v1/rule-templates", {"tab": "nope"}).json() == []


def test_rule_templates_search_by_name_ignoring_case(auth_client):
    found = auth_client("viewer").get("/api/v1/rule-templates", {"search": "BRUTE"}).json()
    assert [template["slug"] for template in found] == ["brute_force_user_logins"]

"""Bad detections (api.md section 12, issue 16 "Bad input"): 400 naming the field, with the reason."""

from __future__ import annotations

from typing import Any

import pytest

from rules.detections import detection_validate
from rules.models import Rule
from rules.validation import RuleValidationError, rule_validate

pytestmark = pytest.mark.django_db

RULES = "/api/v1/rules"
LOGIN = {"event_type": "user_login_attempt", "filters": [{"key": "success", "operator": "eq", "value": True}]}
TOTP_OFF = {"event_type": "admin_totp_disable", "filters": []}
PASSWORD = {"event_type": "admin_password_change", "filters": []}
NEW_COUNTRY = {"type": "new_value", "fields": ["initiated_by.email", "geoip.country_code"], "history_days": 30}
SEQUENCE = {"type": "sequence", "steps": [0, 1], "by": ["initiated_by.email"], "within_minutes": 10}


def body(detection: Any, conditions: list[dict] | None = None, **overrides: Any) -> dict[str, Any]:
    return {
        "name": "Detect",
        "priority": "high",
        "conditions": conditions if conditions is not None else [LOGIN],
        "detection": detection,
        **overrides,
    }


def sequence_body(**changes: Any) -> dict[str, Any]:
    return body({**SEQUENCE, **changes}, [TOTP_OFF, PASSWORD])


def errors_of(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(RuleValidationError) as caught:
        rule_validate(data)
    return caught.value.errors


def test_no_detection_is_the_default():
    assert rule_validate(body(...) | {"detection": None})["detection"] is None
    assert rule_validate({"name": "x", "conditions": [LOGIN]})["detection"] is None


def test_new_value_is_accepted_and_history_days_defaults_to_30():
    values = rule_validate(body({"type": "new_value", "fields": ["initiated_by.email"]}))
    assert values["detection"] == {"type": "new_value", "fields": ["initiated_by.email"], "history_days": 30}


def test_sequence_is_accepted():
    assert rule_validate(sequence_body())["detection"] == SEQUENCE


@pytest.mark.parametrize("detection", ["new_value", [], 5])
def test_detection_must_be_an_object(detection):
    assert "detection" in errors_of(body(detection))


def test_unknown_type_names_the_known_ones():
    assert errors_of(body({"type": "anomaly"}))["detection.type"] == "Must be one of new_value, sequence."


def test_unknown_detection_field():
    assert errors_of(body({**NEW_COUNTRY, "window": 3}))["detection.window"] == "Unknown field."


def test_new_value_field_the_selected_events_do_not_carry():
    errors = errors_of(body({**NEW_COUNTRY, "fields": ["initiated_by.email", "association.connection.to.type"]}))
    assert set(errors) == {"detection.fields[1]"}
    assert "do not carry" in errors["detection.fields[1]"]


def test_new_value_field_may_be_an_explicit_path():
    values = rule_validate(body({**NEW_COUNTRY, "fields": ["initiated_by.email", "$.custom.device_class"]}))
    assert values["detection"]["fields"][1] == "$.custom.device_class"


def test_new_value_field_read_by_the_rules_own_filters_is_known():
    conditions = [{**LOGIN, "filters": [{"key": "custom.tag", "operator": "exists"}]}]
    assert rule_validate(body({**NEW_COUNTRY, "fields": ["custom.tag"]}, conditions))["detection"]


@pytest.mark.parametrize("fields", [[], "initiated_by.email", ["x y"], ["client_ip", "client_ip"]])
def test_new_value_fields_must_be_distinct_keys(fields):
    errors = errors_of(body({**NEW_COUNTRY, "fields": fields}))
    assert any(path.startswith("detection.fields") for path in errors)


@pytest.mark.parametrize("days", [0, 366, -1, 1.5, "30", True])
def test_history_days_from_1_to_365(days):
    assert "1 to 365" in errors_of(body({**NEW_COUNTRY, "history_days": days}))["detection.history_days"]


@pytest.mark.parametrize("days", [1, 365])
def test_history_days_bounds_are_accepted(days):
    assert rule_validate(body({**NEW_COUNTRY, "history_days": days}))["detection"]["history_days"] == days


def test_detection_with_threshold_is_refused_with_the_reason():
    errors = errors_of(body(NEW_COUNTRY, threshold={"count": 5, "window_minutes": 10}))
    assert "threshold" in errors["detection"]


def test_a_sequence_of_one_step_is_refused():
    errors = errors_of(body({**SEQUENCE, "steps": [0]}))
    assert "at least two steps" in errors["detection.steps"]


def test_a_step_index_out_of_range_is_refused():
    errors = errors_of(sequence_body(steps=[0, 2]))
    assert errors["detection.steps[1]"] == "No condition 2: the rule has 2 (indexes 0 to 1)."


def test_every_condition_of_a_sequence_rule_is_a_step():
    errors = errors_of(body(SEQUENCE, [TOTP_OFF, PASSWORD, LOGIN]))
    assert "Every condition of a sequence rule is a step" in errors["detection.steps"]
    assert "condition 2" in errors["detection.steps"]


def test_a_condition_is_one_step_only():
    assert "already step 1" in errors_of(sequence_body(steps=[0, 1, 0]))["detection.steps[2]"]


@pytest.mark.parametrize("minutes", [0, 10081, None, "10"])
def test_sequence_window_from_1_minute_to_7_days(minutes):
    assert "10080" in errors_of(sequence_body(within_minutes=minutes))["detection.within_minutes"]


def test_sequence_window_of_7_days_is_accepted():
    assert rule_validate(sequence_body(within_minutes=10080))["detection"]["within_minutes"] == 10080


def test_sequence_by_key_the_events_do_not_carry():
    assert "do not carry" in errors_of(sequence_body(by=["nope.nothing"]))["detection.by[0]"]


def test_sequence_by_may_be_empty():
    assert rule_validate(sequence_body(by=[]))["detection"]["by"] == []


def test_detection_validate_answers_errors_by_path_without_the_database():
    errors = detection_validate(
        {"type": "sequence", "steps": [0, 5], "by": ["initiated_by.email"], "within_minutes": 0},
        conditions=[TOTP_OFF, PASSWORD],
        threshold=None,
        selected_event_types={"admin_totp_disable": ["initiated_by.email"], "admin_password_change": []},
    )
    assert set(errors) == {"detection.steps[1]", "detection.within_minutes"}


def test_detection_validate_empty_when_valid():
    assert detection_validate(NEW_COUNTRY, conditions=[LOGIN], threshold=None) == {}


# -- over the API ---------------------------------------------------------------------------------


@pytest.fixture
def admin(auth_client):
    return auth_client("admin")


def test_api_creates_and_shows_a_rule_with_a_detection(admin):
    response = admin.post(RULES, body(NEW_COUNTRY), format="json")
    assert response.status_code == 201, response.content
    assert response.json()["detection"] == NEW_COUNTRY
    assert Rule.objects.get().detection == NEW_COUNTRY


@pytest.mark.parametrize(
    ("detection", "conditions", "extra", "field"),
    [
        ({**NEW_COUNTRY, "fields": ["nope.nothing"]}, None, {}, "detection.fields[0]"),
        ({**NEW_COUNTRY, "history_days": 400}, None, {}, "detection.history_days"),
        ({**SEQUENCE, "steps": [0]}, [TOTP_OFF], {}, "detection.steps"),
        ({**SEQUENCE, "steps": [0, 3]}, [TOTP_OFF, PASSWORD], {}, "detection.steps[1]"),
        ({**SEQUENCE, "within_minutes": 0}, [TOTP_OFF, PASSWORD], {}, "detection.within_minutes"),
        ({**SEQUENCE, "within_minutes": 10081}, [TOTP_OFF, PASSWORD], {}, "detection.within_minutes"),
        (NEW_COUNTRY, None, {"threshold": {"count": 3, "window_minutes": 5}}, "detection"),
    ],
)
def test_api_bad_detection_is_a_400_naming_the_field(admin, detection, conditions, extra, field):
    response = admin.post(RULES, body(detection, conditions, **extra), format="json")
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert Rule.objects.count() == 0


def test_api_patch_can_remove_a_detection(admin):
    rule_id = admin.post(RULES, body(NEW_COUNTRY), format="json").json()["id"]
    response = admin.patch(f"{RULES}/{rule_id}", {"detection": None}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["detection"] is None

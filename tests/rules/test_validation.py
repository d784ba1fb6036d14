"""Every cross-field rule of the contract, each error under the path of the bad field."""

from __future__ import annotations

from typing import Any

import pytest

from channels.models import Channel
from rules.services import rule_create
from rules.validation import RuleValidationError, rule_validate

pytestmark = pytest.mark.django_db

CONDITIONS = [{"event_type": "user_login_attempt", "filters": [{"key": "success", "operator": "eq", "value": False}]}]


def body(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"name": "Failed logins", "priority": "high", "conditions": CONDITIONS}
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not ...}


def errors_of(data: dict[str, Any], **kwargs: Any) -> dict[str, str]:
    with pytest.raises(RuleValidationError) as caught:
        rule_validate(data, **kwargs)
    return caught.value.errors


@pytest.fixture
def webhook() -> Channel:
    return Channel.objects.create(kind="webhook", name="SOC webhook", config={"url": "http://127.0.0.1:9/hook"})


def test_valid_body_is_returned_with_the_defaults_filled_in():
    values = rule_validate(body())
    assert values["name"] == "Failed logins"
    assert values["generate_alerts"] is True
    assert values["send_notifications"] is False
    assert values["channels"] == []
    assert values["group_window_minutes"] == 0
    assert values["threshold"] is None
    assert values["conditions"] == [{**CONDITIONS[0], "match": "all"}]


# -- name ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [..., None, "", "   ", 5])
def test_name_is_required(name):
    assert set(errors_of(body(name=name))) == {"name"}


def test_name_longer_than_100_characters_is_rejected():
    assert "100" in errors_of(body(name="x" * 101))["name"]


def test_name_of_100_characters_is_accepted():
    assert rule_validate(body(name="x" * 100))["name"] == "x" * 100


def test_name_is_stripped():
    assert rule_validate(body(name="  Failed logins  "))["name"] == "Failed logins"


def test_name_must_be_unique_ignoring_case():
    rule_create(data=body(), actor=None)
    assert "already exists" in errors_of(body(name="FAILED LOGINS"))["name"]


def test_renaming_another_rule_to_a_taken_name_is_rejected():
    rule_create(data=body(), actor=None)
    other = rule_create(data=body(name="Lockouts"), actor=None)
    assert set(errors_of({"name": "failed Logins"}, instance=other)) == {"name"}


def test_rule_may_keep_its_own_name_on_update():
    rule = rule_create(data=body(), actor=None)
    assert rule_validate({"name": "FAILED logins"}, instance=rule)["name"] == "FAILED logins"


def test_preview_needs_no_name():
    assert rule_validate(body(name=...), check_name=False)["conditions"]


# -- priority, description, template, booleans --------------------------------------------------


@pytest.mark.parametrize("priority", ["critical", "", None, "HIGH", 1])
def test_priority_must_be_low_medium_or_high(priority):
    assert set(errors_of(body(priority=priority))) == {"priority"}


@pytest.mark.parametrize("priority", ["low", "medium", "high"])
def test_each_priority_is_accepted(priority):
    assert rule_validate(body(priority=priority))["priority"] == priority


def test_priority_defaults_to_medium():
    assert rule_validate(body(priority=...))["priority"] == "medium"


def test_description_longer_than_1000_characters_is_rejected():
    assert set(errors_of(body(description="d" * 1001))) == {"description"}


def test_unknown_template_is_rejected():
    assert "no_such_template" in errors_of(body(template="no_such_template"))["template"]


def test_known_template_is_accepted():
    assert rule_validate(body(template="brute_force_user_logins"))["template"] == "brute_force_user_logins"


@pytest.mark.parametrize("flag", ["enabled", "generate_alerts", "send_notifications", "existing_conditions"])
def test_flags_must_be_booleans(flag):
    assert flag in errors_of(body(**{flag: "yes"}))


def test_unknown_field_is_rejected_by_name():
    assert errors_of(body(severity="high")) == {"severity": "Unknown field."}


# -- conditions ---------------------------------------------------------------------------------


def test_at_least_one_condition_is_required():
    assert set(errors_of(body(conditions=[]))) == {"conditions"}


def test_conditions_are_required():
    assert set(errors_of(body(conditions=...))) == {"conditions"}


def test_unknown_event_type_is_rejected_against_the_catalog():
    errors = errors_of(body(conditions=[{"event_type": "no_such_event"}]))
    assert set(errors) == {"conditions[0].event_type"}


def test_condition_errors_carry_the_path_of_the_bad_filter():
    conditions = [
        {
            "event_type": "user_login_attempt",
            "filters": [
                {"key": "success", "operator": "eq", "value": False},
                {"key": "client_ip", "operator": "in_cidr", "value": "10.0.0.0/8"},
                {"key": "geoip.country_code", "operator": "is_one_of", "value": ["US"]},
            ],
        }
    ]
    assert set(errors_of(body(conditions=conditions))) == {"conditions[0].filters[2].operator"}


def test_errors_of_several_fields_are_reported_together():
    errors = errors_of(body(name="", priority="urgent", conditions=[{"event_type": "nope"}]))
    assert set(errors) == {"name", "priority", "conditions[0].event_type"}


# -- actions and channels -----------------------------------------------------------------------


def test_generate_alerts_or_send_notifications_is_required():
    errors = errors_of(body(generate_alerts=False, send_notifications=False))
    assert set(errors) == {"generate_alerts"}


def test_sending_notifications_without_a_channel_is_rejected():
    assert set(errors_of(body(send_notifications=True))) == {"channels"}


def test_sending_notifications_to_a_channel_is_accepted(webhook):
    values = rule_validate(body(send_notifications=True, generate_alerts=False, channels=[webhook.pk]))
    assert values["channels"] == [webhook.pk]


def test_duplicate_channel_ids_are_kept_once(webhook):
    assert rule_validate(body(send_notifications=True, channels=[webhook.pk, webhook.pk]))["channels"] == [webhook.pk]


def test_unknown_channel_id_is_rejected(webhook):
    errors = errors_of(body(send_notifications=True, channels=[webhook.pk, webhook.pk + 1000]))
    assert str(webhook.pk + 1000) in errors["channels"]


@pytest.mark.parametrize("channels", ["1", [True], ["1"], [1.5]])
def test_channels_must_be_a_list_of_ids(channels):
    assert set(errors_of(body(channels=channels))) == {"channels"}


@pytest.mark.parametrize("flag", ["notify_on_acknowledge", "notify_on_resolve"])
def test_lifecycle_notifications_need_alerts_and_notifications(flag, webhook):
    assert set(errors_of(body(**{flag: True}))) == {flag}
    notify_only = body(**{flag: True}, generate_alerts=False, send_notifications=True, channels=[webhook.pk])
    assert set(errors_of(notify_only)) == {flag}


@pytest.mark.parametrize("flag", ["notify_on_acknowledge", "notify_on_resolve"])
def test_lifecycle_notifications_are_accepted_when_both_actions_are_on(flag, webhook):
    values = rule_validate(body(**{flag: True}, send_notifications=True, channels=[webhook.pk]))
    assert values[flag] is True


# -- grouping and thresholds --------------------------------------------------------------------


def test_group_by_keys_are_accepted():
    assert rule_validate(body(group_by=["initiated_by.email", "client_ip"]))["group_by"] == [
        "initiated_by.email",
        "client_ip",
    ]


def test_bad_group_by_key_is_rejected_at_its_index():
    assert set(errors_of(body(group_by=["initiated_by.email", "bad key"]))) == {"group_by[1]"}


def test_group_by_key_with_a_trailing_newline_is_rejected_at_its_index():
    assert set(errors_of(body(group_by=["initiated_by.email\n"]))) == {"group_by[0]"}


def test_group_by_must_be_a_list():
    assert set(errors_of(body(group_by="initiated_by.email"))) == {"group_by"}


def test_group_by_takes_at_most_five_keys():
    assert set(errors_of(body(group_by=[f"k{n}" for n in range(6)]))) == {"group_by"}


@pytest.mark.parametrize("minutes", [-1, 10081, "5", 1.5, True, None])
def test_group_window_must_be_whole_minutes_from_0_to_a_week(minutes):
    assert set(errors_of(body(group_window_minutes=minutes))) == {"group_window_minutes"}


@pytest.mark.parametrize("minutes", [0, 1, 10080])
def test_group_window_limits_are_accepted(minutes):
    assert rule_validate(body(group_window_minutes=minutes))["group_window_minutes"] == minutes


def test_threshold_is_accepted():
    threshold = {"count": 5, "window_minutes": 10}
    assert rule_validate(body(threshold=threshold))["threshold"] == threshold


@pytest.mark.parametrize(
    "threshold", [5, [5, 10], {"count": 5}, {"count": 5, "window_minutes": 10, "group_by": "x"}, {}]
)
def test_threshold_must_have_count_and_window_minutes(threshold):
    assert set(errors_of(body(threshold=threshold))) == {"threshold"}


@pytest.mark.parametrize("count", [0, 1, 10_001, "5", 2.5, True])
def test_threshold_count_must_be_from_2_to_10000(count):
    assert set(errors_of(body(threshold={"count": count, "window_minutes": 10}))) == {"threshold.count"}


@pytest.mark.parametrize("window", [0, -5, 10081, "10", None])
def test_threshold_window_must_be_from_1_minute_to_a_week(window):
    assert set(errors_of(body(threshold={"count": 5, "window_minutes": window}))) == {"threshold.window_minutes"}


# -- partial updates -----------------------------------------------------------------------------


def test_partial_update_is_checked_against_the_rules_current_values(webhook):
    rule = rule_create(data=body(send_notifications=True, channels=[webhook.pk]), actor=None)
    assert set(errors_of({"channels": []}, instance=rule)) == {"channels"}
    assert rule_validate({"send_notifications": False, "channels": []}, instance=rule)["channels"] == []

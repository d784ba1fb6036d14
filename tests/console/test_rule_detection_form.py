"""The rule form's Detection part (Advanced section; api.md section 12) and the rule page's words for it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.http import QueryDict
from django.test import Client
from django.urls import reverse

from rules.detection_words import EVERY_EVENT, detection_words
from rules.forms import detection_form_values, detection_parse, field_of_path, form_values
from rules.models import Rule
from rules.services import rule_create

NEW = "/insights/alerts/rules/new/"
TOTP_DISABLED = {"event_type": "admin_totp_disable", "match": "all", "filters": []}
PASSWORD_CHANGED = {"event_type": "admin_password_change", "match": "all", "filters": []}
LOGIN = {
    "event_type": "user_login_attempt",
    "match": "all",
    "filters": [{"key": "success", "operator": "eq", "value": True}],
}
NEW_COUNTRY = {"type": "new_value", "fields": ["initiated_by.email", "geoip.country_code"], "history_days": 30}
TOTP_THEN_PASSWORD = {"type": "sequence", "steps": [0, 1], "by": ["resource.email"], "within_minutes": 10}


def posted(**fields: str) -> QueryDict:
    query = QueryDict(mutable=True)
    query.update(fields)
    return query


def form_post(conditions: list[dict[str, Any]], **overrides: str) -> dict[str, str]:
    data = {
        "name": "Takeover",
        "enabled": "on",
        "priority": "high",
        "conditions": json.dumps(conditions),
        "generate_alerts": "on",
        "group_window_minutes": "0",
        "detection_type": "",
        "detection_fields": "",
        "detection_history_days": "30",
        "detection_steps": "",
        "detection_by": "",
        "detection_within_minutes": "10",
    }
    data.update(overrides)
    return data


# -- reading the form ---------------------------------------------------------------------------------


def test_every_event_is_no_detection():
    detection, _ = detection_parse(posted(detection_type="", detection_fields="initiated_by.email"), [LOGIN])
    assert detection is None


def test_new_value_reads_the_keys_and_days_and_ignores_the_sequence_fields():
    detection, values = detection_parse(
        posted(
            detection_type="new_value",
            detection_fields=" initiated_by.email , geoip.country_code,",
            detection_history_days="30",
            detection_by="resource.email",
        ),
        [LOGIN],
    )
    assert detection == NEW_COUNTRY
    assert values["detection_fields"] == "initiated_by.email , geoip.country_code,"


def test_sequence_steps_are_the_conditions_in_order():
    detection, values = detection_parse(
        posted(detection_type="sequence", detection_by="resource.email", detection_within_minutes="10"),
        [TOTP_DISABLED, PASSWORD_CHANGED],
    )
    assert detection == TOTP_THEN_PASSWORD
    assert values["detection_steps"] == "0, 1"


def test_a_saved_step_order_is_kept_while_it_covers_every_condition():
    conditions = [TOTP_DISABLED, PASSWORD_CHANGED]
    kept, _ = detection_parse(posted(detection_type="sequence", detection_steps="1, 0"), conditions)
    stale, _ = detection_parse(posted(detection_type="sequence", detection_steps="1, 0"), [*conditions, LOGIN])
    assert kept is not None and kept["steps"] == [1, 0]
    assert stale is not None and stale["steps"] == [0, 1, 2]


def test_numbers_that_do_not_parse_are_passed_on_for_the_validation_to_name():
    detection, _ = detection_parse(
        posted(detection_type="sequence", detection_within_minutes="ten"), [TOTP_DISABLED, PASSWORD_CHANGED]
    )
    assert detection is not None and detection["within_minutes"] == "ten"
    blank, _ = detection_parse(posted(detection_type="new_value", detection_history_days=""), [LOGIN])
    assert blank is not None and blank["history_days"] is None


def test_an_unknown_kind_is_passed_on_for_the_validation_to_refuse():
    detection, _ = detection_parse(posted(detection_type="threshold"), [LOGIN])
    assert detection == {"type": "threshold"}


def test_form_values_show_a_saved_detection():
    assert detection_form_values(NEW_COUNTRY)["detection_fields"] == "initiated_by.email, geoip.country_code"
    values = form_values({"conditions": [TOTP_DISABLED, PASSWORD_CHANGED], "detection": TOTP_THEN_PASSWORD})
    assert (values["detection_type"], values["detection_steps"], values["detection_by"]) == (
        "sequence",
        "0, 1",
        "resource.email",
    )
    assert values["detection_within_minutes"] == "10"
    assert form_values({"detection": None})["detection_type"] == ""


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("detection.fields[1]", "detection_fields"),
        ("detection.history_days", "detection_history_days"),
        ("detection.by[0]", "detection_by"),
        ("detection.within_minutes", "detection_within_minutes"),
        ("detection.steps", "detection_steps"),
        ("detection.type", "detection"),
        ("detection", "detection"),
        ("group_by[2]", "group_by"),
    ],
)
def test_detection_errors_belong_to_their_form_field(path, field):
    assert field_of_path(path) == field


# -- in words ---------------------------------------------------------------------------------------


def test_detection_in_words():
    assert detection_words(None) == EVERY_EVENT
    assert detection_words(NEW_COUNTRY) == (
        "counts a matching event only when its combination of initiated_by.email and geoip.country_code "
        "was not seen in matching events of the previous 30 days"
    )
    assert detection_words(TOTP_THEN_PASSWORD, [TOTP_DISABLED, PASSWORD_CHANGED]) == (
        "fires when admin_totp_disable (step 1), then admin_password_change (step 2) happen in that order "
        "for the same resource.email within 10 minutes"
    )


def test_half_made_detections_still_read():
    assert "?" in detection_words({"type": "sequence", "steps": [0, 5]}, [TOTP_DISABLED])
    assert "?" in detection_words({"type": "new_value", "fields": []})


# -- the form pages -----------------------------------------------------------------------------------


@pytest.fixture
def admin(login) -> Client:
    return login("admin")


@pytest.mark.django_db
def test_the_advanced_section_offers_every_event_new_value_and_sequence(admin):
    page = admin.get(NEW).content.decode()
    assert 'data-testid="detection"' in page
    for value in ('value=""', 'value="new_value"', 'value="sequence"'):
        assert f'name="detection_type" {value}' in page
    assert "Every event" in page and "New value" in page and "Sequence" in page


@pytest.mark.django_db
def test_saving_a_sequence_from_the_form(admin):
    response = admin.post(
        NEW,
        form_post([TOTP_DISABLED, PASSWORD_CHANGED], detection_type="sequence", detection_by="resource.email"),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert Rule.objects.get(name="Takeover").detection == TOTP_THEN_PASSWORD


@pytest.mark.django_db
def test_saving_a_new_value_from_the_form(admin):
    response = admin.post(
        NEW,
        form_post(
            [LOGIN],
            detection_type="new_value",
            detection_fields="initiated_by.email, geoip.country_code",
            detection_history_days="30",
        ),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert Rule.objects.get(name="Takeover").detection == NEW_COUNTRY


@pytest.mark.django_db
def test_a_bad_detection_is_shown_by_its_field_and_opens_the_advanced_section(admin):
    response = admin.post(
        NEW,
        form_post([TOTP_DISABLED, PASSWORD_CHANGED], detection_type="sequence", detection_within_minutes="0"),
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert 'id="detection-within-error"' in page
    assert 'id="id_detection_within_minutes"' in page and 'aria-invalid="true"' in page
    assert 'id="advanced" open' in page
    assert 'href="#id_detection_within_minutes"' in page


@pytest.mark.django_db
def test_a_single_step_sequence_is_refused_next_to_the_steps(admin):
    response = admin.post(NEW, form_post([TOTP_DISABLED], detection_type="sequence", detection_by="resource.email"))
    page = response.content.decode()
    assert response.status_code == 400
    assert "detection" in page and 'class="field-error"' in page


@pytest.mark.django_db
def test_the_edit_form_shows_the_saved_detection_and_its_steps(admin):
    rule = rule_create(
        data={"name": "Takeover", "conditions": [TOTP_DISABLED, PASSWORD_CHANGED], "detection": TOTP_THEN_PASSWORD},
        actor=None,
    )
    page = admin.get(f"/insights/alerts/rules/{rule.pk}/edit/").content.decode()
    assert 'id="id_detection_type_sequence" name="detection_type" value="sequence" data-preview' in page
    assert "<li>admin_totp_disable</li><li>admin_password_change</li>" in page
    assert "for the same resource.email within 10 minutes" in page  # the Advanced summary


@pytest.mark.django_db
def test_the_read_only_rule_page_says_the_detection_in_words(login):
    rule = rule_create(
        data={"name": "New country", "conditions": [LOGIN], "detection": NEW_COUNTRY},
        actor=None,
    )
    page = login("viewer").get(f"/insights/alerts/rules/{rule.pk}/edit/").content.decode()
    assert 'data-testid="rule-detection"' in page
    assert "Counts a matching event only when its combination of initiated_by.email and geoip.country_code" in page


@pytest.mark.django_db
def test_the_preview_counts_what_the_detection_decides(admin):
    page = admin.post(
        reverse("console-rule-preview"),
        form_post(
            [LOGIN], detection_type="new_value", detection_fields="initiated_by.email", detection_history_days="30"
        ),
    ).content.decode()
    assert 'data-testid="preview-summary"' in page

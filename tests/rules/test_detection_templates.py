"""The detection templates (api.md section 12) fire on their sample event sets: exactly once each,
through `POST /rules/{id}/test` with a history, through `POST /rules/preview` over stored events, and
on the live path (ingest -> evaluation -> alert)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from alerts.models import Alert, AlertEvent
from events.services import event_batch_ingest
from events.validation import Limits, event_validate
from rules.models import Rule
from rules.services import rule_create
from rules.templates_catalog import TEMPLATES_BY_SLUG
from tests.rules.detection_samples import SAMPLE_SETS, sample_set

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ISSUE_TEMPLATES = (
    "login_new_country",
    "first_admin_privilege_grant",
    "totp_disabled_then_password_changed",
    "password_reset_then_login_new_country",
    "admin_privilege_granted_then_revoked",
    "admin_login_new_device_type",
)


def template_body(slug: str) -> dict[str, Any]:
    return copy.deepcopy(TEMPLATES_BY_SLUG[slug].rule)


def rule_from_template(slug: str) -> Rule:
    return rule_create(data=template_body(slug), actor=None)


def store(events: list[dict[str, Any]]) -> None:
    records = []
    for index, payload in enumerate(events):
        record = event_validate(payload, index=index, limits=Limits.from_settings())
        assert not isinstance(record, list), record
        records.append(record)
    event_batch_ingest(records=records)


def explain(client, rule: Rule, event: dict[str, Any], history: list[dict[str, Any]]) -> dict[str, Any]:
    response = client.post(f"/api/v1/rules/{rule.pk}/test", {"event": event, "history": history}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


@pytest.fixture
def admin(auth_client):
    return auth_client("admin")


def test_every_issue_template_has_a_detection_and_a_sample_set():
    for slug in ISSUE_TEMPLATES:
        assert TEMPLATES_BY_SLUG[slug].rule["detection"], slug
        assert slug in SAMPLE_SETS


@pytest.mark.parametrize("slug", ISSUE_TEMPLATES)
def test_template_fires_on_the_last_event_of_its_sample_set_given_the_rest_as_history(admin, slug):
    rule = rule_from_template(slug)
    events = sample_set(slug, START)
    answer = explain(admin, rule, events.firing, [*events.learned, *events.live[:-1]])
    assert answer["matched"] is True
    assert answer["detection"]["counts"] is True, answer["detection"]
    assert answer["detection"]["explanation"]


@pytest.mark.parametrize("slug", ISSUE_TEMPLATES)
def test_template_counts_none_of_the_near_misses_before_it(admin, slug):
    rule = rule_from_template(slug)
    events = sample_set(slug, START)
    stream = [*events.learned, *events.live]
    for index in range(len(events.learned), len(stream) - 1):
        answer = explain(admin, rule, stream[index], stream[:index])
        counted = answer["detection"]["counts"]
        assert counted is False, (stream[index]["id"], answer["detection"])


@pytest.mark.parametrize("slug", ISSUE_TEMPLATES)
def test_template_preview_over_its_stored_sample_set_counts_one_event_and_one_alert(admin, slug):
    start = timezone.now().replace(microsecond=0) - timedelta(days=6)
    events = sample_set(slug, start)
    store([*events.learned, *events.live])
    since = start + timedelta(minutes=1) if events.learned else start - timedelta(minutes=1)
    body = {**template_body(slug), "since": since.isoformat(), "sample_size": 5}
    response = admin.post("/api/v1/rules/preview", body, format="json")
    assert response.status_code == 200, response.content
    answer = response.json()
    assert (answer["matched"], answer["alerts"]) == (1, 1), answer
    assert [event["id"] for event in answer["sample"]] == [events.firing["id"]]
    assert answer["sample"][0]["explanation"]
    assert answer["conditions_matched"] >= 1


def test_new_value_preview_is_primed_with_the_history_before_its_window(admin):
    start = timezone.now().replace(microsecond=0) - timedelta(days=6)
    events = sample_set("login_new_country", start)
    store([*events.learned, *events.live])
    body = template_body("login_new_country")
    primed = admin.post(
        "/api/v1/rules/preview", {**body, "since": (start + timedelta(minutes=1)).isoformat()}, format="json"
    )
    unprimed = admin.post(
        "/api/v1/rules/preview", {**body, "since": (start - timedelta(minutes=1)).isoformat()}, format="json"
    )
    # With the US login before the window remembered, only the German one is new; from the start
    # of the stream, the very first US login is new too.
    assert primed.json()["matched"] == 1 and primed.json()["history_scanned"] >= 1
    assert unprimed.json()["matched"] == 2


# -- the live path ------------------------------------------------------------------------------------


@pytest.mark.parametrize("slug", ISSUE_TEMPLATES)
def test_template_fires_exactly_once_on_the_live_path(ingest, django_capture_on_commit_callbacks, slug):
    events = sample_set(slug, timezone.now().replace(microsecond=0) - timedelta(days=6))
    if events.learned:
        ingest(*events.learned)
    with django_capture_on_commit_callbacks(execute=True):
        rule = rule_from_template(slug)  # a new_value rule learns the stored history first
    for event in events.live:  # one request each, in event-time order
        ingest(event)
    alerts = list(Alert.objects.filter(rule=rule))
    assert [alert.event.event_id for alert in alerts] == [events.firing["id"]]
    assert alerts[0].explanation
    steps = len(TEMPLATES_BY_SLUG[slug].rule["detection"].get("steps") or [0])
    assert AlertEvent.objects.filter(alert=alerts[0]).count() == steps

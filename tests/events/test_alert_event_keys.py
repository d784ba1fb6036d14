"""The filter keys the rule editor offers for alert_* events, and how existing databases get new ones."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from events.catalog import ALERT_KEYS, CATALOG_BY_NAME, catalog_keys_outdated, catalog_keys_refresh, keys_for
from tests.factories import make_event

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "event-samples"
ALERT_EVENT_TYPES = ("alert_created", "alert_status_updated", "alert_updated")
# The keys a rule like "High alert acknowledged" is written with, and the alert's subject.
WANTED = {
    "severity",
    "category",
    "correlation.id",
    "correlation.type",
    "resource.id",
    "resource.reference_id",
    "resource.source_type",
    "resource.source_id",
}
# alert_status_updated as an older catalog stored it (before the source and reference keys).
OLD_STATUS_KEYS = [*keys_for(""), "severity", "category", "resource.source_type", "correlation.id"]


def _leaf_paths(value: Any, prefix: str = "") -> set[str]:
    if isinstance(value, dict):
        return {path for key, item in value.items() for path in _leaf_paths(item, f"{prefix}{key}.")}
    return {prefix.rstrip(".")}


def _resolve(payload: dict[str, Any], key: str) -> Any:
    for part in key.split("."):
        if not isinstance(payload, dict) or part not in payload:
            return None
        payload = payload[part]
    return payload


@pytest.mark.parametrize("name", ALERT_EVENT_TYPES)
def test_alert_event_types_offer_severity_category_correlation_and_source_keys(name):
    assert set(keys_for(name)) >= WANTED


@pytest.mark.parametrize("sample", ["alert_created.json", "alert_status_updated.json"])
def test_alert_fields_of_the_vendor_samples_are_offered(sample):
    event = json.loads((SAMPLES / sample).read_text(encoding="utf-8"))
    fields = {key: event[key] for key in ("severity", "category", "correlation", "resource") if key in event}
    # resource.context is a JSON-encoded string in the vendor's sample (an object in ours): no stable path.
    assert _leaf_paths(fields) - {"resource.context"} <= set(keys_for(event["event_type"]))


@pytest.mark.django_db
def test_every_alert_key_resolves_in_the_alert_events_alertsite_records(
    ingest_client, make_user, django_capture_on_commit_callbacks
):
    from alerts.models import Alert
    from alerts.services import alert_acknowledge, alert_note_add
    from events.models import AuditEvent
    from rules.services import rule_create

    rule_create(
        data={"name": "Any failed login", "priority": "high", "conditions": [{"event_type": "user_login_attempt"}]},
        actor=None,
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = ingest_client.post(
            "/api/v1/events", data=orjson.dumps([make_event(id="keys-1")]), content_type="application/json"
        )
    assert response.status_code == 202, response.content
    alert = Alert.objects.get()
    responder = make_user("responder", username="rita")
    alert_acknowledge(alert=alert, actor=responder)
    alert_note_add(alert=alert, author=responder, text="Called the user")
    payloads = {row.event_type: row.payload for row in AuditEvent.objects.filter(event_type__in=ALERT_EVENT_TYPES)}
    assert set(payloads) == set(ALERT_EVENT_TYPES)
    for name, payload in payloads.items():
        missing = [key for key in ALERT_KEYS if _resolve(payload, key) in (None, {})]
        assert missing == [], name


def test_outdated_keys_put_the_catalog_keys_first_and_keep_an_admins_additions():
    updates = catalog_keys_outdated({"alert_status_updated": [*OLD_STATUS_KEYS, "message"]})
    assert updates == {"alert_status_updated": [*keys_for("alert_status_updated"), "message"]}


def test_outdated_keys_leave_out_up_to_date_and_unknown_types():
    stored = {"alert_created": list(keys_for("alert_created")), "something_new": []}
    assert "something_new" not in CATALOG_BY_NAME
    assert catalog_keys_outdated(stored) == {}


def test_outdated_keys_treat_stored_keys_that_are_not_a_list_as_none():
    assert catalog_keys_outdated({"alert_created": "severity"}) == {"alert_created": list(keys_for("alert_created"))}


@pytest.mark.django_db
def test_keys_refresh_gives_a_stored_alert_type_the_new_keys():
    from events.models import EventType

    EventType.objects.filter(name="alert_status_updated").update(keys=OLD_STATUS_KEYS)
    assert catalog_keys_refresh(EventType) == 1
    assert EventType.objects.get(name="alert_status_updated").keys == list(keys_for("alert_status_updated"))


@pytest.mark.django_db
def test_keys_refresh_of_an_up_to_date_catalog_is_one_query_and_no_write():
    from events.models import EventType

    with CaptureQueriesContext(connection) as queries:
        assert catalog_keys_refresh(EventType) == 0
    assert len(queries) == 1


@pytest.mark.django_db
def test_next_migrate_gives_an_existing_database_the_new_alert_keys():
    from events.models import EventType

    EventType.objects.filter(name="alert_status_updated").update(keys=OLD_STATUS_KEYS)
    call_command("migrate", verbosity=0, interactive=False)
    assert EventType.objects.get(name="alert_status_updated").keys == list(keys_for("alert_status_updated"))

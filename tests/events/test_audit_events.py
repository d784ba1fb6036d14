"""The product's own audit events: audit_event_record and actor_reference (events.services)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.utils import timezone

from events import hooks
from events.models import AuditEvent, EventType, PendingEvaluation
from events.services import actor_reference, audit_event_record

pytestmark = pytest.mark.django_db

SYSTEM = {"type": "system", "id": "alertsite"}


@pytest.fixture
def heard():
    """Batches of primary keys handed to ingest listeners during the test."""
    batches: list[list[int]] = []
    hooks.ingest_listener_register(batches.append)
    try:
        yield batches
    finally:
        hooks.ingest_listener_unregister(batches.append)


def record(**overrides):
    arguments = {
        "event_type": "alert_rule_create",
        "service": "alerts",
        "initiated_by": SYSTEM,
        "resource": {"type": "alert_rule", "id": "7", "name": "Failed logins"},
        "changes": [{"field": "name", "to": "Failed logins"}],
    }
    arguments.update(overrides)
    return audit_event_record(**arguments)


def test_audit_event_is_stored_in_the_directory_insights_shape():
    event = record()
    payload = event.payload
    assert payload["event_type"] == "alert_rule_create"
    assert payload["service"] == "alerts"
    assert payload["@version"] == "1"
    assert payload["initiated_by"] == SYSTEM
    assert payload["resource"] == {"type": "alert_rule", "id": "7", "name": "Failed logins"}
    assert payload["changes"] == [{"field": "name", "to": "Failed logins"}]
    assert payload["success"] is True
    assert payload["timestamp"].endswith("Z")
    assert abs(event.timestamp - timezone.now()) < timedelta(minutes=1)


def test_audit_event_fills_the_indexed_columns():
    event = record(resource={"type": "alert_rule", "id": "7", "name": "Failed logins"})
    assert (event.event_type, event.service, event.resource) == ("alert_rule_create", "alerts", "Failed logins")
    assert event.initiator == "alertsite"
    assert len(event.event_id) == 32  # a random UUID: two identical changes stay two events


def test_resource_and_changes_are_left_out_when_not_given():
    payload = record(resource=None, changes=None).payload
    assert "resource" not in payload
    assert "changes" not in payload


def test_extra_fields_join_the_payload():
    assert record(extra={"alert": {"id": 3}}).payload["alert"] == {"id": 3}


def test_audit_event_of_a_new_type_joins_the_catalog_as_unknown():
    record(event_type="alertsite_only_thing")
    assert EventType.objects.get(name="alertsite_only_thing").known is False


def test_audit_event_of_a_catalog_type_keeps_it_known():
    record(event_type="alert_rule_create")
    assert EventType.objects.get(name="alert_rule_create").known is True


def test_audit_event_is_rolled_back_with_the_callers_transaction(heard, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        record()
        assert AuditEvent.objects.count() == 1
        raise RuntimeError("the change failed")
    assert AuditEvent.objects.count() == 0
    assert heard == []


def test_invalid_audit_event_raises_value_error():
    with pytest.raises(ValueError, match="invalid audit event"):
        record(event_type="Not Snake Case")
    assert AuditEvent.objects.count() == 0


@pytest.mark.parametrize("depth", [0, 1])
def test_shallow_audit_event_is_handed_to_listeners_after_commit(
    evaluate_every_type, heard, django_capture_on_commit_callbacks, depth
):
    with django_capture_on_commit_callbacks(execute=True):
        event = record(causal_depth=depth)
        assert heard == []  # not before the commit
        assert PendingEvaluation.objects.filter(event=event).exists()  # pending from the insert on
    assert heard == [[event.pk]]
    assert event.causal_depth == depth


def test_audit_event_two_steps_from_outside_is_stored_evaluated_and_not_handed_on(
    heard, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        event = record(causal_depth=2)
    assert heard == []
    assert event.causal_depth == 2
    assert not PendingEvaluation.objects.filter(event=event).exists()


def test_actor_reference_of_nobody_is_the_system():
    assert actor_reference(None) == SYSTEM


def test_actor_reference_of_an_anonymous_user_is_the_system():
    assert actor_reference(AnonymousUser()) == SYSTEM


def test_actor_reference_of_a_user_names_them(make_user):
    user = make_user("admin", username="ada", email="ada@example.com")
    assert actor_reference(user) == {"type": "admin", "id": str(user.pk), "username": "ada", "email": "ada@example.com"}


def test_audit_event_by_a_user_is_searchable_by_their_email(make_user):
    user = make_user("admin", username="ada", email="ada@example.com")
    assert record(initiated_by=actor_reference(user)).initiator == "ada@example.com"

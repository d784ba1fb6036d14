"""alerts hands channels one typed notification, complete; every transport renders from it."""

from __future__ import annotations

import pytest
from django.conf import settings

from alerts.models import Alert
from alerts.services import alert_acknowledge, alert_notification
from channels.notification import AlertInfo, Notification, RuleRef, TransitionInfo, sample_notification
from channels.transports import Outgoing
from channels.transports.email import subject_for
from rules.services import rule_create
from tests.channels.conftest import FAILED_LOGINS
from tests.factories import make_event

pytestmark = pytest.mark.django_db

ENVELOPE_KEYS = {"version", "type", "sent_at", "delivery_id", "alert", "event"}
ALERT_KEYS = {"id", "reference", "status", "priority", "title", "event_count", "url", "rule"}


@pytest.fixture
def responder_user(make_user):
    return make_user("responder", username="rita", email="rita@example.com")


@pytest.fixture
def alert(ingest) -> Alert:
    rule_create(data=FAILED_LOGINS, actor=None)
    ingest(make_event(id="e1"))
    return Alert.objects.get()


def test_alerts_builds_the_whole_notification(alert):
    notification = alert_notification("alert.created", alert, alert.event.payload)
    assert notification.reference == alert.reference
    assert notification.priority == alert.priority
    assert notification.title == alert.title
    assert notification.url == f"{settings.ALERTSITE_BASE_URL.rstrip('/')}/insights/alerts/{alert.pk}/"
    assert notification.rule == RuleRef(id=alert.rule_id, name=alert.rule_name)
    assert notification.event["id"] == "e1"


def test_notification_survives_its_stored_form(alert, responder_user):
    alert_acknowledge(alert=alert, actor=responder_user, note="on it")
    transition = alert.transitions.get()
    notification = alert_notification("alert.acknowledged", alert, alert.event.payload, transition)
    assert Notification.from_json("alert.acknowledged", notification.as_json()) == notification
    assert notification.transition == TransitionInfo(
        from_status="open",
        to_status="acknowledged",
        by={"id": responder_user.pk, "username": responder_user.username, "email": responder_user.email},
        at=notification.transition.at,
        note="on it",
    )


def test_envelope_keeps_the_documented_keys(alert):
    notification = alert_notification("alert.created", alert, alert.event.payload)
    envelope = notification.envelope(delivery_id="d-1", sent_at="2026-01-01T00:00:00Z")
    assert set(envelope) == ENVELOPE_KEYS
    assert set(envelope["alert"]) == ALERT_KEYS


def test_status_kinds_always_carry_a_transition_key():
    info = AlertInfo(1, "ALR-000001", "acknowledged", "high", "t", 1, "u", RuleRef(1, "r"))
    body = Notification(kind="alert.acknowledged", rule=info.rule, event=None, alert=info).as_json()
    assert body["alert"]["transition"] is None


def test_rows_stored_before_the_type_existed_still_render():
    legacy = {"alert": {"id": 7, "reference": "ALR-000007", "priority": "low", "rule": {"id": 2, "name": "R"}}}
    notification = Notification.from_json("alert.created", legacy)
    assert (notification.reference, notification.priority, notification.rule.name) == ("ALR-000007", "low", "R")


def test_match_without_alert_names_the_rule():
    notification = Notification.from_json("event.matched", {"rule": {"id": 3, "name": "Notify only"}, "event": {}})
    assert notification.alert is None
    assert notification.title == "Notify only"
    assert "alert" not in notification.as_json()


def test_email_subject_comes_from_the_typed_values():
    message = Outgoing(delivery_id="d", notification=sample_notification("alert.created"), sent_at="now")
    assert subject_for(message) == "[High] Test rule · ALR-000000 · new alert"

"""Acknowledge and resolve notifications say who moved the alert, when, and the remark given."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from alerts.models import Alert, AlertTransition
from alerts.services import alert_acknowledge, alert_resolve
from channels.models import Delivery
from channels.services import delivery_send
from rules.services import rule_create
from tests.channels.conftest import ALERT_PAYLOAD, FAILED_LOGINS, enqueue
from tests.factories import make_event

pytestmark = pytest.mark.django_db

NOTIFY_BOTH = {"send_notifications": True, "notify_on_acknowledge": True, "notify_on_resolve": True}


@pytest.fixture
def responder(make_user):
    return make_user("responder", username="rita", email="rita@example.com")


@pytest.fixture
def raise_alert(ingest):
    def make(channel) -> Alert:
        rule_create(data={**FAILED_LOGINS, **NOTIFY_BOTH, "channels": [channel.pk]}, actor=None)
        ingest(make_event(id="login-1"))
        return Alert.objects.get()

    return make


def utc_text(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def test_acknowledge_webhook_carries_who_when_and_the_remark(
    make_webhook, receiver, raise_alert, responder, django_capture_on_commit_callbacks
):
    alert = raise_alert(make_webhook(receiver.url))
    with django_capture_on_commit_callbacks(execute=True):
        alert_acknowledge(alert=alert, actor=responder, note="Looking into it")
    body = receiver.wait_for(2)[1].json()
    move = AlertTransition.objects.get()
    assert body["type"] == "alert.acknowledged"
    assert body["alert"]["transition"] == {
        "from": "open",
        "to": "acknowledged",
        "by": {"id": responder.pk, "username": "rita", "email": "rita@example.com"},
        "at": move.at.isoformat().replace("+00:00", "Z"),
        "note": "Looking into it",
    }


def test_resolve_by_the_system_has_no_one_in_by(
    make_webhook, receiver, raise_alert, django_capture_on_commit_callbacks
):
    alert = raise_alert(make_webhook(receiver.url))
    with django_capture_on_commit_callbacks(execute=True):
        alert_resolve(alert=alert, actor=None)
    transition = receiver.wait_for(2)[1].json()["alert"]["transition"]
    assert (transition["from"], transition["to"], transition["by"], transition["note"]) == (
        "open",
        "resolved",
        None,
        "",
    )


def test_transition_keeps_the_documented_envelope_keys(
    make_webhook, receiver, raise_alert, responder, django_capture_on_commit_callbacks
):
    alert = raise_alert(make_webhook(receiver.url))
    with django_capture_on_commit_callbacks(execute=True):
        alert_acknowledge(alert=alert, actor=responder)
    created, acknowledged = (request.json() for request in receiver.wait_for(2))
    assert set(acknowledged) == set(created) == {"version", "type", "sent_at", "delivery_id", "alert", "event"}
    assert set(acknowledged["alert"]) == set(created["alert"]) | {"transition"}
    assert "transition" not in created["alert"]


def test_status_notification_queued_without_a_transition_sends_it_as_null(make_webhook, receiver):
    delivery = enqueue(make_webhook(receiver.url), kind="alert.resolved", payload=ALERT_PAYLOAD)
    delivery_send(delivery_id=delivery.pk)
    assert receiver.wait_for(1)[0].json()["alert"]["transition"] is None


def test_acknowledge_mail_says_who_when_and_why(
    smtp, make_email_channel, raise_alert, responder, django_capture_on_commit_callbacks
):
    alert = raise_alert(make_email_channel(recipients=["oncall@example.com"]))
    with django_capture_on_commit_callbacks(execute=True):
        alert_acknowledge(alert=alert, actor=responder, note="Looking into it")
    mail = smtp.wait_for(2)[1]
    line = f"Acknowledged by rita (rita@example.com) at {utc_text(AlertTransition.objects.get().at)}: Looking into it"
    assert mail.message["X-Alertsite-Event"] == "alert.acknowledged"
    assert line in mail.part("text/plain")
    assert line in mail.part("text/html")


def test_resolve_mail_by_the_system_says_so_without_a_remark(
    smtp, make_email_channel, raise_alert, django_capture_on_commit_callbacks
):
    alert = raise_alert(make_email_channel(recipients=["oncall@example.com"]))
    with django_capture_on_commit_callbacks(execute=True):
        alert_resolve(alert=alert, actor=None)
    text = smtp.wait_for(2)[1].part("text/plain")
    at = utc_text(AlertTransition.objects.get().at)
    assert f"Resolved by the system at {at}\r\n" in text  # no ": remark" after it


def test_remark_is_escaped_in_the_html_mail(
    smtp, make_email_channel, raise_alert, responder, django_capture_on_commit_callbacks
):
    alert = raise_alert(make_email_channel(recipients=["oncall@example.com"]))
    with django_capture_on_commit_callbacks(execute=True):
        alert_acknowledge(alert=alert, actor=responder, note="<b>mine</b> & yours")
    mail = smtp.wait_for(2)[1]
    assert "&lt;b&gt;mine&lt;/b&gt; &amp; yours" in mail.part("text/html")
    assert "<b>mine</b> & yours" in mail.part("text/plain")


def test_new_alert_mail_has_no_transition_line(smtp, make_email_channel, raise_alert):
    raise_alert(make_email_channel(recipients=["oncall@example.com"]))
    text = smtp.wait_for(1)[0].part("text/plain")
    assert Delivery.objects.get().kind == "alert.created"
    assert not any(f"{verb} by" in text for verb in ("Acknowledged", "Resolved", "Reopened"))

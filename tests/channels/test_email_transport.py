"""E-mail notifications through a real SMTP server on loopback: content, recipients, failures, test sends."""

from __future__ import annotations

import pytest
from django.conf import settings

from alerts.models import Alert
from channels.models import Delivery, DeliveryStatus
from channels.services import delivery_send
from rules.services import rule_create
from tests.channels.conftest import FAILED_LOGINS, enqueue, make_due, smtp_settings
from tests.factories import make_event
from tests.receivers import SmtpServer, free_port

pytestmark = pytest.mark.django_db


def notify(channel, **rule) -> None:
    rule_create(data={**FAILED_LOGINS, "send_notifications": True, "channels": [channel.pk], **rule}, actor=None)


def test_new_alert_is_mailed_with_who_what_when_where_and_the_link(smtp, make_email_channel, ingest):
    channel = make_email_channel(recipients=["oncall@example.com"])
    notify(channel)
    ingest(make_event(id="login-1"))

    mail = smtp.wait_for(1)[0]
    alert = Alert.objects.get()
    delivery = Delivery.objects.get()
    link = f"{settings.ALERTSITE_BASE_URL.rstrip('/')}/insights/alerts/{alert.pk}/"
    subject = mail.message["Subject"]
    assert "High" in subject and "Failed admin logins" in subject and alert.reference in subject
    assert mail.rcpt_tos == ["oncall@example.com"]
    assert mail.message["X-Alertsite-Delivery"] == str(delivery.uuid)
    assert mail.message["X-Alertsite-Event"] == "alert.created"
    assert mail.message.get_content_type() == "multipart/alternative"
    text, html = mail.part("text/plain"), mail.part("text/html")
    for body in (text, html):
        assert alert.reference in body
        assert "bob.smith@example.com" in body  # who
        assert "user_login_attempt" in body  # what
        assert "2025-03-02T09:16:41.077Z" in body  # when
        assert "198.51.100.77 DE" in body  # where
        assert link in body
        assert "Failed admin logins" in body
    assert f'href="{link}"' in html
    delivery.refresh_from_db()
    assert (delivery.status, delivery.response_code, delivery.attempts) == (DeliveryStatus.SENT, 250, 1)


def test_role_members_are_resolved_when_the_mail_is_sent(smtp, make_email_channel, make_user, ingest):
    make_user("responder", email="early@example.com")
    channel = make_email_channel(recipients=["oncall@example.com"], roles=["responder"])
    make_user("responder", email="late@example.com")  # joins after the channel was made
    make_user("viewer", email="viewer@example.com")
    make_user("responder", email="")  # no address: skipped
    gone = make_user("responder", email="gone@example.com")
    gone.is_active = False
    gone.save(update_fields=["is_active"])
    notify(channel)
    ingest(make_event(id="login-1"))

    mail = smtp.wait_for(1)[0]
    assert sorted(mail.rcpt_tos) == ["early@example.com", "late@example.com", "oncall@example.com"]


def test_address_listed_and_held_by_a_role_member_gets_one_copy(smtp, make_email_channel, make_user):
    make_user("admin", email="boss@example.com")
    channel = make_email_channel(recipients=["boss@example.com"], roles=["admin"])
    delivery_send(delivery_id=enqueue(channel).pk)
    assert smtp.wait_for(1)[0].rcpt_tos == ["boss@example.com"]


def test_role_without_members_fails_permanently(smtp, make_email_channel):
    channel = make_email_channel(roles=["responder"])
    delivery = enqueue(channel)
    assert delivery_send(delivery_id=delivery.pk).status == DeliveryStatus.FAILED
    delivery.refresh_from_db()
    assert "No recipients" in delivery.last_error
    assert smtp.messages == []


def test_smtp_server_down_is_transient_and_retried(make_email_channel):
    channel = make_email_channel(recipients=["oncall@example.com"])
    delivery = enqueue(channel)
    with smtp_settings(free_port()):  # nothing listens there
        assert delivery_send(delivery_id=delivery.pk).status == DeliveryStatus.PENDING
    delivery.refresh_from_db()
    assert delivery.attempts == 1
    assert delivery.last_error.startswith("SMTP failed")
    assert delivery.next_attempt_at is not None
    channel.refresh_from_db()
    assert channel.consecutive_failures == 1

    with SmtpServer() as server, smtp_settings(server.port):
        make_due(delivery)
        assert delivery_send(delivery_id=delivery.pk).status == DeliveryStatus.SENT
        mail = server.wait_for(1)[0]
    assert mail.message["X-Alertsite-Delivery"] == str(delivery.uuid)
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.response_code) == (2, 250)
    channel.refresh_from_db()
    assert channel.consecutive_failures == 0


def test_temporary_smtp_refusal_is_retried(smtp, make_email_channel):
    smtp.script_data("451 4.3.0 Try again later")
    delivery = enqueue(make_email_channel(recipients=["oncall@example.com"]))
    assert delivery_send(delivery_id=delivery.pk).status == DeliveryStatus.PENDING
    delivery.refresh_from_db()
    assert delivery.response_code == 451
    make_due(delivery)
    assert delivery_send(delivery_id=delivery.pk).status == DeliveryStatus.SENT
    assert len(smtp.wait_for(1)) == 1


def test_permanent_smtp_refusal_fails_at_once(make_email_channel):
    delivery = enqueue(make_email_channel(recipients=["nobody@example.com"]))
    with SmtpServer(refused=("nobody@example.com",)) as server, smtp_settings(server.port):
        assert delivery_send(delivery_id=delivery.pk).status == DeliveryStatus.FAILED
        assert server.messages == []
    delivery.refresh_from_db()
    assert delivery.attempts == 1
    assert "nobody@example.com" in delivery.last_error


def test_test_send_answers_delivered_and_the_mail_arrives(smtp, make_email_channel, auth_client):
    channel = make_email_channel(recipients=["oncall@example.com"])
    response = auth_client("admin").post(f"/api/v1/channels/{channel.pk}/test")
    assert response.status_code == 200, response.content
    body = response.json()
    assert {key: body[key] for key in ("delivered", "status_code", "error")} == {
        "delivered": True,
        "status_code": 250,
        "error": None,
    }
    mail = smtp.wait_for(1)[0]
    assert mail.rcpt_tos == ["oncall@example.com"]
    assert "test notification" in mail.message["Subject"]
    assert mail.message["X-Alertsite-Event"] == "test"
    assert mail.message["X-Alertsite-Delivery"] == body["delivery"]["delivery_id"]


def test_test_send_reports_a_failure(make_email_channel, auth_client):
    channel = make_email_channel(recipients=["oncall@example.com"])
    with smtp_settings(free_port()):
        body = auth_client("admin").post(f"/api/v1/channels/{channel.pk}/test").json()
    assert body["delivered"] is False
    assert body["status_code"] is None
    assert body["error"].startswith("SMTP failed")
    assert Delivery.objects.get().status == DeliveryStatus.FAILED  # one attempt, no retries for a test


def test_event_fields_are_escaped_in_the_html_part(smtp, make_email_channel, ingest):
    notify(make_email_channel(recipients=["oncall@example.com"]))
    ingest(
        make_event(
            id="xss",
            initiated_by={"type": "user", "email": "<script>alert('who')</script>"},
            client_ip="<img src=x onerror=alert(1)>",
        )
    )
    mail = smtp.wait_for(1)[0]
    html = mail.part("text/html")
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<script>alert('who')</script>" in mail.part("text/plain")  # plain text carries it as text

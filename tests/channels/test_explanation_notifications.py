"""A detection's alert says why in its notifications: `alert.explanation` in the payload and each message.

Plain rules explain nothing, and their payload keeps exactly the fields it had.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts.models import Alert
from alerts.services.notify import alert_notification
from channels.notification import Notification
from channels.templating import context_of
from channels.transports.base import Outgoing
from channels.transports.chat_message import chat_message
from channels.transports.pagerduty import event_body
from rules.services import rule_create
from tests.channels.conftest import ALERT_PAYLOAD
from tests.factories import make_event

pytestmark = pytest.mark.django_db

WHY = "first time in 30 days: alice@example.com, FR"
PLAIN = {
    **ALERT_PAYLOAD,
    "alert": {**ALERT_PAYLOAD["alert"], "url": "https://alertsite.example.com/insights/alerts/7/"},
}
EXPLAINED = {**PLAIN, "alert": {**PLAIN["alert"], "explanation": WHY}}


def login(event_id: str, *, country: str) -> dict[str, Any]:
    at = timezone.now().replace(microsecond=0) - timedelta(hours=1)
    return make_event(
        id=event_id,
        success=True,
        timestamp=at.isoformat().replace("+00:00", "Z"),
        initiated_by={"type": "user", "email": "alice@example.com"},
        geoip={"country_code": country},
    )


@pytest.fixture
def new_country_alert(ingest, django_capture_on_commit_callbacks):
    """A new_value rule notifying `channel`, learned, then a login from a new country: its alert."""

    def raise_it(channel) -> Alert:
        with django_capture_on_commit_callbacks(execute=True):
            rule_create(
                data={
                    "name": "New country",
                    "priority": "high",
                    "conditions": [{"event_type": "user_login_attempt"}],
                    "detection": {"type": "new_value", "fields": ["initiated_by.email", "geoip.country_code"]},
                    "send_notifications": True,
                    "channels": [channel.pk],
                },
                actor=None,
            )
        ingest(login("first-fr", country="FR"))
        return Alert.objects.get()

    return raise_it


def outgoing(payload: dict[str, Any], kind: str = "alert.created") -> Outgoing:
    return Outgoing(
        delivery_id="d-1", notification=Notification.from_json(kind, payload), sent_at="2025-03-02T09:17:00Z"
    )


def test_a_detection_alerts_webhook_body_carries_its_explanation(receiver, make_webhook, new_country_alert):
    alert = new_country_alert(make_webhook(receiver.url))
    body = receiver.wait_for(1)[0].json()
    assert alert.explanation == WHY
    assert body["alert"]["explanation"] == WHY


def test_a_detection_alerts_mail_says_why_in_text_and_html(smtp, make_email_channel, new_country_alert):
    new_country_alert(make_email_channel(recipients=["oncall@example.com"]))
    mail = smtp.wait_for(1)[0]
    assert f"Why: {WHY}" in mail.part("text/plain")
    assert f"<strong>Why:</strong> {WHY}" in mail.part("text/html")


def test_a_plain_alerts_payload_has_no_explanation_field() -> None:
    body = Notification.from_json("alert.created", PLAIN).as_json()
    assert body == PLAIN
    assert "explanation" not in body["alert"]


def test_the_explanation_survives_the_outbox_round_trip() -> None:
    assert Notification.from_json("alert.created", EXPLAINED).as_json() == EXPLAINED


def test_slack_and_teams_show_why_among_the_facts() -> None:
    assert ("Why", WHY) in chat_message(outgoing(EXPLAINED)).facts
    assert "Why" not in dict(chat_message(outgoing(PLAIN)).facts)


def test_the_pagerduty_summary_says_why_only_for_detections() -> None:
    assert event_body("rk", outgoing(EXPLAINED))["payload"]["summary"].endswith(f"({WHY})")
    assert "(" not in event_body("rk", outgoing(PLAIN))["payload"]["summary"]


def test_message_templates_see_alert_explanation() -> None:
    assert context_of(Notification.from_json("alert.created", EXPLAINED))["alert"]["explanation"] == WHY


def test_building_the_notification_reads_nothing_more_than_the_loaded_alert(
    receiver, make_webhook, new_country_alert
) -> None:
    alert = Alert.objects.get(pk=new_country_alert(make_webhook(receiver.url)).pk)
    with CaptureQueriesContext(connection) as queries:
        notification = alert_notification("alert.created", alert, {"id": "first-fr"})
    assert notification.alert is not None and notification.alert.explanation == WHY
    assert len(queries) == 0

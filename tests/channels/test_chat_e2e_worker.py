"""From an ingested event to a Slack message, with a real Celery worker on Redis and PostgreSQL."""

from __future__ import annotations

import orjson
import pytest

from alerts.models import Alert
from alerts.services import alert_url
from channels.models import Delivery, DeliveryStatus
from channels.services import channel_create
from rules.services import rule_create
from tests.channels.conftest import FAILED_LOGINS
from tests.chat_receivers import SlackReceiver
from tests.factories import make_event
from tests.workers import CeleryWorker, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_an_ingested_event_reaches_the_slack_stand_in_as_valid_block_kit(ingest_client, broker_queue):
    with SlackReceiver() as slack:
        channel = channel_create(
            data={"kind": "slack", "name": "SOC Slack", "config": {"webhook_url": slack.url}}, actor=None
        )
        rule_create(data={**FAILED_LOGINS, "send_notifications": True, "channels": [channel.pk]}, actor=None)
        with CeleryWorker("chat-w1", ALERTSITE_WEBHOOK_ALLOW_PRIVATE="true") as celery:
            response = ingest_client.post(
                "/api/v1/events", data=orjson.dumps([make_event(id="chat-e2e-1")]), content_type="application/json"
            )
            assert response.status_code == 202, response.content
            alert = wait_for(lambda: Alert.objects.first(), timeout=60, describe=celery.output)
            request = slack.wait_for(1, timeout=60)[0]
            wait_for(
                lambda: Delivery.objects.filter(status=DeliveryStatus.SENT).exists(),
                timeout=30,
                describe=celery.output,
            )

    assert slack.invalid == []
    body = request.json()
    blocks = body["attachments"][0]["blocks"]
    assert blocks[0]["text"]["text"] == f"New alert · {alert.reference}"
    assert body["attachments"][0]["color"] == "#d1242f"
    buttons = [element for block in blocks if block["type"] == "actions" for element in block["elements"]]
    assert [button["url"] for button in buttons] == [alert_url(alert.pk)]
    delivery = Delivery.objects.get()
    assert (delivery.response_code, delivery.response_snippet, delivery.attempts) == (200, "ok", 1)

"""A maintenance window on the real parts: a Celery worker on Redis and PostgreSQL, a real webhook receiver."""

from __future__ import annotations

import time
from datetime import timedelta

import orjson
import pytest
from django.utils import timezone

from alerts.models import Alert, MaintenanceWindow
from channels.models import Delivery, DeliveryStatus
from channels.services import channel_create
from rules.services import rule_create
from tests.factories import make_event
from tests.receivers import WebhookReceiver
from tests.workers import CeleryWorker, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_the_webhook_receives_the_alert_outside_the_window_and_nothing_for_the_one_inside(ingest_client, broker_queue):
    now = timezone.now()
    with WebhookReceiver() as receiver:
        hook = channel_create(data={"kind": "webhook", "name": "Hook", "config": {"url": receiver.url}}, actor=None)
        rule_create(
            data={
                "name": "Failed logins",
                "priority": "high",
                "conditions": [{"event_type": "user_login_attempt"}],
                "send_notifications": True,
                "channels": [hook.pk],
            },
            actor=None,
        )
        window = MaintenanceWindow.objects.create(
            name="Patching", starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=1)
        )
        inside = make_event(id="inside-window", timestamp=now.isoformat())
        outside = make_event(id="outside-window", timestamp=(now - timedelta(hours=3)).isoformat())
        with CeleryWorker("mw1", ALERTSITE_WEBHOOK_ALLOW_PRIVATE="true") as celery:
            response = ingest_client.post(
                "/api/v1/events", data=orjson.dumps([inside, outside]), content_type="application/json"
            )
            assert response.status_code == 202
            wait_for(lambda: Alert.objects.count() == 2, timeout=60, describe=celery.output)
            request = receiver.wait_for(1, timeout=60)[0]
            wait_for(
                lambda: set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SENT},
                timeout=30,
                describe=celery.output,
            )
            time.sleep(1)  # a stray second delivery would have arrived by now
    assert len(receiver.requests) == 1
    assert request.json()["event"]["id"] == "outside-window"
    suppressed = Alert.objects.get(event__event_id="inside-window")
    assert suppressed.suppressed_by_id == window.pk
    assert Alert.objects.get(event__event_id="outside-window").suppressed_by_id is None
    window.refresh_from_db()
    assert (window.muted_alerts, window.muted_notifications) == (1, 1)

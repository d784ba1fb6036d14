"""Reminders through a real Celery worker on Redis and PostgreSQL, to a real HTTP receiver.

Time travels by moving the alerts' reminder clocks back; the job runs as the beat would queue it.
"""

from __future__ import annotations

import time
from datetime import timedelta

import orjson
import pytest
from django.utils import timezone

from alerts.models import Alert
from alerts.services import alert_acknowledge
from alerts.tasks import reminders_task
from channels.services import channel_create
from rules.services import rule_create
from tests.channels.conftest import FAILED_LOGINS
from tests.factories import make_event
from tests.receivers import WebhookReceiver
from tests.workers import CeleryWorker, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def make_due() -> None:
    Alert.objects.filter(next_reminder_at__isnull=False).update(next_reminder_at=timezone.now() - timedelta(seconds=1))


def test_exactly_the_expected_reminders_arrive_and_none_after_acknowledgement(ingest_client, broker_queue):
    with WebhookReceiver() as receiver:
        channel = channel_create(data={"kind": "webhook", "name": "SOC", "config": {"url": receiver.url}}, actor=None)
        rule_create(
            data={
                **FAILED_LOGINS,
                "send_notifications": True,
                "channels": [channel.pk],
                "remind_every_minutes": 1,
                "remind_max": 2,
            },
            actor=None,
        )
        with CeleryWorker("remind-w1", ALERTSITE_WEBHOOK_ALLOW_PRIVATE="true") as celery:
            events = [make_event(id="remind-e2e-1"), make_event(id="remind-e2e-2")]
            response = ingest_client.post("/api/v1/events", data=orjson.dumps(events), content_type="application/json")
            assert response.status_code == 202, response.content
            wait_for(lambda: Alert.objects.count() == 2, timeout=60, describe=celery.output)
            first, second = Alert.objects.order_by("pk")
            receiver.wait_for(2, timeout=60)

            make_due()
            reminders_task.delay()
            receiver.wait_for(4, timeout=60)

            alert_acknowledge(alert=first, actor=None)
            make_due()
            reminders_task.delay()
            receiver.wait_for(5, timeout=60)

            make_due()  # the second alert has had its two reminders; the first is acknowledged
            reminders_task.delay()
            time.sleep(3)

    received = [(request.header("X-Alertsite-Event"), request.json()["alert"]["id"]) for request in receiver.requests]
    assert sorted(received) == sorted(
        [
            ("alert.created", first.pk),
            ("alert.created", second.pk),
            ("alert.reminder", first.pk),
            ("alert.reminder", second.pk),
            ("alert.reminder", second.pk),
        ]
    )

"""An alert raised, acknowledged and resolved, with a real Celery worker: PagerDuty sees each step once."""

from __future__ import annotations

import time

import orjson
import pytest

from alerts.models import Alert
from channels.models import Delivery, DeliveryStatus
from channels.services import channel_create
from rules.services import rule_create
from tests.channels.conftest import FAILED_LOGINS
from tests.factories import make_event
from tests.pagerduty_standin import PagerDutyStandIn
from tests.workers import CeleryWorker, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

ROUTING_KEY = "R0UT1NGKEY0123456789abcdefABCDEF"


def test_trigger_acknowledge_and_resolve_reach_pagerduty_once_each(ingest_client, auth_client, broker_queue):
    responder = auth_client("responder")
    with PagerDutyStandIn() as pagerduty:
        channel = channel_create(
            data={
                "kind": "pagerduty",
                "name": "On-call",
                "config": {"routing_key": ROUTING_KEY, "events_url": pagerduty.url},
            },
            actor=None,
        )
        # notify_on_acknowledge / notify_on_resolve stay off: PagerDuty follows the alert anyway.
        rule_create(data={**FAILED_LOGINS, "send_notifications": True, "channels": [channel.pk]}, actor=None)
        with CeleryWorker("w1", ALERTSITE_WEBHOOK_ALLOW_PRIVATE="true") as celery:
            response = ingest_client.post(
                "/api/v1/events", data=orjson.dumps([make_event(id="pd-e2e")]), content_type="application/json"
            )
            assert response.status_code == 202, response.content
            alert = wait_for(lambda: Alert.objects.first(), timeout=60, describe=celery.output)
            pagerduty.wait_for_events(1, timeout=60)

            assert (
                responder.post(f"/api/v1/alerts/{alert.pk}/acknowledge", {"note": "on it"}, format="json").status_code
                == 200
            )
            pagerduty.wait_for_events(2, timeout=60)
            assert responder.post(f"/api/v1/alerts/{alert.pk}/resolve", {}, format="json").status_code == 200
            pagerduty.wait_for_events(3, timeout=60)
            wait_for(
                lambda: set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SENT},
                timeout=30,
                describe=celery.output,
            )
            time.sleep(1)  # anything sent twice would arrive now

    assert [(e["event_action"], e["dedup_key"]) for e in pagerduty.events] == [
        ("trigger", alert.reference),
        ("acknowledge", alert.reference),
        ("resolve", alert.reference),
    ]
    assert len(pagerduty.requests) == 3

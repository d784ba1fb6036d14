"""From an ingested event to a signed webhook and an e-mail, with real Celery workers on Redis and PostgreSQL."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

import orjson
import pytest
from django.utils import timezone

from alerts.models import Alert
from channels.models import Delivery, DeliveryStatus
from channels.services import channel_create, deliveries_requeue
from channels.tasks import deliver_task
from rules.services import rule_create
from tests.channels.conftest import FAILED_LOGINS, SECRET
from tests.factories import make_event
from tests.receivers import Reply, SmtpServer, WebhookReceiver
from tests.workers import CeleryWorker, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def worker(name: str, smtp: SmtpServer) -> CeleryWorker:
    return CeleryWorker(
        name,
        ALERTSITE_WEBHOOK_ALLOW_PRIVATE="true",
        ALERTSITE_DELIVERY_TIMEOUT_SECONDS="5",
        EMAIL_URL=f"smtp://127.0.0.1:{smtp.port}",
    )


def ingest(client, *events: dict) -> None:
    response = client.post("/api/v1/events", data=orjson.dumps(list(events)), content_type="application/json")
    assert response.status_code == 202, response.content


def webhook(url: str, **config) -> int:
    return channel_create(data={"kind": "webhook", "name": "Hook", "config": {"url": url, **config}}, actor=None).pk


def test_ingested_event_reaches_the_webhook_signed_and_the_mailbox(ingest_client, broker_queue):
    with WebhookReceiver() as receiver, SmtpServer() as smtp:
        hook = webhook(receiver.url, secret=SECRET)
        mail = channel_create(
            data={"kind": "email", "name": "Mail", "config": {"recipients": ["oncall@example.com"]}}, actor=None
        ).pk
        rule_create(data={**FAILED_LOGINS, "send_notifications": True, "channels": [hook, mail]}, actor=None)
        with worker("w1", smtp) as celery:
            ingest(ingest_client, make_event(id="e2e-1"))
            alert = wait_for(lambda: Alert.objects.first(), timeout=60, describe=celery.output)
            request = receiver.wait_for(1, timeout=60)[0]
            message = smtp.wait_for(1, timeout=60)[0]
            wait_for(
                lambda: set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SENT},
                timeout=30,
                describe=celery.output,
            )

    timestamp = request.header("X-Alertsite-Timestamp")
    expected = (
        "sha256=" + hmac.new(SECRET.encode(), f"{timestamp}.".encode() + request.body, hashlib.sha256).hexdigest()
    )
    assert hmac.compare_digest(request.header("X-Alertsite-Signature"), expected)
    body = request.json()
    delivery = Delivery.objects.get(channel_id=hook)
    assert request.header("X-Alertsite-Delivery") == body["delivery_id"] == str(delivery.uuid)
    assert (body["type"], body["alert"]["id"], body["alert"]["reference"]) == (
        "alert.created",
        alert.pk,
        alert.reference,
    )
    assert body["event"]["id"] == "e2e-1"
    assert message.rcpt_tos == ["oncall@example.com"]
    assert alert.reference in message.message["Subject"]
    assert message.message["X-Alertsite-Delivery"] == str(Delivery.objects.get(channel_id=mail).uuid)


def test_delivery_of_a_killed_worker_is_completed_by_the_next_with_the_same_id(ingest_client, broker_queue):
    with WebhookReceiver(Reply.slow(4)) as receiver, SmtpServer() as smtp:
        hook = webhook(receiver.url)
        rule_create(data={**FAILED_LOGINS, "send_notifications": True, "channels": [hook]}, actor=None)
        first = worker("w1", smtp).start()
        try:
            ingest(ingest_client, make_event(id="e2e-slow"))
            receiver.wait_for(1, timeout=60)  # the worker is inside the slow request now
            delivery = Delivery.objects.get()
            assert delivery.status == DeliveryStatus.SENDING
        finally:
            first.kill()  # dies mid-send, as in a crash

        delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.SENDING  # nobody will finish it
        # Make it look stuck (claimed longer ago than the send timeout allows); the sweep takes it back.
        Delivery.objects.filter(pk=delivery.pk).update(claimed_at=timezone.now() - timedelta(minutes=5))
        due = deliveries_requeue()
        assert due == [delivery.pk]
        deliver_task.delay(due)

        with worker("w2", smtp) as second:
            wait_for(
                lambda: Delivery.objects.get(pk=delivery.pk).status == DeliveryStatus.SENT,
                timeout=60,
                describe=second.output,
            )
        requests = receiver.wait_for(2)

    assert {r.header("X-Alertsite-Delivery") for r in requests} == {str(delivery.uuid)}
    assert {r.json()["delivery_id"] for r in requests} == {str(delivery.uuid)}
    delivery.refresh_from_db()
    assert (delivery.response_code, delivery.last_error) == (200, "")
    assert [a.outcome for a in delivery.attempt_log.all()] == ["sent"]


def test_a_worker_sends_the_few_deliveries_it_raised_itself_without_a_queue_hop(ingest_client, broker_queue):
    with WebhookReceiver() as receiver, SmtpServer() as smtp:
        hook = webhook(receiver.url)
        rule_create(data={**FAILED_LOGINS, "send_notifications": True, "channels": [hook]}, actor=None)
        with worker("w1", smtp) as celery:
            ingest(ingest_client, make_event(id="inline-1"))
            receiver.wait_for(1, timeout=60)
            wait_for(lambda: Delivery.objects.get().status == DeliveryStatus.SENT, timeout=30, describe=celery.output)
            log = celery.output()

    assert "evaluate_pending_task[" in log
    assert "deliver_task[" not in log  # sent by the evaluating task, not handed to another one


def test_deliveries_go_through_the_queue_when_sending_inline_is_off(ingest_client, broker_queue):
    with WebhookReceiver() as receiver, SmtpServer() as smtp:
        hook = webhook(receiver.url)
        rule_create(data={**FAILED_LOGINS, "send_notifications": True, "channels": [hook]}, actor=None)
        celery = worker("w1", smtp)
        celery.env["ALERTSITE_DELIVERY_INLINE_MAX"] = "0"
        with celery:
            ingest(ingest_client, make_event(id="queued-1"))
            receiver.wait_for(1, timeout=60)
            wait_for(lambda: Delivery.objects.get().status == DeliveryStatus.SENT, timeout=30, describe=celery.output)
            log = celery.output()

    assert "deliver_task[" in log


def test_a_channel_that_answered_429_gets_nothing_until_its_retry_time_then_everything(ingest_client, broker_queue):
    """Deliveries raised by separate tasks after the 429 wait for the channel's pause, then all go through."""
    with WebhookReceiver() as receiver, SmtpServer() as smtp:
        receiver.script(Reply.with_status(429, retry_after=4))
        hook = webhook(receiver.url)
        rule_create(
            data={**FAILED_LOGINS, "generate_alerts": False, "send_notifications": True, "channels": [hook]},
            actor=None,
        )
        celery = worker("w1", smtp)
        celery.env["ALERTSITE_DELIVERY_INLINE_MAX"] = "0"  # each delivery its own deliver task
        celery.env["ALERTSITE_DELIVERY_BACKOFF_SECONDS"] = "1"
        with celery:
            ingest(ingest_client, make_event(id="throttled-0"))
            throttled = receiver.wait_for(1, timeout=60)[0]
            for n in range(1, 6):
                ingest(ingest_client, make_event(id=f"throttled-{n}"))
            wait_for(lambda: Delivery.objects.count() == 6, timeout=30, describe=celery.output)
            wait_for(
                lambda: set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SENT},
                timeout=60,
                describe=celery.output,
            )

    later = receiver.requests[1:]
    assert len(later) == 6  # the throttled one again, and the five raised meanwhile, each once
    assert all(request.at >= throttled.at + 4 for request in later)
    assert sorted(r.header("X-Alertsite-Delivery") for r in later) == sorted(
        str(u) for u in Delivery.objects.values_list("uuid", flat=True)
    )

"""The few deliveries a worker's task sends itself are written claimed: no claim transaction after
the commit, sent once, and handed back to the queue when that send fails."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from channels import tasks as channel_tasks
from channels.models import Channel, Delivery, DeliveryStatus
from channels.notification import Notification
from channels.services import NotificationOrder, notifications_enqueue, outbox
from tests.channels.conftest import ALERT_PAYLOAD
from tests.receivers import WebhookReceiver

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def in_a_worker_task(monkeypatch: pytest.MonkeyPatch) -> list[list[int]]:
    """Sending inline fits (as in a worker's task); what goes through the queue instead is recorded."""
    queued: list[list[int]] = []
    monkeypatch.setattr(
        outbox, "inline_send_fits", lambda count: count <= 10 and time.monotonic() >= outbox._inline.paused_until
    )
    monkeypatch.setattr(outbox._inline, "paused_until", 0.0)
    monkeypatch.setattr(channel_tasks.deliver_task, "delay", lambda pks: queued.append(list(pks)))
    return queued


def order(channel: Channel, source: str) -> NotificationOrder:
    return NotificationOrder(
        notification=Notification.from_json("alert.created", ALERT_PAYLOAD), channel_ids=[channel.pk], source=source
    )


def test_rows_a_task_sends_itself_are_written_sending_and_sent_after_commit_without_a_claim(
    make_webhook, in_a_worker_task
):
    with WebhookReceiver(keep_alive=True) as hook:
        channel = make_webhook(hook.url)
        with CaptureQueriesContext(connection) as queries:
            with transaction.atomic():
                notifications_enqueue([order(channel, "alert:1"), order(channel, "alert:2")])
                assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SENDING}
        hook.wait_for(2)
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SENT}
    assert not [q for q in queries.captured_queries if "SET status = 'sending'" in q["sql"]]
    assert in_a_worker_task == []
    assert len(hook.requests) == 2


def test_a_paused_channels_row_is_written_pending_and_waits_for_the_pause(make_webhook, in_a_worker_task):
    with WebhookReceiver(keep_alive=True) as hook:
        channel = make_webhook(hook.url)
        paused_until = timezone.now() + timedelta(minutes=5)
        Channel.objects.filter(pk=channel.pk).update(paused_until=paused_until)
        with transaction.atomic():
            notifications_enqueue([order(channel, "alert:1")])
            assert Delivery.objects.get().status == DeliveryStatus.PENDING
    row = Delivery.objects.get()
    assert (row.status, row.attempts, row.next_attempt_at) == (DeliveryStatus.PENDING, 0, paused_until)
    assert hook.requests == []


def test_when_the_tasks_own_send_fails_the_claimed_rows_go_back_to_pending_and_through_the_queue(
    make_webhook, in_a_worker_task, monkeypatch
):
    def broken(*args, **kwargs):
        raise RuntimeError("sender threads gone")

    monkeypatch.setattr(channel_tasks, "deliveries_send_claimed", broken)
    channel = make_webhook("http://127.0.0.1:9/hook")
    with transaction.atomic():
        notifications_enqueue([order(channel, "alert:1")])
    row = Delivery.objects.get()
    assert (row.status, row.claimed_at, row.attempts) == (DeliveryStatus.PENDING, None, 0)
    assert in_a_worker_task == [[row.pk]]


def test_a_rolled_back_transaction_leaves_no_claim_for_the_next(make_webhook, in_a_worker_task):
    with WebhookReceiver(keep_alive=True) as hook:
        channel = make_webhook(hook.url)
        with pytest.raises(RuntimeError), transaction.atomic():
            notifications_enqueue([order(channel, "alert:1")])
            raise RuntimeError("the batch failed")
        with transaction.atomic():
            notifications_enqueue([order(channel, "alert:2")])
        hook.wait_for(1)
    assert list(Delivery.objects.values_list("source", "status")) == [("alert:2", DeliveryStatus.SENT)]
    assert len(hook.requests) == 1


def test_a_repeated_hand_over_sends_nothing_twice(make_webhook, in_a_worker_task):
    with WebhookReceiver(keep_alive=True) as hook:
        channel = make_webhook(hook.url)
        with transaction.atomic():
            notifications_enqueue([order(channel, "alert:1")])
        hook.wait_for(1)
        with transaction.atomic():
            notifications_enqueue([order(channel, "alert:1")])
    assert Delivery.objects.get().status == DeliveryStatus.SENT
    assert len(hook.requests) == 1

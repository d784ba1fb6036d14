"""A channel answering 429 or failing repeatedly waits as a whole until its retry time (api.md §11)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from channels.models import Channel, Delivery, DeliveryStatus
from channels.services import deliveries_requeue, deliveries_send
from events.models import AuditEvent
from tests.channels.conftest import enqueue
from tests.receivers import Reply

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("quick_backoff")]
URL = "/api/v1/channels"


@pytest.fixture
def quick_backoff():
    with override_settings(
        ALERTSITE_DELIVERY_BACKOFF_SECONDS=0.2,
        ALERTSITE_DELIVERY_CONCURRENCY=4,
        ALERTSITE_CHANNEL_PAUSE_AFTER_FAILURES=3,
    ):
        yield


def send_each(rows: list[Delivery]) -> None:
    """Each delivery in a batch of its own, as separate tasks and workers would send them."""
    for row in rows:
        deliveries_send([row.pk])


def test_no_delivery_reaches_a_channel_that_answered_429_before_its_retry_time(make_webhook, receiver):
    receiver.script(Reply.with_status(429, retry_after=2))
    channel = make_webhook(receiver.url)
    first, *others = [enqueue(channel) for _ in range(6)]
    deliveries_send([first.pk])
    throttled_at = receiver.requests[0].at
    send_each(others)  # other tasks holding other deliveries of the channel
    assert len(receiver.requests) == 1
    channel.refresh_from_db()
    assert channel.paused_until is not None
    assert all(
        row.next_attempt_at == channel.paused_until for row in Delivery.objects.filter(pk__in=[o.pk for o in others])
    )
    assert all(row.attempts == 0 for row in Delivery.objects.filter(pk__in=[o.pk for o in others]))

    while timezone.now() <= channel.paused_until:
        deliveries_send(deliveries_requeue())  # the sweep, eager: still nothing may go out
        time.sleep(0.2)
    deliveries_send(deliveries_requeue())
    assert len(receiver.requests) == 7
    assert all(request.at >= throttled_at + 2 for request in receiver.requests[1:])
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SENT}


def test_the_rest_of_a_batch_waits_for_the_429_too(make_webhook, receiver):
    receiver.script(Reply.with_status(429, retry_after=30))
    channel = make_webhook(receiver.url)
    run = deliveries_send([enqueue(channel).pk for _ in range(5)])
    assert len(receiver.requests) == 1
    assert run.counts == {"pending": 1, "deferred": 4}


def test_three_failures_in_a_row_pause_the_channel(make_webhook, receiver):
    receiver.script(500, 500, 500)
    channel = make_webhook(receiver.url)
    rows = [enqueue(channel) for _ in range(4)]
    send_each(rows[:2])
    channel.refresh_from_db()
    assert channel.consecutive_failures == 2 and channel.paused_until is None
    send_each(rows[2:3])
    channel.refresh_from_db()
    assert channel.consecutive_failures == 3 and channel.paused_until is not None
    send_each(rows[3:])
    assert len(receiver.requests) == 3


def test_a_permanent_failure_pauses_nothing(make_webhook, receiver):
    receiver.script(404, 404, 404, 404)
    channel = make_webhook(receiver.url)
    send_each([enqueue(channel) for _ in range(5)])
    channel.refresh_from_db()
    assert channel.paused_until is None
    assert len(receiver.requests) == 5


def test_a_success_ends_the_pause(make_webhook, receiver):
    channel = make_webhook(receiver.url)
    Channel.objects.filter(pk=channel.pk).update(paused_until=timezone.now() - timedelta(seconds=1), last_error="x")
    deliveries_send([enqueue(channel).pk])
    channel.refresh_from_db()
    assert channel.paused_until is None


def test_health_says_until_when_a_channel_is_paused(make_webhook, receiver, auth_client):
    receiver.script(Reply.with_status(429, retry_after=60))
    channel = make_webhook(receiver.url)
    deliveries_send([enqueue(channel).pk])
    health = auth_client("viewer").get(f"{URL}/{channel.pk}").json()["health"]
    assert health["paused_until"] is not None
    assert health["state"] == "paused"
    assert health["consecutive_failures"] == 1


def test_an_admin_resumes_a_paused_channel_and_its_deliveries_go_out(make_webhook, receiver, auth_client):
    receiver.script(Reply.with_status(429, retry_after=600))
    channel = make_webhook(receiver.url)
    rows = [enqueue(channel) for _ in range(3)]
    send_each(rows)
    assert len(receiver.requests) == 1
    response = auth_client("admin").post(f"{URL}/{channel.pk}/resume")
    assert response.status_code == 200
    assert response.json() == {"resumed": True, "deliveries_due": 3}
    deliveries_send(deliveries_requeue())
    assert len(receiver.requests) == 4
    channel.refresh_from_db()
    assert channel.paused_until is None
    resumed = AuditEvent.objects.get(event_type="notification_channel_update")
    assert resumed.payload["changes"][0]["field"] == "paused_until"


def test_a_viewer_may_not_resume_a_channel(make_webhook, receiver, auth_client):
    channel = make_webhook(receiver.url)
    assert auth_client("viewer").post(f"{URL}/{channel.pk}/resume").status_code == 403


def test_the_console_list_says_paused_until_and_resumes_on_the_button(make_webhook, receiver, login):
    receiver.script(Reply.with_status(429, retry_after=600))
    channel = make_webhook(receiver.url, name="Throttled hook")
    deliveries_send([enqueue(channel).pk, enqueue(channel).pk])
    console = login("admin")
    page = console.get("/settings/notification-channels/?tab=webhooks").content.decode()
    assert "Paused until" in page and "Resume now" in page
    response = console.post(f"/settings/notification-channels/{channel.pk}/resume/")
    assert response.status_code == 302
    channel.refresh_from_db()
    assert not channel.paused
    assert "Paused until" not in console.get("/settings/notification-channels/?tab=webhooks").content.decode()


def test_the_admin_health_column_says_paused_until(make_webhook, receiver, login):
    receiver.script(Reply.with_status(429, retry_after=600))
    channel = make_webhook(receiver.url)
    deliveries_send([enqueue(channel).pk])
    page = login("admin").get("/admin/channels/channel/").content.decode()
    assert "Paused until" in page


def test_an_admins_test_notification_goes_through_a_pause_and_a_success_ends_it(make_webhook, receiver, auth_client):
    receiver.script(Reply.with_status(429, retry_after=600))
    channel = make_webhook(receiver.url)
    deliveries_send([enqueue(channel).pk])
    response = auth_client("admin").post(f"{URL}/{channel.pk}/test")
    assert response.json()["delivered"] is True
    assert len(receiver.requests) == 2
    channel.refresh_from_db()
    assert not channel.paused


def test_the_admin_action_resumes_the_selected_paused_channels(make_webhook, receiver, login):
    receiver.script(Reply.with_status(429, retry_after=600))
    channel = make_webhook(receiver.url)
    deliveries_send([enqueue(channel).pk])
    response = login("admin").post(
        "/admin/channels/channel/", {"action": "resume_channels", "_selected_action": [channel.pk]}, follow=True
    )
    assert "Resumed 1 channel; 1 delivery queued." in response.content.decode()  # the throttled one
    channel.refresh_from_db()
    assert not channel.paused

"""Moves the rule does not notify about still reach PagerDuty: decided per batch, not per alert."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from channels.models import Delivery
from channels.notification import Notification
from channels.services import NotificationOrder, channel_create, notifications_enqueue
from tests.channels.conftest import ALERT_PAYLOAD, enqueue

pytestmark = pytest.mark.django_db

KEY = "R0UT1NGKEY0123456789abcdefABCDEF"


@pytest.fixture
def pagerduty_channel(db):
    config = {"routing_key": KEY, "events_url": "http://127.0.0.1:9/v2/enqueue"}
    return channel_create(data={"kind": "pagerduty", "name": "On-call", "config": config}, actor=None)


def follow_ups(count: int, channel_ids: list[int]) -> list[NotificationOrder]:
    resolved = Notification.from_json("alert.resolved", ALERT_PAYLOAD)
    return [
        NotificationOrder(
            notification=resolved,
            channel_ids=channel_ids,
            source=f"alert:{n}:1",
            followers_only=True,
            trigger_source=f"alert:{n}",
        )
        for n in range(count)
    ]


def queries(orders: list[NotificationOrder]) -> int:
    with CaptureQueriesContext(connection) as captured:
        notifications_enqueue(orders)
    return len(captured.captured_queries)


def test_follow_ups_go_only_to_followers_that_were_sent_the_trigger(pagerduty_channel, make_webhook, receiver):
    hook = make_webhook(receiver.url)
    for n in (0, 2):
        enqueue(pagerduty_channel, source=f"alert:{n}")
        enqueue(hook, source=f"alert:{n}")
    notifications_enqueue(follow_ups(3, [pagerduty_channel.pk, hook.pk]))
    assert sorted(Delivery.objects.filter(kind="alert.resolved").values_list("source", "channel_id")) == [
        ("alert:0:1", pagerduty_channel.pk),
        ("alert:2:1", pagerduty_channel.pk),
    ]


def test_the_follow_ups_of_many_alerts_cost_the_same_queries_as_of_one(pagerduty_channel):
    for n in range(40):
        enqueue(pagerduty_channel, source=f"alert:{n}")
    one = queries(follow_ups(1, [pagerduty_channel.pk]))
    Delivery.objects.filter(kind="alert.resolved").delete()
    assert queries(follow_ups(40, [pagerduty_channel.pk])) == one
    assert Delivery.objects.filter(kind="alert.resolved").count() == 40


def test_the_channel_a_move_came_from_is_left_out(pagerduty_channel):
    enqueue(pagerduty_channel, source="alert:0")
    order = follow_ups(1, [pagerduty_channel.pk])[0]
    notifications_enqueue(
        [
            NotificationOrder(
                notification=order.notification,
                channel_ids=order.channel_ids,
                source=order.source,
                followers_only=True,
                trigger_source="alert:0",
                except_channel_ids=[pagerduty_channel.pk],
            )
        ]
    )
    assert not Delivery.objects.filter(kind="alert.resolved").exists()

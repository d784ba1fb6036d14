"""The delivery outbox: rows written with their cause, claimed once, swept when stuck or due, loop-guarded."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from alerts.models import Alert
from alerts.services import alert_acknowledge, alert_reopen, alert_resolve
from channels.models import Delivery, DeliveryStatus
from channels.notification import Notification
from channels.services import deliveries_requeue, deliveries_send, delivery_send, notification_enqueue
from channels.tasks import delivery_sweep_task
from events.models import AuditEvent, PendingEvaluation
from rules.evaluation import events_evaluate
from rules.models import RuleMatch
from rules.services import rule_create
from rules.tasks import evaluation_sweep_task
from tests.channels.conftest import ALERT_PAYLOAD, FAILED_LOGINS, enqueue
from tests.factories import make_event
from tests.receivers import Reply

pytestmark = pytest.mark.django_db


# -- writing rows -----------------------------------------------------------------------------


def test_enqueue_writes_rows_only_for_enabled_channels(make_webhook, receiver):
    on = make_webhook(receiver.url)
    off = make_webhook(receiver.url, enabled=False)
    pks = notification_enqueue(
        notification=Notification.from_json("alert.created", ALERT_PAYLOAD),
        channel_ids=[on.pk, off.pk],
        source="alert:1",
        causal_depth=0,
    )
    delivery = Delivery.objects.get()
    assert pks == [delivery.pk]
    assert (delivery.channel_id, delivery.status, delivery.attempts) == (on.pk, DeliveryStatus.PENDING, 0)
    assert (
        notification_enqueue(
            notification=Notification.from_json("alert.created", ALERT_PAYLOAD), channel_ids=[off.pk], source="x"
        )
        == []
    )


def test_enqueue_sends_only_after_the_callers_commit(make_webhook, receiver, django_capture_on_commit_callbacks):
    channel = make_webhook(receiver.url)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        with transaction.atomic():
            notification_enqueue(
                notification=Notification.from_json("alert.created", ALERT_PAYLOAD),
                channel_ids=[channel.pk],
                source="a:1",
            )
            assert Delivery.objects.get().status == DeliveryStatus.PENDING
        assert receiver.requests == []  # nothing leaves the process inside the transaction
    assert len(callbacks) == 1
    callbacks[0]()
    assert len(receiver.wait_for(1)) == 1
    assert Delivery.objects.get().status == DeliveryStatus.SENT


def test_enqueue_is_rolled_back_with_the_callers_transaction(
    make_webhook, receiver, django_capture_on_commit_callbacks
):
    channel = make_webhook(receiver.url)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            notification_enqueue(
                notification=Notification.from_json("alert.created", ALERT_PAYLOAD),
                channel_ids=[channel.pk],
                source="a:1",
            )
            assert Delivery.objects.count() == 1
            raise RuntimeError("the cause failed")
    assert Delivery.objects.count() == 0
    assert callbacks == []
    assert receiver.requests == []


def test_enqueue_is_unique_per_source_channel_and_kind(make_webhook, receiver):
    channel = make_webhook(receiver.url)
    first = notification_enqueue(
        notification=Notification.from_json("alert.created", ALERT_PAYLOAD), channel_ids=[channel.pk], source="a:1"
    )
    again = notification_enqueue(
        notification=Notification.from_json("alert.created", ALERT_PAYLOAD), channel_ids=[channel.pk], source="a:1"
    )
    assert first == again
    assert Delivery.objects.count() == 1
    notification_enqueue(
        notification=Notification.from_json("alert.resolved", ALERT_PAYLOAD), channel_ids=[channel.pk], source="a:1"
    )
    notification_enqueue(
        notification=Notification.from_json("alert.created", ALERT_PAYLOAD), channel_ids=[channel.pk], source="a:2"
    )
    assert Delivery.objects.count() == 3


def test_enqueue_after_the_first_was_sent_does_not_send_again(make_webhook, receiver):
    channel = make_webhook(receiver.url)
    delivery = enqueue(channel, source="a:1")
    delivery_send(delivery_id=delivery.pk)
    assert enqueue(channel, source="a:1").pk == delivery.pk
    assert (
        notification_enqueue(
            notification=Notification.from_json("alert.created", {}), channel_ids=[channel.pk], source="a:1"
        )
        == []
    )
    assert len(receiver.requests) == 1


# -- claiming ---------------------------------------------------------------------------------


def test_a_delivery_is_claimed_and_sent_once(make_webhook, receiver):
    delivery = enqueue(make_webhook(receiver.url))
    assert delivery_send(delivery_id=delivery.pk).status == DeliveryStatus.SENT
    assert delivery_send(delivery_id=delivery.pk).status == DeliveryStatus.SENT  # answers its status, sends nothing
    receiver.wait_for(1)
    assert len(receiver.requests) == 1
    assert delivery.attempt_log.count() == 1


def test_a_delivery_another_worker_holds_is_left_alone(make_webhook, receiver):
    delivery = enqueue(make_webhook(receiver.url))
    Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.SENDING, claimed_at=timezone.now())
    assert delivery_send(delivery_id=delivery.pk).status == DeliveryStatus.SENDING
    assert receiver.requests == []
    assert delivery_send(delivery_id=10**9).status == "missing"


def test_after_a_channel_fails_its_other_deliveries_in_the_pass_wait_for_its_retry(make_webhook, receiver):
    from tests.receivers import WebhookReceiver

    with WebhookReceiver(default=503) as dead:
        failing = make_webhook(dead.url)
        first, second, third = (enqueue(failing) for _ in range(3))
        healthy = enqueue(make_webhook(receiver.url))
        run = deliveries_send([first.pk, second.pk, healthy.pk, third.pk])
        assert len(dead.requests) == 1  # one attempt, not three timeouts in a row
    assert run.counts == {DeliveryStatus.PENDING: 1, "deferred": 2, DeliveryStatus.SENT: 1}
    retry_at = Delivery.objects.get(pk=first.pk).next_attempt_at
    for deferred in (second, third):
        deferred.refresh_from_db()
        assert (deferred.status, deferred.attempts, deferred.next_attempt_at) == ("pending", 0, retry_at)
    assert run.retries == {retry_at: [first.pk, second.pk, third.pk]}


def test_a_deferral_never_brings_a_later_retry_forward(make_webhook, receiver):
    from datetime import timedelta

    from tests.receivers import WebhookReceiver

    with WebhookReceiver(default=503) as dead:
        failing = make_webhook(dead.url)
        first, later = enqueue(failing), enqueue(failing)
        far = timezone.now() + timedelta(hours=2)
        Delivery.objects.filter(pk=later.pk).update(next_attempt_at=far)
        deliveries_send([first.pk, later.pk])
    later.refresh_from_db()
    assert later.next_attempt_at == far


# -- the sweep --------------------------------------------------------------------------------


def test_requeue_resets_stuck_rows_and_returns_due_ones(make_webhook, receiver):
    channel = make_webhook(receiver.url)
    now = timezone.now()
    stuck_for = timedelta(seconds=settings.ALERTSITE_DELIVERY_TIMEOUT_SECONDS * 2 + 6)
    rows = {
        name: enqueue(channel, source=name) for name in ("stuck", "busy", "due", "later", "fresh", "orphan", "sent")
    }

    def update(name: str, **fields) -> None:
        Delivery.objects.filter(pk=rows[name].pk).update(**fields)

    update("stuck", status=DeliveryStatus.SENDING, claimed_at=now - stuck_for)
    update("busy", status=DeliveryStatus.SENDING, claimed_at=now - timedelta(seconds=1))
    update("due", attempts=1, next_attempt_at=now - timedelta(seconds=1))
    update("later", attempts=1, next_attempt_at=now + timedelta(minutes=5))
    update("orphan", created_at=now - timedelta(minutes=1))  # its task never ran (broker down at commit)
    update("sent", status=DeliveryStatus.SENT, created_at=now - timedelta(minutes=1))

    due = deliveries_requeue(now=now)
    assert sorted(due) == sorted(rows[name].pk for name in ("stuck", "due", "orphan"))
    statuses = dict(Delivery.objects.values_list("source", "status"))
    assert statuses["stuck"] == DeliveryStatus.PENDING
    assert statuses["busy"] == DeliveryStatus.SENDING


def test_sweep_task_sends_what_is_due_with_the_original_delivery_ids(make_webhook, receiver):
    channel = make_webhook(receiver.url)
    stuck = enqueue(channel, source="stuck")
    later = enqueue(channel, source="later")
    Delivery.objects.filter(pk=stuck.pk).update(
        status=DeliveryStatus.SENDING, claimed_at=timezone.now() - timedelta(minutes=5)
    )
    Delivery.objects.filter(pk=later.pk).update(next_attempt_at=timezone.now() + timedelta(minutes=5))
    assert delivery_sweep_task.apply().get() == 1
    request = receiver.wait_for(1)[0]
    assert request.header("X-Alertsite-Delivery") == str(stuck.uuid)
    assert Delivery.objects.get(pk=stuck.pk).status == DeliveryStatus.SENT
    assert Delivery.objects.get(pk=later.pk).status == DeliveryStatus.PENDING


# -- what the alert pipeline enqueues -----------------------------------------------------------


def test_acknowledgement_and_resolution_notify_only_when_the_rule_asks(
    make_webhook, receiver, ingest, django_capture_on_commit_callbacks
):
    channel = make_webhook(receiver.url)
    rule_create(
        data={**FAILED_LOGINS, "send_notifications": True, "channels": [channel.pk], "notify_on_acknowledge": True},
        actor=None,
    )
    ingest(make_event(id="one"))
    alert = Alert.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        alert_acknowledge(alert=alert, actor=None)
    with django_capture_on_commit_callbacks(execute=True):
        alert_resolve(alert=alert, actor=None)
    kinds = [r.header("X-Alertsite-Event") for r in receiver.wait_for(2)]
    assert kinds == ["alert.created", "alert.acknowledged"]
    assert receiver.requests[1].json()["alert"]["status"] == "acknowledged"
    assert sorted(Delivery.objects.values_list("kind", flat=True)) == ["alert.acknowledged", "alert.created"]


def test_resolution_notifies_each_time_when_the_rule_asks(
    make_webhook, receiver, ingest, django_capture_on_commit_callbacks
):
    channel = make_webhook(receiver.url)
    rule_create(
        data={**FAILED_LOGINS, "send_notifications": True, "channels": [channel.pk], "notify_on_resolve": True},
        actor=None,
    )
    ingest(make_event(id="one"))
    alert = Alert.objects.get()
    for move in (alert_acknowledge, alert_resolve, alert_reopen, alert_resolve):
        with django_capture_on_commit_callbacks(execute=True):
            move(alert=alert, actor=None)
    kinds = [r.header("X-Alertsite-Event") for r in receiver.wait_for(3)]
    assert kinds == ["alert.created", "alert.resolved", "alert.resolved"]
    assert len({r.header("X-Alertsite-Delivery") for r in receiver.requests}) == 3
    assert [r.json()["alert"]["status"] for r in receiver.requests[1:]] == ["resolved", "resolved"]


def test_rule_without_notifications_enqueues_nothing(
    make_webhook, receiver, ingest, django_capture_on_commit_callbacks
):
    channel = make_webhook(receiver.url)
    rule_create(data={**FAILED_LOGINS, "channels": [channel.pk]}, actor=None)
    ingest(make_event(id="one"))
    with django_capture_on_commit_callbacks(execute=True):
        alert_acknowledge(alert=Alert.objects.get(), actor=None)
    assert Delivery.objects.count() == 0
    assert receiver.requests == []


def test_notify_only_rule_sends_event_matched_with_the_rule_and_the_event(make_webhook, receiver, ingest):
    channel = make_webhook(receiver.url)
    rule = rule_create(
        data={
            **FAILED_LOGINS,
            "name": "Notify only",
            "generate_alerts": False,
            "send_notifications": True,
            "channels": [channel.pk],
        },
        actor=None,
    )
    event = make_event(id="matched-1")
    ingest(event)
    request = receiver.wait_for(1)[0]
    body = request.json()
    assert request.header("X-Alertsite-Event") == "event.matched"
    assert body["type"] == "event.matched"
    assert body["rule"] == {"id": rule.pk, "name": "Notify only"}
    assert body["event"] == event
    assert "alert" not in body
    assert not Alert.objects.exists()
    delivery = Delivery.objects.get()
    assert (delivery.rule_id, delivery.alert_id, delivery.status) == (rule.pk, None, DeliveryStatus.SENT)


def test_delivery_failures_watched_by_a_rule_cannot_notify_a_broken_channel_forever(make_webhook, receiver, ingest):
    receiver.default = Reply.with_status(404)
    broken = make_webhook(receiver.url, name="Broken")
    rule_create(data={**FAILED_LOGINS, "send_notifications": True, "channels": [broken.pk]}, actor=None)
    watcher = rule_create(
        data={
            "name": "Delivery failures",
            "priority": "medium",
            "conditions": [
                {
                    "event_type": "notification_delivery_failed",
                    "filters": [{"key": "service", "operator": "eq", "value": "alerts"}],
                }
            ],
            "send_notifications": True,
            "channels": [broken.pk],
        },
        actor=None,
    )
    ingest(make_event(id="outside"))

    failures = list(AuditEvent.objects.filter(event_type="notification_delivery_failed").order_by("pk"))
    deliveries = list(Delivery.objects.order_by("pk"))
    # outside event -> alert -> delivery fails (depth 1) -> watcher alert -> delivery fails (depth 2): stop.
    assert [d.causal_depth for d in deliveries] == [0, 1]
    assert all(d.status == DeliveryStatus.FAILED for d in deliveries)
    assert [f.causal_depth for f in failures] == [1, 2]
    deep = failures[-1]
    assert not PendingEvaluation.objects.filter(event=deep).exists()  # stored as needing no evaluation
    assert not RuleMatch.objects.filter(event=deep).exists()
    assert Alert.objects.filter(rule=watcher).count() == 1

    events_evaluate(event_pks=[f.pk for f in failures])
    evaluation_sweep_task.apply()
    assert Delivery.objects.count() == 2
    assert len(receiver.requests) == 2

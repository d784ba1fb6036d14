"""Snoozes on the real parts: a Celery worker on Redis and PostgreSQL, and the embedded scheduler."""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest
from django.utils import timezone

from alerts.models import Alert
from alerts.services import alert_snooze
from alertsite.runtime.scheduler import EmbeddedScheduler
from channels.models import Channel, Delivery
from events.models import AuditEvent
from rules.models import Rule
from rules.services import rule_create
from rules.snooze import rule_snooze
from rules.tasks import rule_snoozes_expire_task
from tests.factories import make_event
from tests.workers import CeleryWorker, wait_for

worker_db = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def logins_rule(name: str, channel: Channel, event_type: str) -> Rule:
    return rule_create(
        data={
            "name": name,
            "priority": "high",
            "conditions": [{"event_type": event_type}],
            "send_notifications": True,
            "channels": [channel.pk],
        },
        actor=None,
    )


@pytest.mark.worker
@worker_db
def test_on_a_real_worker_a_snoozed_rule_raises_alerts_without_deliveries_until_its_snooze_ends(
    ingest_client, broker_queue
):
    channel = Channel.objects.create(kind="email", name="Ops mail", config={"recipients": ["ops@example.com"]})
    snoozed = logins_rule("Snoozed logins", channel, "user_login_attempt")
    awake = logins_rule("Awake admin logins", channel, "admin_login_attempt")
    rule_snooze(rule=snoozed, body={"minutes": 60}, actor=None)
    events = [
        make_event(id="w-login-1"),
        make_event(id="w-login-2"),
        make_event(id="w-reset", event_type="admin_login_attempt"),
    ]
    response = ingest_client.post("/api/v1/events", data=orjson.dumps(events), content_type="application/json")
    assert response.status_code == 202
    with CeleryWorker() as worker:
        wait_for(lambda: Alert.objects.count() == 3, timeout=60, describe=worker.output)
        wait_for(lambda: Delivery.objects.exists(), timeout=60, describe=worker.output)
        assert Alert.objects.filter(rule=snoozed).count() == 2
        assert Delivery.objects.count() == 1
        assert Delivery.objects.get().alert.rule_id == awake.pk

        Rule.objects.filter(pk=snoozed.pk).update(snoozed_until=timezone.now() - timedelta(seconds=1))
        rule_snoozes_expire_task.delay()
        wait_for(lambda: Rule.objects.get(pk=snoozed.pk).snoozed_until is None, timeout=60, describe=worker.output)
    ended = AuditEvent.objects.filter(event_type="alert_rule_update").order_by("-pk").first()
    assert ended is not None and ended.payload["initiated_by"]["type"] == "system"


@worker_db
def test_the_embedded_scheduler_runs_both_expiry_jobs(ingest):
    rule = rule_create(
        data={"name": "Quiet", "priority": "low", "conditions": [{"event_type": "user_login_attempt"}]}, actor=None
    )
    rule_snooze(rule=rule, body={"minutes": 60}, actor=None)
    ingest(make_event(id="sched-1"))
    alert = Alert.objects.get()
    alert_snooze(alert=alert, body={"minutes": 60}, actor=None)
    past = timezone.now() - timedelta(hours=1)
    Rule.objects.filter(pk=rule.pk).update(snoozed_until=past)
    Alert.objects.filter(pk=alert.pk).update(snoozed_until=past)
    scheduler = EmbeddedScheduler()
    scheduler.last_run.update({"rule-snooze-expiry": past, "alert-snooze-expiry": past})

    assert {"rule-snooze-expiry", "alert-snooze-expiry"} <= set(scheduler.run_due())
    assert Rule.objects.get(pk=rule.pk).snoozed_until is None
    assert Alert.objects.get(pk=alert.pk).snoozed_until is None

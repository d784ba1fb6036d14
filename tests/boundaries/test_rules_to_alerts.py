"""rules hands alerts a typed policy with each match; alerts keeps what it needs and never asks rules again."""

from __future__ import annotations

import pytest

from alerts.models import Alert
from alerts.policy import AlertPolicy, NewMatch, Threshold
from alerts.services import alert_acknowledge, alert_reopen, alert_resolve, matches_handle
from channels.models import Delivery
from rules.alerting import RuleMatchHistory, alert_policies
from rules.models import Rule
from rules.services import rule_create, rule_delete, rule_update
from tests.channels.conftest import FAILED_LOGINS
from tests.factories import make_event

pytestmark = pytest.mark.django_db

NOTIFY_ACK = {"send_notifications": True, "notify_on_acknowledge": True, "notify_on_resolve": True}


def test_policy_is_frozen_and_says_whether_it_groups():
    plain = AlertPolicy(rule_id=1, rule_name="r", priority="low", generate_alerts=True, send_notifications=False)
    assert not plain.grouped
    with pytest.raises(AttributeError):
        plain.rule_name = "other"  # type: ignore[misc]
    threshold = AlertPolicy(
        rule_id=1,
        rule_name="r",
        priority="low",
        generate_alerts=True,
        send_notifications=False,
        threshold=Threshold(count=3, window_minutes=5),
    )
    assert threshold.grouped


def test_notify_flags_need_alerts_and_notifications_both():
    policy = AlertPolicy(
        rule_id=1, rule_name="r", priority="low", generate_alerts=True, send_notifications=False, notify_on_resolve=True
    )
    assert not policy.notifies_resolve


def test_policies_carry_the_rules_channels_and_threshold(make_webhook, receiver):
    hook = make_webhook(receiver.url)
    rule = rule_create(
        data={**FAILED_LOGINS, **NOTIFY_ACK, "channels": [hook.pk], "threshold": {"count": 3, "window_minutes": 10}},
        actor=None,
    )
    policy = alert_policies({rule.pk})[rule.pk]
    assert policy.channel_ids == (hook.pk,)
    assert policy.threshold == Threshold(count=3, window_minutes=10)
    assert (policy.notifies_acknowledge, policy.notifies_resolve) == (True, True)


def test_alert_stores_its_rules_channels_and_notify_flags(ingest, make_webhook, receiver):
    hook = make_webhook(receiver.url)
    rule_create(data={**FAILED_LOGINS, **NOTIFY_ACK, "channels": [hook.pk]}, actor=None)
    ingest(make_event(id="e1"))
    alert = Alert.objects.get()
    assert (alert.notify_channel_ids, alert.notify_on_acknowledge, alert.notify_on_resolve) == ([hook.pk], True, True)
    assert not alert.grouped


def test_a_rules_new_channels_reach_its_open_alerts(ingest, make_webhook, receiver):
    first, second = make_webhook(receiver.url), make_webhook(receiver.url)
    rule = rule_create(data={**FAILED_LOGINS, **NOTIFY_ACK, "channels": [first.pk]}, actor=None)
    ingest(make_event(id="e1"))
    rule_update(rule=rule, data={"channels": [second.pk]}, actor=None)
    alert_acknowledge(alert=Alert.objects.get(), actor=None)
    assert list(Delivery.objects.filter(kind="alert.acknowledged").values_list("channel_id", flat=True)) == [second.pk]


def test_turning_acknowledgement_notices_off_reaches_open_alerts(ingest, make_webhook, receiver):
    hook = make_webhook(receiver.url)
    rule = rule_create(data={**FAILED_LOGINS, **NOTIFY_ACK, "channels": [hook.pk]}, actor=None)
    ingest(make_event(id="e1"))
    rule_update(rule=rule, data={"notify_on_acknowledge": False}, actor=None)
    alert_acknowledge(alert=Alert.objects.get(), actor=None)
    assert not Delivery.objects.filter(kind="alert.acknowledged").exists()


def test_alert_of_a_deleted_rule_moves_without_notifying(ingest, make_webhook, receiver):
    hook = make_webhook(receiver.url)
    rule = rule_create(data={**FAILED_LOGINS, **NOTIFY_ACK, "channels": [hook.pk]}, actor=None)
    ingest(make_event(id="e1"))
    rule_delete(rule=rule, actor=None)
    alert_resolve(alert=Alert.objects.get(), actor=None)
    assert not Delivery.objects.filter(kind="alert.resolved").exists()


def test_reopen_checks_the_group_from_the_alert_not_the_rule(ingest):
    grouped = {**FAILED_LOGINS, "group_by": ["initiated_by.email"], "group_window_minutes": 60}
    rule_create(data=grouped, actor=None)
    ingest(make_event(id="e1"))
    alert = Alert.objects.get()
    assert alert.grouped
    alert_resolve(alert=alert, actor=None)
    alert_reopen(alert=alert, actor=None)
    alert.refresh_from_db()
    assert alert.collecting


def test_matches_handle_needs_no_rule_row(make_webhook, receiver, ingest):
    """Everything alerts needs comes with the hand-over: a policy for a rule id is enough."""
    rule = rule_create(data={**FAILED_LOGINS, "enabled": False}, actor=None)
    ingest(make_event(id="e1"))
    from events.models import AuditEvent

    event = AuditEvent.objects.get(event_id="e1")
    policy = AlertPolicy(
        rule_id=rule.pk, rule_name="Handed over", priority="high", generate_alerts=True, send_notifications=False
    )
    match = NewMatch(match_id=1, rule_id=rule.pk, event_id=event.pk, event_timestamp=event.timestamp, group_key="")
    Rule.objects.filter(pk=rule.pk).update(name="Renamed since")
    opened = matches_handle(matches=[match], policies={rule.pk: policy}, history=RuleMatchHistory())
    assert opened == {rule.pk: 1}
    assert Alert.objects.get().rule_name == "Handed over"

"""PagerDuty channels against a local Events API v2 stand-in: settings, trigger/acknowledge/resolve, answers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from alerts.models import Alert
from alerts.services import alert_acknowledge, alert_resolve
from alertsite.crypto import MASK, secret_seal
from channels.models import Channel, Delivery, DeliveryStatus
from channels.services import (
    ChannelValidationError,
    channel_create,
    channel_public,
    channel_test,
    channel_update,
    delivery_send,
)
from channels.transports.pagerduty import severity_for
from rules.services import rule_create
from tests.channels.conftest import ALERT_PAYLOAD, FAILED_LOGINS, enqueue, stored_config_text
from tests.factories import make_event
from tests.pagerduty_standin import PagerDutyStandIn
from tests.receivers import Reply

pytestmark = pytest.mark.django_db

ROUTING_KEY = "R0UT1NGKEY0123456789abcdefABCDEF"  # 32 characters, as PagerDuty's integration keys
OTHER_KEY = "0THERKEY0123456789abcdefABCDEF01"


@pytest.fixture
def pagerduty() -> Iterator[PagerDutyStandIn]:
    with PagerDutyStandIn() as standin:
        yield standin


@pytest.fixture
def make_pagerduty(db: None, pagerduty: PagerDutyStandIn) -> Callable[..., Channel]:
    def make(*, name: str = "On-call", **config: object) -> Channel:
        config = {"routing_key": ROUTING_KEY, "events_url": pagerduty.url, **config}
        return channel_create(data={"kind": "pagerduty", "name": name, "config": config}, actor=None)

    return make


def errors_of(data: dict, previous: Channel | None = None) -> dict[str, str]:
    with pytest.raises(ChannelValidationError) as caught:
        if previous is None:
            channel_create(data={"kind": "pagerduty", "name": "PD", **data}, actor=None)
        else:
            channel_update(channel=previous, data=data, actor=None)
    return caught.value.errors


# -- settings ----------------------------------------------------------------------------------


def test_routing_key_is_required(db):
    assert errors_of({"config": {"routing_key": ""}})["config.routing_key"].startswith("This field is required")
    assert "config.routing_key" in errors_of({"config": {}})


def test_routing_key_and_webhook_secret_are_write_only_and_sealed(make_pagerduty, pagerduty):
    channel = make_pagerduty(webhook_secret="pd-signing-secret")
    assert channel_public(channel) == {
        "routing_key": MASK,
        "events_url": pagerduty.url,
        "webhook_secret": MASK,
    }
    stored = stored_config_text(channel.pk)
    assert ROUTING_KEY not in stored and "pd-signing-secret" not in stored


@pytest.mark.parametrize("sent_back", [MASK, ""])
def test_write_only_values_sent_back_masked_or_empty_are_kept(make_pagerduty, pagerduty, sent_back):
    channel = make_pagerduty(webhook_secret="pd-signing-secret")
    before = dict(channel.config)
    config = {"routing_key": sent_back, "events_url": pagerduty.url, "webhook_secret": sent_back}
    channel = channel_update(channel=channel, data={"config": config}, actor=None)
    assert (channel.config["routing_key"], channel.config["webhook_secret"]) == (
        before["routing_key"],
        before["webhook_secret"],
    )


def test_events_url_defaults_to_pagerduty(db):
    channel = channel_create(
        data={"kind": "pagerduty", "name": "PD", "config": {"routing_key": ROUTING_KEY}}, actor=None
    )
    assert channel.config["events_url"] == "https://events.pagerduty.com/v2/enqueue"


def test_events_url_must_be_https():
    errors = errors_of({"config": {"routing_key": ROUTING_KEY, "events_url": "http://events.example.com/v2/enqueue"}})
    assert errors["config.events_url"].startswith("Must be an https URL")


def test_plain_http_to_loopback_only_while_private_destinations_are_allowed(db, pagerduty):
    with override_settings(ALERTSITE_WEBHOOK_ALLOW_PRIVATE=False):
        errors = errors_of({"config": {"routing_key": ROUTING_KEY, "events_url": pagerduty.url}})
    assert errors["config.events_url"].startswith("Must be an https URL")


def test_private_destinations_are_refused(db, public_dns):
    with override_settings(ALERTSITE_WEBHOOK_ALLOW_PRIVATE=False):
        errors = errors_of({"config": {"routing_key": ROUTING_KEY, "events_url": "https://internal.example.com/v2"}})
    assert "private" in errors["config.events_url"]


def test_moving_the_events_url_needs_the_routing_key_typed_again(make_pagerduty, public_dns):
    channel = make_pagerduty()
    config = {"routing_key": MASK, "events_url": "https://pd-proxy.example.com/v2/enqueue"}
    assert errors_of({"config": config}, previous=channel)["config.routing_key"] == (
        "The Events API URL changed: type the routing key again."
    )


def test_unknown_config_fields_are_named(db):
    errors = errors_of({"config": {"routing_key": ROUTING_KEY, "service_key": "x"}})
    assert errors["config.service_key"] == "Unknown field."


def test_the_api_creates_a_pagerduty_channel_and_shows_its_secrets_masked(auth_client, pagerduty):
    admin_client = auth_client("admin")
    response = admin_client.post(
        "/api/v1/channels",
        {"kind": "pagerduty", "name": "PD", "config": {"routing_key": ROUTING_KEY, "events_url": pagerduty.url}},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["config"] == {"routing_key": MASK, "events_url": pagerduty.url, "webhook_secret": None}
    bad = admin_client.post("/api/v1/channels", {"kind": "pagerduty", "name": "PD2", "config": {}}, format="json")
    assert bad.status_code == 400
    assert "config.routing_key" in bad.content.decode()


# -- what PagerDuty receives -------------------------------------------------------------------


def test_alert_created_triggers_with_the_reference_as_dedup_key(make_pagerduty, pagerduty, ingest):
    channel = make_pagerduty()
    rule_create(data={**FAILED_LOGINS, "send_notifications": True, "channels": [channel.pk]}, actor=None)
    event = make_event(id="login-1")
    ingest(event)

    sent = pagerduty.wait_for_events(1)[0]
    alert = Alert.objects.get()
    url = f"{settings.ALERTSITE_BASE_URL.rstrip('/')}/insights/alerts/{alert.pk}/"
    assert sent["routing_key"] == ROUTING_KEY
    assert (sent["event_action"], sent["dedup_key"]) == ("trigger", alert.reference)
    assert sent["payload"] == {
        "summary": f"[{alert.reference}] {alert.title}",
        "source": "bob.smith@example.com",
        "severity": "critical",
        "timestamp": "2025-03-02T09:16:41.077Z",
        "custom_details": event,
        "component": "directory",
        "group": "Failed admin logins",
        "class": "user_login_attempt",
    }
    assert sent["links"] == [{"href": url, "text": f"{alert.reference} in alertsite"}]
    assert (sent["client"], sent["client_url"]) == ("alertsite", url)
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.response_code) == (DeliveryStatus.SENT, 202)
    request = pagerduty.requests[0]
    assert (request.header("X-Alertsite-Event"), request.header("X-Alertsite-Delivery")) == (
        "alert.created",
        str(delivery.uuid),
    )
    assert alert.reference in delivery.response_snippet  # PagerDuty's answer names the dedup_key


@pytest.mark.parametrize(
    ("priority", "severity"), [("high", "critical"), ("medium", "error"), ("low", "warning"), ("", "info")]
)
def test_severity_follows_the_priority(priority, severity):
    assert severity_for(priority) == severity


def test_a_low_priority_alert_triggers_as_a_warning(make_pagerduty, pagerduty):
    payload = {**ALERT_PAYLOAD, "alert": {**ALERT_PAYLOAD["alert"], "priority": "low"}}
    delivery = enqueue(make_pagerduty(), payload=payload)
    assert delivery_send(delivery_id=delivery.pk).status == DeliveryStatus.SENT
    assert pagerduty.events[0]["payload"]["severity"] == "warning"


@pytest.mark.parametrize(("kind", "action"), [("alert.acknowledged", "acknowledge"), ("alert.resolved", "resolve")])
def test_acknowledged_and_resolved_send_the_action_with_the_same_dedup_key(make_pagerduty, pagerduty, kind, action):
    delivery = enqueue(make_pagerduty(), kind=kind)
    assert delivery_send(delivery_id=delivery.pk).status == DeliveryStatus.SENT
    assert pagerduty.events == [{"routing_key": ROUTING_KEY, "event_action": action, "dedup_key": "ALR-000000"}]


def test_event_matched_triggers_with_rule_and_event_as_dedup_key(make_pagerduty, pagerduty, ingest):
    channel = make_pagerduty()
    rule = rule_create(
        data={**FAILED_LOGINS, "generate_alerts": False, "send_notifications": True, "channels": [channel.pk]},
        actor=None,
    )
    ingest(make_event(id="evt-9"))
    sent = pagerduty.wait_for_events(1)[0]
    assert (sent["event_action"], sent["dedup_key"]) == ("trigger", f"{rule.pk}:evt-9")
    assert (sent["payload"]["summary"], sent["payload"]["severity"]) == ("Failed admin logins", "info")
    assert "links" not in sent  # no alert to link to


def test_acknowledge_and_resolve_reach_pagerduty_with_the_rules_notify_flags_off(make_pagerduty, pagerduty, ingest):
    channel = make_pagerduty()
    rule = {**FAILED_LOGINS, "send_notifications": True, "channels": [channel.pk]}  # notify_on_* off
    rule_create(data=rule, actor=None)
    ingest(make_event(id="login-2"))
    alert = Alert.objects.get()

    alert_acknowledge(alert=alert, actor=None)
    alert_resolve(alert=alert, actor=None)
    _send_pending()

    assert [(e["event_action"], e["dedup_key"]) for e in pagerduty.wait_for_events(3)] == [
        ("trigger", alert.reference),
        ("acknowledge", alert.reference),
        ("resolve", alert.reference),
    ]


def test_with_the_notify_flags_off_other_channels_hear_nothing_of_the_moves(
    make_pagerduty, pagerduty, ingest, receiver
):
    pd = make_pagerduty()
    hook = channel_create(data={"kind": "webhook", "name": "Hook", "config": {"url": receiver.url}}, actor=None)
    rule_create(data={**FAILED_LOGINS, "send_notifications": True, "channels": [pd.pk, hook.pk]}, actor=None)
    ingest(make_event(id="login-3"))
    alert_resolve(alert=Alert.objects.get(), actor=None)
    assert sorted(Delivery.objects.values_list("channel_id", "kind")) == sorted(
        [(pd.pk, "alert.created"), (hook.pk, "alert.created"), (pd.pk, "alert.resolved")]
    )


def test_a_pagerduty_channel_never_triggered_for_the_alert_gets_no_follow_up(make_pagerduty, ingest):
    channel = make_pagerduty()
    rule_create(data={**FAILED_LOGINS, "send_notifications": False, "channels": [channel.pk]}, actor=None)
    ingest(make_event(id="login-4"))
    alert_resolve(alert=Alert.objects.get(), actor=None)
    assert not Delivery.objects.exists()


def _send_pending() -> None:
    for pk in Delivery.objects.filter(status=DeliveryStatus.PENDING).order_by("pk").values_list("pk", flat=True):
        delivery_send(delivery_id=pk)


# -- PagerDuty's answers -------------------------------------------------------------------------


def test_429_is_retried_after_retry_after(make_pagerduty, pagerduty):
    pagerduty.script(Reply.with_status(429, retry_after=120))
    delivery = enqueue(make_pagerduty())
    before = timezone.now()
    assert delivery_send(delivery_id=delivery.pk).status == DeliveryStatus.PENDING
    delivery.refresh_from_db()
    assert delivery.response_code == 429
    assert delivery.next_attempt_at >= before + timedelta(seconds=120)


def test_5xx_is_retried(make_pagerduty, pagerduty):
    pagerduty.script(503)
    delivery = enqueue(make_pagerduty())
    assert delivery_send(delivery_id=delivery.pk).status == DeliveryStatus.PENDING
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert delivery_send(delivery_id=delivery.pk).status == DeliveryStatus.SENT
    assert len(pagerduty.events) == 1


def test_400_fails_for_good_with_pagerdutys_errors(make_pagerduty, pagerduty):
    channel = make_pagerduty()  # a routing key PagerDuty does not accept (not 32 characters)
    Channel.objects.filter(pk=channel.pk).update(config={**channel.config, "routing_key": secret_seal("too-short")})
    delivery = enqueue(Channel.objects.get(pk=channel.pk))
    assert delivery_send(delivery_id=delivery.pk).status == DeliveryStatus.FAILED
    delivery.refresh_from_db()
    assert delivery.response_code == 400
    assert delivery.last_error == (
        "HTTP 400: Event object is invalid; 'routing_key' must be a 32 character integration key"
    )


def test_the_test_button_triggers_a_test_incident(make_pagerduty, pagerduty):
    delivery = channel_test(channel=make_pagerduty(), actor=None)
    assert (delivery.status, delivery.response_code) == (DeliveryStatus.SENT, 202)
    sent = pagerduty.events[0]
    assert sent["event_action"] == "trigger"
    assert sent["dedup_key"] == f"alertsite-test:{delivery.uuid}"


def test_health_records_the_last_success(make_pagerduty):
    channel = make_pagerduty()
    channel_test(channel=channel, actor=None)
    channel.refresh_from_db()
    assert channel.last_success_at is not None and channel.consecutive_failures == 0

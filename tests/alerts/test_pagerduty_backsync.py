"""PagerDuty back-sync (api.md section 11): signed v3 webhooks move the alert; everything else is refused."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import orjson
import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from alerts.models import Alert, AlertTransition, InboundWebhookSeen
from alerts.services.backsync import SEEN_KEEP
from channels.models import Channel, Delivery
from channels.services import channel_create
from channels.transports.pagerduty_signature import pagerduty_signature
from rules.services import rule_create
from tests.channels.conftest import FAILED_LOGINS
from tests.factories import make_event
from tests.receivers import WebhookReceiver

pytestmark = pytest.mark.django_db

ROUTING_KEY = "R0UT1NGKEY0123456789abcdefABCDEF"
WEBHOOK_SECRET = "pd-webhook-signing-secret"
SAMPLE = orjson.loads((Path(__file__).parents[1] / "fixtures" / "pagerduty" / "webhook-v3-incident.json").read_bytes())


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as hook:
        yield hook


@pytest.fixture
def pagerduty_channel(db: None) -> Channel:
    # The Events API URL is a loopback port nobody listens on: these tests look at the outbox rows.
    config = {
        "routing_key": ROUTING_KEY,
        "events_url": "http://127.0.0.1:9/v2/enqueue",
        "webhook_secret": WEBHOOK_SECRET,
    }
    return channel_create(data={"kind": "pagerduty", "name": "On-call", "config": config}, actor=None)


@pytest.fixture
def hook_channel(db: None, receiver: WebhookReceiver) -> Channel:
    return channel_create(data={"kind": "webhook", "name": "Hook", "config": {"url": receiver.url}}, actor=None)


@pytest.fixture
def alert(pagerduty_channel: Channel, hook_channel: Channel, ingest, monkeypatch) -> Alert:
    """An alert of a rule notifying both channels on every move (its trigger went to PagerDuty)."""
    rule = {
        **FAILED_LOGINS,
        "send_notifications": True,
        "notify_on_acknowledge": True,
        "notify_on_resolve": True,
        "channels": [pagerduty_channel.pk, hook_channel.pk],
    }
    rule_create(data=rule, actor=None)
    monkeypatch.setattr(
        "channels.services.outbox.deliveries_send_after_commit", lambda pks, **claims: None
    )  # rows only
    ingest(make_event(id="login-pd"))
    return Alert.objects.get()


def webhook(
    alert: Alert | None,
    *,
    event_type: str = "incident.acknowledged",
    event_id: str | None = None,
    occurred_at=None,
    incident_key: str | None = None,
) -> bytes:
    document = copy.deepcopy(SAMPLE)
    event = document["event"]
    event["id"] = event_id or str(uuid.uuid4())
    event["event_type"] = event_type
    event["occurred_at"] = (occurred_at or timezone.now()).isoformat().replace("+00:00", "Z")
    event["data"]["incident_key"] = incident_key if incident_key is not None else alert.reference
    return orjson.dumps(document)


@pytest.fixture
def post(api_client: APIClient, pagerduty_channel: Channel) -> Callable[..., object]:
    def send(body: bytes, *, signature: str | None = "sign", channel_id: int | None = None):
        headers = {}
        if signature == "sign":
            signature = pagerduty_signature(WEBHOOK_SECRET, body)
        if signature is not None:
            headers["HTTP_X_PAGERDUTY_SIGNATURE"] = signature
        return api_client.post(
            f"/api/v1/integrations/pagerduty/{channel_id or pagerduty_channel.pk}",
            data=body,
            content_type="application/json",
            **headers,
        )

    return send


def unchanged(alert: Alert) -> bool:
    alert.refresh_from_db()
    return alert.status == "open" and not AlertTransition.objects.filter(alert=alert).exists()


# -- accepted ----------------------------------------------------------------------------------


def test_an_incident_acknowledged_in_pagerduty_acknowledges_the_alert(alert, post):
    response = post(webhook(alert))
    assert response.status_code == 200, response.content
    assert response.json() == {
        "outcome": "moved",
        "detail": f"{alert.reference} acknowledged.",
        "alert": alert.reference,
    }
    alert.refresh_from_db()
    assert (alert.status, alert.acknowledged_by) == ("acknowledged", None)
    move = AlertTransition.objects.get(alert=alert)
    assert (move.actor, move.external_actor) == (None, "Tenex Engineer in PagerDuty")
    assert move.note == (
        "Acknowledged in PagerDuty by Tenex Engineer (incident #2 https://acme.pagerduty.com/incidents/PGR0VU2)."
    )


def test_an_incident_resolved_in_pagerduty_resolves_the_alert(alert, post):
    assert post(webhook(alert, event_type="incident.resolved")).status_code == 200
    alert.refresh_from_db()
    assert alert.status == "resolved"


def test_the_history_shows_the_pagerduty_user_in_the_api(alert, post, auth_client):
    post(webhook(alert))
    history = auth_client("viewer").get(f"/api/v1/alerts/{alert.pk}").json()["history"]
    assert [(h["actor"], h["external_actor"], h["to_status"]) for h in history] == [
        (None, "Tenex Engineer in PagerDuty", "acknowledged")
    ]


def test_several_signatures_pass_when_one_matches(alert, post):
    body = webhook(alert)
    signatures = f"v1={'0' * 64}, {pagerduty_signature(WEBHOOK_SECRET, body)}"
    assert post(body, signature=signatures).status_code == 200


def test_a_move_from_pagerduty_is_not_sent_back_but_other_channels_hear_of_it(
    alert, post, pagerduty_channel, hook_channel
):
    post(webhook(alert, event_type="incident.resolved"))
    assert sorted(Delivery.objects.filter(kind="alert.resolved").values_list("channel_id", flat=True)) == [
        hook_channel.pk
    ]
    assert not Delivery.objects.filter(channel=pagerduty_channel, kind="alert.resolved").exists()


def test_a_move_in_alertsite_is_sent_to_pagerduty(alert, pagerduty_channel):
    from alerts.services import alert_resolve

    alert_resolve(alert=alert, actor=None)
    assert Delivery.objects.filter(channel=pagerduty_channel, kind="alert.resolved").exists()


def test_pagerdutys_echo_of_our_own_move_changes_nothing(alert, post):
    """We resolve, tell PagerDuty, PagerDuty answers with incident.resolved: the loop ends there."""
    from alerts.services import alert_resolve

    alert_resolve(alert=alert, actor=None)
    response = post(webhook(alert, event_type="incident.resolved"))
    assert response.status_code == 200
    assert response.json()["outcome"] == "unchanged"
    assert AlertTransition.objects.filter(alert=alert).count() == 1
    assert Delivery.objects.filter(kind="alert.resolved").count() == 2  # ours only, to both channels


def test_other_incident_events_are_ignored(alert, post):
    response = post(webhook(alert, event_type="incident.annotated"))
    assert (response.status_code, response.json()["outcome"]) == (200, "ignored")
    assert unchanged(alert)


# -- refused, nothing changed ------------------------------------------------------------------


def test_an_unsigned_webhook_is_refused(alert, post):
    response = post(webhook(alert), signature=None)
    assert response.status_code == 401
    assert response.json() == {"detail": "X-PagerDuty-Signature is missing: PagerDuty webhooks must be signed."}
    assert unchanged(alert)


def test_a_badly_signed_webhook_is_refused(alert, post):
    body = webhook(alert)
    response = post(body, signature=pagerduty_signature("not-the-secret", body))
    assert response.status_code == 401
    assert "does not match" in response.json()["detail"]
    assert unchanged(alert)


def test_a_webhook_signed_for_another_body_is_refused(alert, post):
    signature = pagerduty_signature(WEBHOOK_SECRET, webhook(alert))
    assert post(webhook(alert, event_type="incident.resolved"), signature=signature).status_code == 401
    assert unchanged(alert)


def test_a_webhook_older_than_five_minutes_is_refused_as_a_replay(alert, post):
    response = post(webhook(alert, occurred_at=timezone.now() - timedelta(minutes=6)))
    assert response.status_code == 409
    assert "refused as a replay" in response.json()["detail"]
    assert unchanged(alert)


def test_a_webhook_whose_event_id_was_seen_is_refused_as_a_replay(alert, post):
    assert post(webhook(alert, event_id="evt-once")).status_code == 200
    from alerts.services import alert_reopen, alert_resolve

    alert_resolve(alert=alert, actor=None)
    alert_reopen(alert=alert, actor=None)
    moves = AlertTransition.objects.filter(alert=alert).count()
    response = post(webhook(alert, event_id="evt-once"))
    assert response.status_code == 409
    assert response.json() == {"detail": "event.id evt-once was already received: refused as a replay."}
    alert.refresh_from_db()
    assert alert.status == "open" and AlertTransition.objects.filter(alert=alert).count() == moves


def test_seen_event_ids_are_pruned_after_a_while(alert, post):
    InboundWebhookSeen.objects.create(event_id="old", channel_id=1, seen_at=timezone.now() - SEEN_KEEP * 2)
    post(webhook(alert))
    assert not InboundWebhookSeen.objects.filter(event_id="old").exists()


def test_an_unknown_incident_is_refused(alert, post):
    response = post(webhook(alert, incident_key="ALR-999999"))
    assert response.status_code == 404
    assert "ALR-999999" in response.json()["detail"]
    assert unchanged(alert)
    assert not InboundWebhookSeen.objects.exists()


def test_an_incident_of_an_alert_not_notified_through_the_channel_is_refused(alert, post, db):
    other = channel_create(
        data={
            "kind": "pagerduty",
            "name": "Other service",
            "config": {
                "routing_key": ROUTING_KEY,
                "events_url": "http://127.0.0.1:9/",
                "webhook_secret": WEBHOOK_SECRET,
            },
        },
        actor=None,
    )
    assert post(webhook(alert), channel_id=other.pk).status_code == 404
    assert unchanged(alert)


def test_a_channel_that_is_not_pagerduty_is_refused(alert, post, hook_channel):
    response = post(webhook(alert), channel_id=hook_channel.pk)
    assert response.status_code == 404
    assert response.json() == {"detail": f"No PagerDuty channel with id {hook_channel.pk}."}
    assert unchanged(alert)


def test_a_channel_without_a_webhook_secret_is_refused(alert, post, pagerduty_channel):
    Channel.objects.filter(pk=pagerduty_channel.pk).update(
        config={key: value for key, value in pagerduty_channel.config.items() if key != "webhook_secret"}
    )
    assert post(webhook(alert)).status_code == 403
    assert unchanged(alert)


def test_a_body_that_is_not_a_v3_webhook_is_refused_naming_the_field(alert, post):
    body = orjson.dumps({"event": {"id": "x", "event_type": "incident.acknowledged"}})
    response = post(body)
    assert response.status_code == 400
    assert response.json() == {"detail": "event.occurred_at is required (text)."}
    assert unchanged(alert)


def test_the_endpoint_needs_no_login_nor_csrf_token(alert, pagerduty_channel):
    from django.test import Client

    body = webhook(alert)
    response = Client(enforce_csrf_checks=True).post(
        f"/api/v1/integrations/pagerduty/{pagerduty_channel.pk}/",
        data=body,
        content_type="application/json",
        HTTP_X_PAGERDUTY_SIGNATURE=pagerduty_signature(WEBHOOK_SECRET, body),
    )
    assert response.status_code == 200, response.content

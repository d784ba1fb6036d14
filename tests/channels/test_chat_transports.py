"""Slack and Teams channels against local stand-ins that check each payload against the published
shapes (tests/chat_receivers.py) and answer as the services do."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from alertsite.crypto import MASK, is_sealed, secret_open
from channels.models import Channel, Delivery, DeliveryStatus
from channels.services import channel_create, channel_update, delivery_send
from events.models import AuditEvent
from tests.channels.conftest import ALERT_PAYLOAD, enqueue, stored_config_text
from tests.chat_receivers import SlackReceiver, TeamsReceiver
from tests.receivers import Reply

pytestmark = pytest.mark.django_db

URL = "/api/v1/channels"
KINDS = ["alert.created", "alert.acknowledged", "alert.resolved", "event.matched", "test"]
ACKNOWLEDGED = {
    **ALERT_PAYLOAD,
    "alert": {
        **ALERT_PAYLOAD["alert"],
        "status": "acknowledged",
        "url": "https://alertsite.example.com/insights/alerts/7/",
        "transition": {
            "from": "open",
            "to": "acknowledged",
            "by": {"id": 3, "username": "dana", "email": "dana@example.com"},
            "at": "2025-03-02T09:20:00Z",
            "note": "looking",
        },
    },
}
ALERT_URL = "https://alertsite.example.com/insights/alerts/7/"
CREATED = {**ALERT_PAYLOAD, "alert": {**ALERT_PAYLOAD["alert"], "url": ALERT_URL}}
MATCHED = {"rule": {"id": 0, "name": "Watch logins"}, "event": ALERT_PAYLOAD["event"]}
PAYLOADS = {
    "alert.created": CREATED,
    "alert.acknowledged": ACKNOWLEDGED,
    "alert.resolved": {
        **ACKNOWLEDGED,
        "alert": {
            **ACKNOWLEDGED["alert"],
            "status": "resolved",
            "transition": {**ACKNOWLEDGED["alert"]["transition"], "to": "resolved"},
        },
    },
    "event.matched": MATCHED,
    "test": CREATED,
}
_names = itertools.count(1)


@pytest.fixture
def slack() -> Iterator[SlackReceiver]:
    with SlackReceiver() as receiver:
        yield receiver


@pytest.fixture
def teams() -> Iterator[TeamsReceiver]:
    with TeamsReceiver() as receiver:
        yield receiver


@pytest.fixture
def make_chat(db: None) -> Callable[..., Channel]:
    def make(kind: str, url: str) -> Channel:
        return channel_create(
            data={"kind": kind, "name": f"{kind} {next(_names)}", "config": {"webhook_url": url}}, actor=None
        )

    return make


def send(channel: Channel, kind: str = "alert.created") -> Delivery:
    delivery = enqueue(channel, kind=kind, payload=PAYLOADS[kind])
    delivery_send(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    return delivery


def error_at(response, path: str) -> str:
    """The API's one message for a field (errors are lists of messages by field path)."""
    return " ".join(response.json()[path])


def slack_blocks(body: dict) -> list[dict]:
    return body["attachments"][0]["blocks"]


def slack_fields(body: dict) -> dict[str, str]:
    fields = [f["text"] for b in slack_blocks(body) if b["type"] == "section" for f in b.get("fields", [])]
    return dict(text.lstrip("*").split("*\n", 1) for text in fields)


def slack_buttons(body: dict) -> list[dict]:
    return [e for b in slack_blocks(body) if b["type"] == "actions" for e in b["elements"]]


# -- Slack -----------------------------------------------------------------------------------


def test_slack_alert_message_is_block_kit_with_priority_colour_title_facts_and_a_button_to_the_alert(slack, make_chat):
    delivery = send(make_chat("slack", slack.url))

    assert (delivery.status, delivery.response_code, delivery.response_snippet) == (DeliveryStatus.SENT, 200, "ok")
    assert slack.invalid == []
    body = slack.wait_for(1)[0].json()
    assert body["attachments"][0]["color"] == "#d1242f"  # high
    assert slack_blocks(body)[0]["text"]["text"] == "New alert · ALR-000000"
    assert ALERT_PAYLOAD["alert"]["title"] in slack_blocks(body)[1]["text"]["text"]
    fields = slack_fields(body)
    assert (fields["Priority"], fields["Rule"], fields["What"]) == ("High", "Failed admin logins", "user_login_attempt")
    assert [(b["text"]["text"], b["url"]) for b in slack_buttons(body)] == [("Open alert", ALERT_URL)]


@pytest.mark.parametrize("kind", KINDS)
def test_every_notification_kind_is_a_valid_slack_message(slack, make_chat, kind):
    assert send(make_chat("slack", slack.url), kind).status == DeliveryStatus.SENT
    assert slack.invalid == []


def test_slack_acknowledgement_says_who_acknowledged_it(slack, make_chat):
    send(make_chat("slack", slack.url), "alert.acknowledged")
    fields = slack_fields(slack.wait_for(1)[0].json())
    assert fields["Acknowledged by"] == "dana at 2025-03-02 09:20:00 UTC: looking"
    assert fields["Status"] == "Acknowledged"


def test_event_values_cannot_mention_channels_or_forge_links_in_slack(slack, make_chat):
    payload = {**CREATED, "event": {**CREATED["event"], "initiated_by": {"email": "<!channel> <https://evil|x>"}}}
    delivery = enqueue(make_chat("slack", slack.url), payload=payload)
    delivery_send(delivery_id=delivery.pk)
    who = slack_fields(slack.wait_for(1)[0].json())["Who"]
    assert who == "&lt;!channel&gt; &lt;https://evil|x&gt;"


def test_huge_event_values_are_cut_to_fit_slack_and_teams_limits(slack, teams, make_chat):
    long = "x" * 5000
    payload = {
        **CREATED,
        "alert": {**CREATED["alert"], "title": long, "rule": {"id": 0, "name": long}},
        "event": {**CREATED["event"], "initiated_by": {"email": long}, "event_type": "&" * 3000},
    }
    for channel in (make_chat("slack", slack.url), make_chat("teams", teams.url)):
        delivery = enqueue(channel, payload=payload)
        assert delivery_send(delivery_id=delivery.pk).status == DeliveryStatus.SENT
    assert (slack.invalid, teams.invalid) == ([], [])
    assert len(slack_fields(slack.wait_for(1)[0].json())["Who"]) <= 300


def test_slack_invalid_payload_fails_for_good_with_slacks_answer_as_the_error(slack, make_chat):
    slack.script(SlackReceiver.error("invalid_payload"))
    delivery = send(make_chat("slack", slack.url))

    assert (delivery.status, delivery.attempts, delivery.response_code) == (DeliveryStatus.FAILED, 1, 400)
    assert delivery.last_error == "Slack answered HTTP 400: invalid_payload"


def test_slack_429_is_retried_at_its_retry_after_time(slack, make_chat):
    slack.script(Reply(status=429, headers={"Retry-After": "120", "Content-Type": "text/html"}, body=b"rate_limited"))
    before = timezone.now()
    delivery = send(make_chat("slack", slack.url))

    assert (delivery.status, delivery.response_code) == (DeliveryStatus.PENDING, 429)
    assert delivery.next_attempt_at >= before + timedelta(seconds=120)
    assert delivery.next_attempt_at <= timezone.now() + timedelta(seconds=200)


def test_slack_server_errors_are_retried(slack, make_chat):
    slack.script(SlackReceiver.error("internal_error", status=503))
    delivery = send(make_chat("slack", slack.url))
    assert (delivery.status, delivery.attempts, delivery.response_code) == (DeliveryStatus.PENDING, 1, 503)


# -- Teams -----------------------------------------------------------------------------------


def test_teams_alert_message_is_an_adaptive_card_with_title_facts_and_a_link_to_the_alert(teams, make_chat):
    delivery = send(make_chat("teams", teams.url))

    assert (delivery.status, delivery.response_code) == (DeliveryStatus.SENT, 202)
    assert teams.invalid == []
    body = teams.wait_for(1)[0].json()
    card = body["attachments"][0]["content"]
    assert (body["type"], card["type"], card["version"]) == ("message", "AdaptiveCard", "1.5")
    texts = [item["text"] for item in card["body"][0]["items"]]
    assert texts == ["New alert · ALR-000000", ALERT_PAYLOAD["alert"]["title"]]
    facts = {fact["title"]: fact["value"] for fact in card["body"][1]["facts"]}
    assert (facts["Priority"], facts["Rule"], facts["What"]) == ("High", "Failed admin logins", "user_login_attempt")
    assert card["actions"] == [{"type": "Action.OpenUrl", "title": "Open alert", "url": ALERT_URL}]


@pytest.mark.parametrize("kind", KINDS)
def test_every_notification_kind_is_a_valid_adaptive_card(teams, make_chat, kind):
    assert send(make_chat("teams", teams.url), kind).status == DeliveryStatus.SENT
    assert teams.invalid == []


def test_teams_refusal_fails_for_good_and_its_server_errors_are_retried(teams, make_chat):
    channel = make_chat("teams", teams.url)
    teams.script(Reply(status=400, body=b'{"error": {"code": "WorkflowTriggerIsNotEnabled"}}'), 502)
    refused, failed_upstream = send(channel), send(channel)
    assert (refused.status, refused.response_code) == (DeliveryStatus.FAILED, 400)
    assert "WorkflowTriggerIsNotEnabled" in refused.last_error
    assert (failed_upstream.status, failed_upstream.response_code) == (DeliveryStatus.PENDING, 502)


# -- the URL: https, public, write-only -------------------------------------------------------


@pytest.mark.parametrize("kind", ["slack", "teams"])
def test_plain_http_to_a_public_host_is_refused(admin, kind, public_dns):
    response = admin.post(
        URL, data={"kind": kind, "name": "Chat", "config": {"webhook_url": "http://hooks.example.com/x"}}, format="json"
    )
    assert response.status_code == 400
    assert "https" in error_at(response, "config.webhook_url")


@override_settings(ALERTSITE_WEBHOOK_ALLOW_PRIVATE=False)
@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("https://internal.example.com/services/T0/B0/x", "private"),
        ("https://10.0.0.5/services/T0/B0/x", "private"),
        ("http://127.0.0.1:9/services/x", "https"),  # loopback http only while private destinations are allowed
        ("https://127.0.0.1/services/x", "loopback"),
    ],
)
def test_private_destinations_are_refused(admin, public_dns, url, says):
    response = admin.post(URL, data={"kind": "slack", "name": "Chat", "config": {"webhook_url": url}}, format="json")
    assert response.status_code == 400
    assert says in error_at(response, "config.webhook_url")
    assert not Channel.objects.exists()


def test_a_saved_loopback_url_is_refused_when_sent_once_private_destinations_are_no_longer_allowed(slack, make_chat):
    channel = make_chat("slack", slack.url)
    with override_settings(ALERTSITE_WEBHOOK_ALLOW_PRIVATE=False):
        delivery = send(channel)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 1)
    assert delivery.last_error.startswith("Must be an https URL")
    assert slack.requests == []


def test_an_event_match_names_its_rule_and_has_no_alert_button(slack, teams, make_chat):
    send(make_chat("slack", slack.url), "event.matched")
    send(make_chat("teams", teams.url), "event.matched")
    body = slack.wait_for(1)[0].json()
    assert [b["text"]["text"] for b in slack_blocks(body)[:2]] == ["Event matched", "*Watch logins*"]
    assert body["attachments"][0]["color"] == "#6e7781"  # no priority without an alert
    assert slack_buttons(body) == []
    card = teams.wait_for(1)[0].json()["attachments"][0]["content"]
    assert "actions" not in card
    assert [item["text"] for item in card["body"][0]["items"]] == ["Event matched", "Watch logins"]


def test_missing_url_and_unknown_fields_are_named(admin):
    response = admin.post(URL, data={"kind": "teams", "name": "Chat", "config": {"url": "x"}}, format="json")
    assert response.status_code == 400
    assert error_at(response, "config.url") == "Unknown field."
    assert "Required" in error_at(response, "config.webhook_url")


@pytest.fixture
def admin(auth_client):
    return auth_client("admin")


def test_the_webhook_url_is_write_only_sealed_and_kept_behind_its_mask(admin, public_dns):
    secret_url = "https://hooks.example.com/services/T000/B000/sekrit-token-123"
    response = admin.post(
        URL, data={"kind": "slack", "name": "SOC", "config": {"webhook_url": secret_url}}, format="json"
    )
    assert response.status_code == 201, response.content
    channel_id = response.json()["id"]
    assert response.json()["config"] == {"webhook_url": MASK}
    assert "sekrit" not in stored_config_text(channel_id)
    assert is_sealed(Channel.objects.get().config["webhook_url"])
    assert "sekrit" not in admin.get(f"{URL}/{channel_id}").content.decode()

    for config in ({"webhook_url": MASK}, {}):
        kept = admin.patch(f"{URL}/{channel_id}", data={"name": "SOC 2", "config": config}, format="json")
        assert kept.status_code == 200, kept.content
        assert secret_open(Channel.objects.get().config["webhook_url"]) == secret_url


def test_replacing_the_url_is_audited_without_showing_either_url(make_chat, slack):
    channel = make_chat("slack", slack.url)
    with SlackReceiver() as other:
        channel_update(channel=channel, data={"config": {"webhook_url": other.url}}, actor=None)
    update = AuditEvent.objects.get(event_type="notification_channel_update")
    assert update.payload["changes"] == [{"field": "config", "from": "***", "to": "***"}]
    assert slack.url not in str(update.payload) and other.url not in str(update.payload)


def test_a_mask_with_nothing_saved_is_refused(admin):
    response = admin.post(URL, data={"kind": "slack", "name": "SOC", "config": {"webhook_url": MASK}}, format="json")
    assert response.status_code == 400
    assert "none is saved to keep" in error_at(response, "config.webhook_url")


def test_an_error_never_shows_the_url(make_chat, slack):
    channel = make_chat("slack", slack.url.replace("/hook", "/services/T0/B0/sekrit"))
    slack.stop()  # nothing listens any more
    delivery = send(channel)
    assert delivery.status == DeliveryStatus.PENDING
    assert "sekrit" not in delivery.last_error
    assert delivery.last_error.startswith("Connection to 127.0.0.1 failed")


# -- API: create and test ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "receiver_class", "status"), [("slack", SlackReceiver, 200), ("teams", TeamsReceiver, 202)]
)
def test_api_creates_a_chat_channel_and_its_test_links_to_the_channel_page(admin, kind, receiver_class, status):
    with receiver_class() as receiver:
        created = admin.post(
            URL, data={"kind": kind, "name": "Chat", "config": {"webhook_url": receiver.url}}, format="json"
        )
        assert created.status_code == 201, created.content
        channel_id = created.json()["id"]
        body = admin.post(f"{URL}/{channel_id}/test").json()
        assert {key: body[key] for key in ("delivered", "status_code", "error")} == {
            "delivered": True,
            "status_code": status,
            "error": None,
        }
        payload = receiver.wait_for(1)[0].json()
        assert receiver.invalid == []
    page = f"/settings/notification-channels/{channel_id}/deliveries/"
    link = settings.ALERTSITE_BASE_URL.rstrip("/") + page
    if kind == "slack":
        assert [(b["text"]["text"], b["url"]) for b in slack_buttons(payload)] == [("Open channel", link)]
    else:
        assert payload["attachments"][0]["content"]["actions"] == [
            {"type": "Action.OpenUrl", "title": "Open channel", "url": link}
        ]
    assert "/insights/alerts/" not in str(payload)


def test_health_and_the_delivery_log_show_a_failing_chat_channel(admin, make_chat, slack):
    channel = make_chat("slack", slack.url)
    slack.script(SlackReceiver.error("no_service", status=404))
    send(channel)
    health = admin.get(f"{URL}/{channel.pk}").json()["health"]
    assert (health["consecutive_failures"], health["last_error"]) == (1, "Slack answered HTTP 404: no_service")
    deliveries = admin.get("/api/v1/deliveries", {"channel": channel.pk}).json()["results"]
    assert [(d["status"], d["response_code"]) for d in deliveries] == [("failed", 404)]


def test_a_new_url_replaces_the_saved_one(make_chat, slack):
    channel = make_chat("slack", slack.url)
    with SlackReceiver() as other:
        channel_update(channel=channel, data={"config": {"webhook_url": other.url}}, actor=None)
        channel.refresh_from_db()
        send(channel)
        assert (len(other.requests), slack.requests) == (1, [])


# -- message templates -----------------------------------------------------------------------


def templated(channel: Channel, text: str) -> Channel:
    return channel_update(channel=channel, data={"config": {"template": {"text": text}}}, actor=None)


def test_a_slack_template_replaces_title_and_facts_and_keeps_heading_and_button(slack, make_chat):
    channel = templated(make_chat("slack", slack.url), "{{ alert.reference }} for {{ rule.name }}")
    assert send(channel).status == DeliveryStatus.SENT
    body = slack.wait_for(1)[0].json()
    assert slack.invalid == []
    assert slack_blocks(body)[1]["text"]["text"] == "ALR-000000 for Failed admin logins"
    assert slack_fields(body) == {}
    assert [b["url"] for b in slack_buttons(body)] == [ALERT_URL]


def test_a_slack_template_cannot_mention_channels_through_event_values(slack, make_chat):
    channel = templated(make_chat("slack", slack.url), "<!channel> {{ event.event_type }}")
    send(channel)
    assert "<!channel>" not in str(slack.wait_for(1)[0].json())


def test_a_teams_template_replaces_title_and_facts_and_is_still_a_valid_card(teams, make_chat):
    channel = templated(make_chat("teams", teams.url), "{{ alert.reference }}: {{ event.event_type }}")
    assert send(channel).status == DeliveryStatus.SENT
    card = teams.wait_for(1)[0].json()["attachments"][0]["content"]
    assert teams.invalid == []
    texts = [item["text"] for item in card["body"][0]["items"]]
    assert "ALR-000000: user_login_attempt" in texts
    assert not [block for block in card["body"] if block["type"] == "FactSet"]

"""Message templates per channel (api.md §11): checked at save time, sandboxed, rendered when sending."""

from __future__ import annotations

import orjson
import pytest

from channels.models import Channel, Delivery, DeliveryStatus
from channels.services import ChannelValidationError, channel_update, channel_validate, delivery_send
from channels.templating import CHAT_TEXT_FIELDS, TemplateField, render_field
from channels.transports import Transport, transports
from tests.channels.conftest import enqueue

pytestmark = pytest.mark.django_db
URL = "/api/v1/channels"
JSON_BODY = (
    '{"text": {{ alert.title|json }}, "ref": {{ alert.reference|json }}, "count": {{ alert.event_count }},\n'
    ' "who": {{ event.initiated_by.email|json }}, "type": {{ type|json }}}'
)


def webhook_body(template: dict, **config) -> dict:
    return {
        "kind": "webhook",
        "name": "Templated hook",
        "config": {"url": "http://127.0.0.1:9/hook", "template": template, **config},
    }


def email_body(template: dict) -> dict:
    return {
        "kind": "email",
        "name": "Templated mail",
        "config": {"recipients": ["a@example.com"], "template": template},
    }


@pytest.fixture
def admin(auth_client):
    return auth_client("admin")


# -- save-time checks ----------------------------------------------------------------------------


def test_a_webhook_body_template_is_stored_and_shown(admin):
    response = admin.post(URL, data=webhook_body({"body": JSON_BODY}), format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["config"]["template"] == {"body": JSON_BODY}


def test_a_syntax_error_is_refused_naming_the_line(admin):
    response = admin.post(URL, data=email_body({"body": "Hello\n{% if alert.title %}\nno end"}), format="json")
    assert response.status_code == 400
    message = response.json()["config.template.body"][0]
    assert message.startswith("Line 2:") and "endif" in message


def test_an_unknown_filter_is_refused(admin):
    response = admin.post(URL, data=email_body({"subject": "{{ alert.title|shout }}"}), format="json")
    assert response.status_code == 400
    assert "Invalid filter: 'shout'" in response.json()["config.template.subject"][0]


@pytest.mark.parametrize(
    "source",
    [
        '{% include "console/base.html" %}',
        "{% load static %}",
        "{% debug %}",
        "{{ alert.__class__ }}",
        "{{ x|pprint }}",
    ],
)
def test_tags_and_filters_reaching_outside_the_sandbox_are_refused(admin, source):
    response = admin.post(URL, data=email_body({"body": source}), format="json")
    assert response.status_code == 400
    assert response.json()["config.template.body"][0].startswith("Line 1:")


def test_a_webhook_template_rendering_invalid_json_is_refused(admin):
    response = admin.post(URL, data=webhook_body({"body": '{"title": {{ alert.title }}}'}), format="json")
    assert response.status_code == 400
    assert "invalid JSON" in response.json()["config.template.body"][0]


def test_a_template_over_64_kib_is_refused(admin):
    response = admin.post(URL, data=email_body({"body": "x" * (64 * 1024 + 1)}), format="json")
    assert response.status_code == 400
    assert "64 KiB" in response.json()["config.template.body"][0]


def test_an_unknown_template_field_is_refused(admin):
    response = admin.post(URL, data=webhook_body({"text": "hi"}), format="json")
    assert response.status_code == 400
    assert "config.template.text" in response.json()


def test_templates_cannot_reach_settings_or_secrets(admin):
    source = "{{ settings.SECRET_KEY }}{{ config.secret }}{{ channel.config }}{{ alert.rule.objects }}"
    response = admin.post(URL, data=email_body({"body": source}), format="json")
    assert response.status_code == 201
    preview = admin.post(f"{URL}/preview", data={**email_body({"body": source}), "event": {"id": "e"}}, format="json")
    assert preview.json()["fields"]["body"] == ""


# -- sending ---------------------------------------------------------------------------------------


def test_a_webhook_sends_its_rendered_body(make_webhook, receiver):
    channel = make_webhook(receiver.url, template={"body": JSON_BODY})
    delivery = enqueue(channel)
    assert delivery_send(delivery_id=delivery.pk).status == DeliveryStatus.SENT
    body = orjson.loads(receiver.requests[0].body)
    assert body == {
        "text": "Failed admin logins: bob.smith@example.com from 198.51.100.77",
        "ref": "ALR-000000",
        "count": 1,
        "who": "",  # a missing value is "" in Django templates
        "type": "alert.created",
    }


def test_the_signature_covers_the_rendered_body(make_webhook, receiver):
    import hashlib
    import hmac

    channel = make_webhook(receiver.url, template={"body": JSON_BODY}, secret="s3cret")
    delivery_send(delivery_id=enqueue(channel).pk)
    request = receiver.requests[0]
    timestamp = request.header("X-Alertsite-Timestamp")
    expected = hmac.new(b"s3cret", timestamp.encode() + b"." + request.body, hashlib.sha256).hexdigest()
    assert request.header("X-Alertsite-Signature") == f"sha256={expected}"


def test_an_email_uses_its_subject_and_body_templates(smtp, make_email_channel):
    channel = make_email_channel(recipients=["oncall@example.com"])
    channel = channel_update(
        channel=channel,
        data={
            "config": {
                "recipients": ["oncall@example.com"],
                "template": {
                    "subject": "[{{ alert.priority|upper }}] {{ alert.reference }}\n{{ alert.title }}",
                    "body": "Alert {{ alert.reference }} ({{ type }})\nSee {{ alert.url|default:'the console' }}",
                },
            }
        },
        actor=None,
    )
    assert delivery_send(delivery_id=enqueue(channel).pk).status == DeliveryStatus.SENT
    mail = smtp.wait_for(1)[0]
    assert mail.message["Subject"] == "[HIGH] ALR-000000 Failed admin logins: bob.smith@example.com from 198.51.100.77"
    assert mail.message.get_content_type() == "text/plain"
    assert mail.message.get_content().startswith("Alert ALR-000000 (alert.created)")


def test_a_stored_template_that_fails_when_sending_fails_the_delivery_for_good(make_webhook, receiver):
    channel = make_webhook(receiver.url, template={"body": JSON_BODY})
    config = {**channel.config, "template": {"body": "{{ alert.title }}"}}  # as if stored by an older check
    Channel.objects.filter(pk=channel.pk).update(config=config)
    delivery = enqueue(channel)
    assert delivery_send(delivery_id=delivery.pk).status == DeliveryStatus.FAILED
    delivery.refresh_from_db()
    assert "invalid JSON" in delivery.last_error
    assert receiver.requests == []
    assert Delivery.objects.get(pk=delivery.pk).attempts == 1


# -- preview -------------------------------------------------------------------------------------


def test_preview_renders_an_event_without_sending(admin):
    event = {"id": "e-1", "event_type": "user_login_attempt", "initiated_by": {"email": "eve@example.com"}}
    response = admin.post(f"{URL}/preview", data={**webhook_body({"body": JSON_BODY}), "event": event}, format="json")
    assert response.status_code == 200, response.json()
    assert orjson.loads(response.json()["fields"]["body"])["who"] == "eve@example.com"
    assert response.json()["templated"] == ["body"]


def test_preview_renders_an_existing_alert(admin, make_user, ingest_client, django_capture_on_commit_callbacks):
    from alerts.models import Alert
    from rules.services import rule_create

    rule_create(
        data={"name": "Any login", "priority": "low", "conditions": [{"event_type": "user_login_attempt"}]}, actor=None
    )
    event = {
        "id": "p-1",
        "event_type": "user_login_attempt",
        "service": "sso",
        "timestamp": "2025-03-02T09:16:41Z",
        "initiated_by": {"email": "mallory@example.com"},
    }
    with django_capture_on_commit_callbacks(execute=True):
        assert ingest_client.post("/api/v1/events", data=[event], format="json").status_code == 202
    alert = Alert.objects.get()
    response = admin.post(
        f"{URL}/preview", data={**webhook_body({"body": JSON_BODY}), "alert": alert.pk}, format="json"
    )
    assert response.status_code == 200, response.json()
    body = orjson.loads(response.json()["fields"]["body"])
    assert body["ref"] == alert.reference and body["who"] == "mallory@example.com"


def test_preview_without_a_template_shows_the_default_message(admin):
    body = {"kind": "email", "config": {}, "event": {"id": "e"}}
    fields = admin.post(f"{URL}/preview", data=body, format="json").json()["fields"]
    assert "ALR-000000" in fields["subject"] and "ALR-000000" in fields["body"]


def test_preview_of_an_unknown_alert_names_the_field(admin):
    response = admin.post(f"{URL}/preview", data={**webhook_body({"body": JSON_BODY}), "alert": 999999}, format="json")
    assert response.status_code == 400
    assert "alert" in response.json()


def test_preview_reports_template_errors_by_field(admin):
    response = admin.post(f"{URL}/preview", data={**email_body({"body": "{% for %}"}), "event": {}}, format="json")
    assert response.status_code == 400
    assert "config.template.body" in response.json()


def test_preview_is_for_admins_only(auth_client):
    body = {**email_body({"body": "x"}), "event": {}}
    assert auth_client("viewer").post(f"{URL}/preview", data=body, format="json").status_code == 403


# -- the transport hook ----------------------------------------------------------------------------


class ChatLike(Transport):
    """A kind declaring only the chat text field, as slack and teams do."""

    label = "Chat-like"
    template_fields = CHAT_TEXT_FIELDS

    def config_clean(self, config, previous):
        return {}

    def config_public(self, config):
        return {}


@pytest.fixture
def chat_like(monkeypatch):
    monkeypatch.setitem(transports._items, "chatlike", ChatLike())


@pytest.mark.usefixtures("chat_like")
def test_a_kind_gets_templates_by_declaring_its_fields():
    values = channel_validate(
        {"kind": "chatlike", "name": "Chat", "config": {"template": {"text": "{{ alert.title }}"}}}
    )
    assert values["config"] == {"template": {"text": "{{ alert.title }}"}}
    with pytest.raises(ChannelValidationError) as refused:
        channel_validate({"kind": "chatlike", "name": "Chat", "config": {"template": {"body": "{}"}}})
    assert "config.template.body" in refused.value.errors


def test_a_field_declared_with_autoescape_escapes_values():
    context = {"alert": {"title": "<b>R&D</b>"}}
    assert (
        render_field("{{ alert.title }}", TemplateField("text", autoescape=True), context)
        == "&lt;b&gt;R&amp;D&lt;/b&gt;"
    )
    assert render_field("{{ alert.title }}", TemplateField("text"), context) == "<b>R&D</b>"

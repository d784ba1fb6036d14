"""The channel form's "Advanced: Message" section and signature choice, and its preview fragment."""

from __future__ import annotations

import base64

import pytest

from channels.models import Channel
from tests.channels.test_channel_form import form

pytestmark = pytest.mark.django_db

NEW_WEBHOOK = "/settings/notification-channels/new/webhooks/"
NEW_EMAIL = "/settings/notification-channels/new/email/"
PREVIEW = "/settings/notification-channels/preview/{kind}/"
WHSEC = "whsec_" + base64.b64encode(b"k" * 32).decode()


@pytest.fixture
def admin(client, make_user):
    client.force_login(make_user("admin"))
    return client


def test_the_webhook_form_offers_a_body_template_and_the_email_form_subject_and_body(admin):
    webhook = admin.get(NEW_WEBHOOK).content.decode()
    email = admin.get(NEW_EMAIL).content.decode()
    assert 'name="template_body"' in webhook and 'name="template_subject"' not in webhook
    assert 'name="template_subject"' in email and 'name="template_body"' in email
    assert "Advanced: Message" in webhook and 'hx-post="/settings/notification-channels/preview/webhook/"' in webhook


def test_a_template_saved_from_the_form_is_stored(admin, receiver):
    body = '{"text": {{ alert.title|json }}}'
    response = admin.post(NEW_WEBHOOK, form(receiver.url, template_body=body, signature="standard", secret=WHSEC))
    assert response.status_code == 302
    config = Channel.objects.get().config
    assert config["template"] == {"body": body}
    assert config["signature"] == "standard"
    page = admin.get(f"/settings/notification-channels/{Channel.objects.get().pk}/edit/").content.decode()
    assert (
        "{&quot;text&quot;: {{ alert.title|json }}}" in page
        and '<details class="form-row" id="message-section" open>' in page
    )


def test_a_template_error_is_shown_under_its_field(admin, receiver):
    response = admin.post(NEW_WEBHOOK, form(receiver.url, template_body="{{ alert.title|shout }}"))
    assert response.status_code == 400
    page = response.content.decode()
    assert "Line 1: Invalid filter: &#x27;shout&#x27;" in page
    assert "Message template: body" in page


def test_a_standard_signature_with_a_plain_secret_is_shown_under_the_secret(admin, receiver):
    response = admin.post(NEW_WEBHOOK, form(receiver.url, signature="standard", secret="plain"))
    assert response.status_code == 400
    assert "whsec_" in response.content.decode()


def test_the_preview_fragment_renders_the_template_for_the_sample_alert(admin):
    response = admin.post(PREVIEW.format(kind="email"), {"template_subject": "Alert {{ alert.reference }}"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "Alert ALR-000000" in page and "(your template)" in page and "(default)" in page


def test_the_preview_fragment_shows_template_errors(admin):
    page = admin.post(PREVIEW.format(kind="webhook"), {"template_body": "{{ alert.title }}"}).content.decode()
    assert "invalid JSON" in page


def test_the_preview_is_for_admins_only(client, make_user):
    client.force_login(make_user("viewer"))
    assert client.post(PREVIEW.format(kind="email"), {"template_subject": "x"}).status_code == 403

"""The test notification links to its channel's page, never to an alert that does not exist."""

from __future__ import annotations

import pytest
from django.conf import settings

from channels.services import channel_test

pytestmark = pytest.mark.django_db


def page_of(channel) -> str:
    return f"{settings.ALERTSITE_BASE_URL.rstrip('/')}/settings/notification-channels/{channel.pk}/deliveries/"


def test_a_webhook_test_links_to_the_channel_page(receiver, make_webhook):
    channel = make_webhook(receiver.url)
    channel_test(channel=channel, actor=None)
    body = receiver.wait_for(1)[0].json()
    assert body["type"] == "test"
    assert body["alert"]["url"] == page_of(channel)
    assert "/insights/alerts/" not in receiver.requests[0].body.decode()


def test_an_email_test_links_to_the_channel_page(smtp, make_email_channel):
    channel = make_email_channel(recipients=["oncall@example.com"])
    channel_test(channel=channel, actor=None)
    mail = smtp.wait_for(1)[0]
    text, html = mail.part("text/plain"), mail.part("text/html")
    assert f"Open the channel: {page_of(channel)}" in text
    assert f'href="{page_of(channel)}"' in html and "Open the channel</a>" in html
    assert "/insights/alerts/" not in text + html
    assert "Open the alert" not in text + html

"""Slack and Teams channels in the admin: created through the services, the URL write-only."""

from __future__ import annotations

import pytest

from alertsite.crypto import MASK, secret_open
from channels.models import Channel
from tests.channels_admin.test_admin import CHANNELS, form_errors, form_post
from tests.chat_receivers import SlackReceiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def test_admin_adds_a_slack_channel_and_never_shows_its_url(admin_client):
    with SlackReceiver() as slack:
        response = form_post(
            admin_client,
            f"{CHANNELS}add/",
            {"name": "SOC Slack", "kind": "slack", "enabled": "on"},
            config={"webhook_url": slack.url},
        )
        assert response.status_code == 302, form_errors(response)
    channel = Channel.objects.get(name="SOC Slack")
    assert secret_open(channel.config["webhook_url"]) == slack.url

    change_url = f"{CHANNELS}{channel.pk}/change/"
    page = admin_client.get(change_url).content.decode()
    assert slack.url not in page and MASK in page
    response = form_post(
        admin_client, change_url, {"name": "SOC Slack 2", "enabled": "on"}, config={"webhook_url": MASK}
    )
    assert response.status_code == 302, form_errors(response)
    channel.refresh_from_db()
    assert (channel.name, secret_open(channel.config["webhook_url"])) == ("SOC Slack 2", slack.url)


def test_admin_reports_a_plain_http_teams_url_on_the_config_field(admin_client):
    response = form_post(
        admin_client,
        f"{CHANNELS}add/",
        {"name": "Teams", "kind": "teams", "enabled": "on"},
        config={"webhook_url": "http://teams.example.com/workflows/1"},
    )
    errors = form_errors(response)
    assert errors["config"][0].startswith("config.webhook_url: Must be an https URL")

"""The console's Slack and Teams channels: tabs, the write-only URL field, Test and the delivery log."""

from __future__ import annotations

import pytest

from alertsite.crypto import secret_open
from channels.models import Channel
from tests.channels.conftest import input_value
from tests.chat_receivers import SlackReceiver, TeamsReceiver

pytestmark = pytest.mark.django_db

LIST = "/settings/notification-channels/"


@pytest.fixture
def admin(client, make_user):
    client.force_login(make_user("admin"))
    return client


def test_the_list_has_slack_and_teams_tabs_with_add_buttons(admin):
    page = admin.get(LIST).content.decode()
    assert 'href="?tab=slack"' in page and 'href="?tab=teams"' in page
    slack_tab = admin.get(LIST, {"tab": "slack"}).content.decode()
    assert 'href="/settings/notification-channels/new/slack/"' in slack_tab
    assert "No Slack channels yet." in slack_tab


def test_console_form_creates_a_slack_channel_and_never_shows_its_url_again(admin):
    with SlackReceiver() as slack:
        form = admin.get(f"{LIST}new/slack/").content.decode()
        assert "Create Slack Channel" in form and "Slack incoming-webhook URL" in form
        created = admin.post(f"{LIST}new/slack/", {"name": "SOC Slack", "enabled": "on", "webhook_url": slack.url})
        assert created.status_code == 302, created.content.decode()
        assert created["Location"] == f"{LIST}?tab=slack"
        channel = Channel.objects.get(name="SOC Slack")
        assert (channel.kind, secret_open(channel.config["webhook_url"])) == ("slack", slack.url)

        edit = admin.get(f"{LIST}{channel.pk}/edit/").content.decode()
        assert slack.url not in edit and str(slack.port) not in edit
        assert input_value(edit, "webhook_url") is None  # nothing written back into the page
        assert "Stored: leave empty to keep it" in edit

        saved = admin.post(f"{LIST}{channel.pk}/edit/", {"name": "SOC Slack 2", "enabled": "on", "webhook_url": ""})
        assert saved.status_code == 302
        channel.refresh_from_db()
        assert (channel.name, secret_open(channel.config["webhook_url"])) == ("SOC Slack 2", slack.url)

        tested = admin.post(f"{LIST}{channel.pk}/test/", follow=True).content.decode()
        assert "Test sent to SOC Slack 2 (200)" in tested
        assert slack.invalid == [] and len(slack.requests) == 1
    log = admin.get(f"{LIST}{channel.pk}/deliveries/").content.decode()
    assert 'href="/settings/notification-channels/?tab=slack"' in log
    listed = admin.get(LIST, {"tab": "slack"}).content.decode()
    assert "SOC Slack 2" in listed and "Stored, hidden" in listed


def test_a_bad_url_comes_back_with_its_error_and_is_not_echoed(admin, public_dns):
    response = admin.post(
        f"{LIST}new/teams/", {"name": "Teams", "enabled": "on", "webhook_url": "http://hooks.example.com/sekrit"}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Must be an https URL" in page
    assert "sekrit" not in page
    assert not Channel.objects.exists()


def test_a_bad_new_url_on_an_edit_keeps_offering_the_saved_one(admin, public_dns):
    with SlackReceiver() as slack:
        admin.post(f"{LIST}new/slack/", {"name": "SOC", "enabled": "on", "webhook_url": slack.url})
    channel = Channel.objects.get()
    response = admin.post(
        f"{LIST}{channel.pk}/edit/", {"name": "SOC", "enabled": "on", "webhook_url": "http://hooks.example.com/x"}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Must be an https URL" in page and "Stored: leave empty to keep it" in page
    assert input_value(page, "webhook_url") is None
    channel.refresh_from_db()
    assert secret_open(channel.config["webhook_url"]) == slack.url


def test_an_empty_url_on_a_new_channel_is_required(admin):
    response = admin.post(f"{LIST}new/teams/", {"name": "Teams", "enabled": "on", "webhook_url": ""})
    assert response.status_code == 400
    assert "Required: the Teams incoming-webhook URL (none is saved to keep)." in response.content.decode()


def test_console_test_button_of_a_teams_channel_reports_the_outcome(admin):
    with TeamsReceiver() as teams:
        admin.post(f"{LIST}new/teams/", {"name": "Teams", "enabled": "on", "webhook_url": teams.url})
        channel = Channel.objects.get()
        page = admin.post(f"{LIST}{channel.pk}/test/", HTTP_HX_REQUEST="true").content.decode()
        assert teams.invalid == [] and len(teams.requests) == 1
    assert "202" in page

"""A Slack channel made in a real browser: the Slack tab, +Add, the write-only URL, Test."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from alertsite.crypto import secret_open
from channels.models import Channel
from tests.chat_receivers import SlackReceiver

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_admin_creates_a_slack_channel_from_its_tab_and_tests_it(page: Page, login, make_user) -> None:
    login(page, make_user("admin"))
    with SlackReceiver() as slack:
        page.goto("/settings/notification-channels/")
        page.get_by_role("link", name="Slack", exact=True).click()
        expect(page).to_have_url(re.compile(r"\?tab=slack$"))
        page.get_by_role("link", name="+Add").click()
        expect(page.get_by_role("heading", name="Create Slack Channel")).to_be_visible()
        page.get_by_label("Name", exact=True).fill("SOC Slack")
        page.get_by_label("Slack incoming-webhook URL").fill(slack.url)
        page.get_by_role("button", name="Create", exact=True).click()

        expect(page).to_have_url(re.compile(r"/settings/notification-channels/\?tab=slack$"))
        row = page.get_by_role("row").filter(has_text="SOC Slack")
        expect(row).to_contain_text("Stored, hidden")
        expect(row).not_to_contain_text(str(slack.port))
        row.get_by_role("button", name="Test").click()
        expect(row.get_by_role("status")).to_contain_text("200")
        slack.wait_for(1)
        assert slack.invalid == []

    channel = Channel.objects.get(name="SOC Slack")
    assert (channel.kind, secret_open(channel.config["webhook_url"])) == ("slack", slack.url)
    page.goto(f"/settings/notification-channels/{channel.pk}/edit/")
    url_field = page.get_by_label("Slack incoming-webhook URL")
    expect(url_field).to_have_value("")
    expect(url_field).to_have_attribute("placeholder", "Stored: leave empty to keep it")

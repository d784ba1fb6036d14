"""Notification channels in Chromium at 1400x1000: Test moves the row's health and last delivery in
place, each row's buttons stay on one line (Delete included), and webhook headers are added on
demand like the form's other lists. No CSP violation on the way."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from channels.models import Channel
from channels.services import channel_create
from tests.browser.test_console_flow import webhook_receiver
from tests.browser.test_content_security_policy import assert_no_violation, violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

__all__ = ["violations", "webhook_receiver"]  # fixtures, used by name below

WINDOW = {"width": 1400, "height": 1000}
LONG_URL_PATH = "/hooks/" + "a-rather-long-path-segment/" * 3


@pytest.fixture
def failing_channel(webhook_receiver: dict[str, Any]) -> Channel:
    """A webhook that failed twice long ago (its receiver now answers) and a long URL."""
    channel = channel_create(
        data={"kind": "webhook", "name": "SOC webhook", "config": {"url": webhook_receiver["url"] + LONG_URL_PATH}},
        actor=None,
    )
    Channel.objects.filter(pk=channel.pk).update(
        consecutive_failures=2,
        last_error="Connection refused by the receiver at the far end of a long and winding road",
        last_delivery_at=timezone.now() - timezone.timedelta(days=3),
    )
    return channel


@pytest.fixture
def admin_page(page: Page, login, make_user) -> Page:
    page.set_viewport_size(WINDOW)
    login(page, make_user("admin"))
    return page


def test_a_successful_test_turns_the_row_healthy_in_place(
    admin_page: Page, failing_channel: Channel, violations: list[str]
) -> None:
    page = admin_page
    page.goto("/settings/notification-channels/?tab=webhooks")
    row = page.locator(f"#channel-{failing_channel.pk}")
    expect(row).to_contain_text("Failing \u00d72")
    expect(row).to_contain_text("3\xa0days ago")
    row.get_by_role("button", name="Test", exact=True).click()
    expect(row.get_by_test_id("test-outcome")).to_have_text("Delivered")
    expect(row).not_to_contain_text("Failing")
    expect(row.locator(".badge.ok", has_text="OK")).to_be_visible()
    expect(row).to_contain_text("0\xa0minutes ago")
    # The swapped row still works: a second Test answers again.
    row.get_by_role("button", name="Test", exact=True).click()
    expect(row.get_by_test_id("test-outcome")).to_have_text("Delivered")
    assert_no_violation(page, violations)


def test_each_rows_buttons_stay_on_one_line(admin_page: Page, failing_channel: Channel) -> None:
    page = admin_page
    page.goto("/settings/notification-channels/?tab=webhooks")
    buttons = page.locator(f"#channel-{failing_channel.pk} .row-actions").locator("button, a.button")
    expect(buttons).to_have_count(4)  # Test, Edit, Delivery log, Delete
    boxes = [buttons.nth(index).bounding_box() for index in range(4)]
    tops = {round(box["y"]) for box in boxes if box}
    heights = {round(box["height"]) for box in boxes if box}
    assert len(tops) == 1, boxes
    assert max(heights) - min(heights) <= 1, boxes  # no button's label broken over two lines
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def test_webhook_headers_are_added_on_demand(admin_page: Page, violations: list[str]) -> None:
    page = admin_page
    page.goto("/settings/notification-channels/new/webhooks/")
    expect(page.locator("#headers[data-ready]")).to_have_count(1)
    rows = page.locator("[data-header-row]")
    expect(rows.locator("visible=true")).to_have_count(0)
    add = page.get_by_role("button", name="+ Add header")
    add.click()
    first = page.locator("[data-header-row]", has=page.locator("input[name=header_name_0]"))
    expect(first.get_by_label("Header name 1")).to_be_focused()
    add.click()
    expect(rows.locator("visible=true")).to_have_count(2)
    first.get_by_label("Header name 1").fill("X-Team")
    first.get_by_role("button", name="Remove header 1").click()
    expect(rows.locator("visible=true")).to_have_count(1)
    assert first.get_by_label("Header name 1").input_value() == ""
    assert_no_violation(page, violations)

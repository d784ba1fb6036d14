"""The event log in Chromium at 1400x1000: opening a big event's JSON keeps the page within the window
(the JSON scrolls inside its own box, "Create rule from this event" stays in view) and neither a long
IPv6 address nor a long initiator squeezes the JSON column. No CSP violation on the way."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_console_flow import failed_login
from tests.browser.test_content_security_policy import assert_no_violation, violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

__all__ = ["violations"]  # the fixture, used by name below

WINDOW = {"width": 1400, "height": 1000}


def big_event(event_id: str) -> dict[str, Any]:
    """A login with ~120 lines of JSON, a 600-character line and an IPv6 address."""
    event = failed_login(event_id, email="a.very.long.initiator.address.for.testing@subsidiary.example.com")
    event["client_ip"] = "2001:0db8:85a3:0000:0000:8a2e:0370:7334"
    event["useragent"] = {"raw": "Mozilla/5.0 " + "(KHTML, like Gecko) " * 30}
    event["extra"] = {f"attribute_{n:03d}": f"value {n}" for n in range(100)}
    return event


@pytest.fixture
def events(ingest: Callable[[Any], dict[str, Any]]) -> None:
    ingest([big_event(f"big-{n}") for n in range(5)])


@pytest.mark.usefixtures("events")
def test_an_opened_event_stays_within_the_window(page: Page, login, make_user, violations: list[str]) -> None:
    page.set_viewport_size(WINDOW)
    login(page, make_user("admin"))
    page.goto("/insights/events/")
    row = page.locator("table.events-table tbody tr", has_text="user_login_attempt").first
    row.get_by_text("JSON", exact=True).click()
    pre = row.locator("pre.json")
    expect(pre).to_be_visible()

    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    box = pre.bounding_box()
    assert box is not None
    assert box["y"] + box["height"] <= WINDOW["height"], box  # the whole box in view, not 1,500 px of it
    assert pre.evaluate("el => el.scrollHeight > el.clientHeight")  # the rest scrolls inside it
    create = row.get_by_role("link", name="Create rule from this event")
    expect(create).to_be_in_viewport()
    # The JSON column keeps the room the others leave; the IP and the initiator are clipped with a tooltip.
    widths = {cell: row.locator(f"td.{cell}").bounding_box()["width"] for cell in ("json-cell", "who-cell")}
    assert widths["json-cell"] >= 0.3 * WINDOW["width"], widths
    ip = row.get_by_test_id("event-ip")
    expect(ip).to_have_attribute("title", "2001:0db8:85a3:0000:0000:8a2e:0370:7334")
    ip_box = ip.bounding_box()
    assert ip_box is not None and ip_box["x"] + ip_box["width"] <= row.locator("td.json-cell").bounding_box()["x"]
    assert_no_violation(page, violations)

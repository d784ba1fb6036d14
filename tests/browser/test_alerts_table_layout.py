"""The alerts dashboard at 1400x1000 in Chromium: one line per alert (title clipped with a tooltip, the
rule under it in small text, the source by name), at least 15 alerts on screen, the search placeholder
whole, and one remark box for Acknowledge and Resolve on the alert page. No CSP violation on the way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from alerts.models import Alert
from rules.models import Rule
from tests.browser.test_console_flow import failed_login
from tests.browser.test_content_security_policy import assert_no_violation, violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

__all__ = ["violations"]  # the fixture, used by name below

DESKTOP = {"width": 1400, "height": 1000}
ALERTS = 24
LONG_EMAIL = "maximiliana.konstantinopoulou-vanderbilt.the-third@subsidiary.example.com"


@pytest.fixture
def many_alerts(failed_logins_rule: Rule, ingest: Callable[[Any], dict[str, Any]]) -> list[Alert]:
    """24 alerts, every third about a user with a very long e-mail (a very long title)."""
    events = []
    for n in range(ALERTS):
        email = LONG_EMAIL if n % 3 == 0 else f"user{n}@example.com"
        event = failed_login(f"layout-{n}", email=email)
        event["initiated_by"] = {**event["initiated_by"], "id": f"61c0ffee00000000000{n:05d}"}
        events.append(event)
    ingest(events)
    alerts = list(Alert.objects.order_by("-pk"))
    assert len(alerts) == ALERTS
    return alerts


@pytest.fixture
def desktop(page: Page, login, make_user, violations: list[str]) -> Page:
    page.set_viewport_size(DESKTOP)
    login(page, make_user("responder"))
    return page


def row_boxes(page: Page) -> list[dict[str, float]]:
    return page.eval_on_selector_all(
        "#alert-rows tr",
        "rows => rows.map(r => { const b = r.getBoundingClientRect(); return {top: b.top, bottom: b.bottom, height: b.height}; })",
    )


@pytest.mark.usefixtures("many_alerts")
def test_at_least_15_alerts_fit_in_a_1400x1000_window_one_line_each(desktop: Page, violations: list[str]) -> None:
    page = desktop
    page.goto("/insights/alerts/")
    boxes = row_boxes(page)
    assert len(boxes) == ALERTS
    visible = [box for box in boxes if box["bottom"] <= DESKTOP["height"]]
    assert len(visible) >= 15, f"{len(visible)} alerts within the window; rows at {[b['top'] for b in boxes[:16]]}"
    # Every row is as tall as the others: nothing wraps, however long the title.
    heights = {round(box["height"]) for box in boxes}
    assert max(heights) - min(heights) <= 1, heights
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    assert_no_violation(page, violations)


def test_a_long_title_is_clipped_with_the_whole_text_as_its_tooltip(desktop: Page, many_alerts: list[Alert]) -> None:
    page = desktop
    page.goto("/insights/alerts/")
    long_alert = next(alert for alert in many_alerts if LONG_EMAIL in alert.title)
    title = page.locator(f"#alert-{long_alert.pk} [data-testid=alert-title]")
    expect(title).to_have_attribute("title", long_alert.title)
    clipped = title.evaluate(
        "el => ({clipped: el.scrollWidth > el.clientWidth, lines: el.getBoundingClientRect().height"
        " / parseFloat(getComputedStyle(el).lineHeight)})"
    )
    assert clipped["clipped"]
    assert clipped["lines"] < 1.5


def test_the_rule_is_under_the_title_and_the_source_is_a_name(desktop: Page, many_alerts: list[Alert]) -> None:
    page = desktop
    page.goto("/insights/alerts/")
    alert = next(alert for alert in many_alerts if "user5@" in alert.title)
    row = page.locator(f"#alert-{alert.pk}")
    title_box = row.get_by_test_id("alert-title").bounding_box()
    rule = row.get_by_test_id("alert-rule")
    expect(rule).to_have_text("Rule: Failed user logins")
    rule_box = rule.bounding_box()
    assert title_box is not None and rule_box is not None
    assert rule_box["y"] >= title_box["y"] + title_box["height"] - 1  # under the title, same cell
    assert abs(rule_box["x"] - title_box["x"]) < 1
    font_sizes = (
        rule.evaluate("el => parseFloat(getComputedStyle(el).fontSize)"),
        row.get_by_test_id("alert-title").evaluate("el => parseFloat(getComputedStyle(el).fontSize)"),
    )
    assert font_sizes[0] < font_sizes[1]
    expect(row.get_by_test_id("alert-source")).to_have_text("User · user5@example.com")
    expect(row).not_to_contain_text(alert.source_id)


@pytest.mark.usefixtures("many_alerts")
def test_the_search_placeholder_shows_whole(desktop: Page) -> None:
    page = desktop
    page.goto("/insights/alerts/")
    search = page.locator("input[name=search]")
    text, room = search.evaluate(
        """el => {
          const style = getComputedStyle(el);
          const context = document.createElement("canvas").getContext("2d");
          context.font = style.font;
          const room = el.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
          return [context.measureText(el.placeholder).width, room];
        }"""
    )
    assert text <= room, f"placeholder needs {text:.0f} px, the box has {room:.0f}"


def test_one_remark_box_serves_acknowledge_and_resolve(
    desktop: Page, many_alerts: list[Alert], violations: list[str]
) -> None:
    page = desktop
    alert = many_alerts[0]
    page.goto(f"/insights/alerts/{alert.pk}/")
    expect(page.get_by_label("Remark")).to_have_count(1)
    page.get_by_label("Remark").fill("Looking into it")
    page.get_by_role("button", name="Acknowledge", exact=True).click()
    expect(page.get_by_test_id("alert-status")).to_have_text("Acknowledged")

    expect(page.get_by_label("Remark")).to_have_count(1)
    page.get_by_label("Remark").fill("Password reset")
    page.get_by_role("button", name="Resolve", exact=True).click()
    expect(page.get_by_test_id("alert-status")).to_have_text("Resolved")
    notes = list(Alert.objects.get(pk=alert.pk).transitions.values_list("to_status", "note"))
    assert notes == [("acknowledged", "Looking into it"), ("resolved", "Password reset")]
    assert_no_violation(page, violations)

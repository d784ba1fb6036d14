"""Insights > Alert Metrics and the home sparkline in Chromium, on a desktop and a phone: every chart
drawn, nothing wider than the window, no console error and no Content-Security-Policy violation."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from alerts.models import Alert
from rules.services import rule_create
from tests.browser.conftest import screenshot
from tests.browser.test_content_security_policy import CSP_LISTENER

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

DESKTOP = {"width": 1400, "height": 1000}
PHONE = {"width": 390, "height": 844}
RULES = [
    ("Failed user logins from a very long rule name that needs truncating on phones", "high"),
    ("Admin TOTP disabled", "medium"),
    ("User locked out", "low"),
]


@pytest.fixture
def month_of_alerts(db: None) -> None:
    """A few alerts a day over 30 days from three rules of each priority, most acknowledged and resolved."""
    now = timezone.now()
    alerts = []
    for index, (name, priority) in enumerate(RULES):
        rule = rule_create(
            data={"name": name, "priority": priority, "conditions": [{"event_type": "user_login_attempt"}]},
            actor=None,
        )
        for day in range(30):
            for n in range((day + index) % 4 + index):
                created = now - timedelta(days=day, hours=n)
                acked = (day + n) % 5 != 0
                alerts.append(
                    Alert(
                        rule=rule,
                        rule_name=name,
                        priority=priority,
                        status="resolved" if acked else "open",
                        title=f"{name} {day}/{n}",
                        category=("directory", "sso", "ldap")[n % 3],
                        source_type=("user", "device", "")[(day + n) % 3],
                        event_type="user_login_attempt",
                        first_seen_at=created,
                        last_seen_at=created,
                        created_at=created,
                        seconds_to_acknowledge=60 * (n + 1) * (index + 1) if acked else None,
                        seconds_to_resolve=3600 * (n + 1) if acked else None,
                    )
                )
    Alert.objects.bulk_create(alerts)


@pytest.fixture
def problems(page: Page) -> list[str]:
    """Console errors and CSP violations of every page the test opens."""
    found: list[str] = []
    page.context.expose_function("__cspViolation", lambda text: found.append(f"{page.url}: CSP {text}"))
    page.context.add_init_script(CSP_LISTENER)
    page.on("console", lambda m: found.append(f"{page.url}: {m.type}: {m.text}") if m.type == "error" else None)
    return found


@pytest.fixture
def signed_in(page: Page, login: Callable[..., None], make_user: Callable[..., Any]) -> Page:
    login(page, make_user("viewer", username="viewer"))
    return page


def assert_fits(page: Page) -> None:
    width = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert width[0] <= width[1], f"{page.url} is {width[0]} px wide in a {width[1]} px window"


def assert_clean(page: Page, problems: list[str]) -> None:
    page.wait_for_timeout(300)  # violations are reported asynchronously
    assert not problems, "\n".join(problems)


@pytest.mark.usefixtures("month_of_alerts")
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_metrics_page_draws_every_chart_within_the_window(signed_in: Page, problems: list[str], viewport) -> None:
    page = signed_in
    page.set_viewport_size(viewport)
    response = page.goto("/insights/alerts/metrics/")
    assert response is not None and response.status == 200
    for testid in ("chart-alerts-per-day", "chart-mtta", "chart-mttr"):
        chart = page.get_by_test_id(testid).locator("svg.chart")
        expect(chart).to_be_visible()
        assert chart.bounding_box()["height"] > 100  # drawn, not collapsed
    expect(page.get_by_test_id("chart-alerts-per-day").locator("svg.chart rect").first).to_be_visible()
    expect(page.get_by_test_id("chart-noisiest-rules").get_by_role("link", name=RULES[0][0])).to_be_visible()
    expect(page.get_by_test_id("chart-by-source-type").get_by_text("Neither user nor device")).to_be_visible()
    assert_fits(page)
    if viewport == DESKTOP:
        screenshot(page, "metrics")
    page.get_by_test_id("chart-alerts-per-day").get_by_text("Show the numbers").click()
    expect(page.get_by_role("table", name="Alerts per day by priority")).to_be_visible()
    assert_fits(page)
    assert_clean(page, problems)


@pytest.mark.usefixtures("month_of_alerts")
def test_the_period_switch_and_csv_download_work_by_keyboard(signed_in: Page, problems: list[str]) -> None:
    page = signed_in
    page.set_viewport_size(DESKTOP)
    page.goto("/insights/alerts/metrics/")
    link = page.get_by_role("link", name="Last 7 days")
    link.focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/insights/alerts/metrics/\?days=7$"))
    expect(page.get_by_role("link", name="Last 7 days")).to_have_attribute("aria-current", "page")
    with page.expect_download() as download:
        page.get_by_test_id("chart-noisiest-rules").get_by_role("link", name="Download CSV").click()
    assert download.value.suggested_filename == "alert-metrics-noisiest-rules-7d.csv"
    assert_clean(page, problems)


@pytest.mark.usefixtures("month_of_alerts")
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_home_shows_the_sparkline_above_the_open_alerts_widget(signed_in: Page, problems: list[str], viewport) -> None:
    page = signed_in
    page.set_viewport_size(viewport)
    page.goto("/")
    sparkline = page.get_by_test_id("alerts-sparkline")
    expect(sparkline.locator("svg.sparkline")).to_be_visible()
    widget = page.get_by_test_id("open-alerts-widget")
    assert sparkline.bounding_box()["y"] < widget.bounding_box()["y"]
    expect(page.get_by_test_id("sparkline-totals")).to_contain_text("high")
    assert_fits(page)
    assert_clean(page, problems)


def test_metrics_page_without_alerts_shows_the_empty_state(signed_in: Page, problems: list[str]) -> None:
    page = signed_in
    page.set_viewport_size(PHONE)
    page.goto("/insights/alerts/metrics/")
    expect(page.get_by_test_id("metrics-empty")).to_contain_text("No alerts in the last 30 days")
    assert_fits(page)
    assert_clean(page, problems)

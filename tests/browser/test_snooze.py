"""Snooze in a real browser: the Snooze menus (1 hour / 4 hours / 1 day / custom, with a note) on the
rules dashboard, the alert page and the alerts dashboard's bulk actions; the badge; Unsnooze; the bell.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from alerts.models import Alert
from rules.models import Rule

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

BADGE = re.compile(r"Snoozed · .+ left")


def failed_login(event_id: str) -> dict[str, Any]:
    return {
        "id": event_id,
        "event_type": "user_login_attempt",
        "service": "directory",
        "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "initiated_by": {"id": "61c0ffee0000000000000a02", "type": "user", "email": "mallory@example.com"},
        "client_ip": "203.0.113.66",
        "success": False,
    }


@pytest.fixture
def two_alerts(failed_logins_rule: Rule, ingest: Callable[[Any], dict[str, Any]]) -> list[Alert]:
    ingest([failed_login("snooze-1"), failed_login("snooze-2")])
    return list(Alert.objects.order_by("pk"))


def test_admin_snoozes_a_rule_for_4_hours_from_the_rules_dashboard_then_unsnoozes_it(
    page: Page, login, make_user, failed_logins_rule: Rule
) -> None:
    login(page, make_user("admin"))
    page.goto("/insights/alerts/rules/")
    row = page.locator(f"#rule-row-{failed_logins_rule.pk}")
    row.locator("summary", has_text="Snooze").click()
    row.get_by_label("Note").fill("Pen test this afternoon")
    row.get_by_role("button", name="4 hours").click()

    expect(page.get_by_text("snoozed until")).to_be_visible()
    expect(row.get_by_test_id("snoozed-badge")).to_have_text(BADGE)
    rule = Rule.objects.get(pk=failed_logins_rule.pk)
    assert rule.snoozed and rule.snooze_note == "Pen test this afternoon"

    row.get_by_role("button", name=f"Unsnooze {rule.name}").click()
    expect(row.get_by_test_id("snoozed-badge")).to_have_count(0)
    assert Rule.objects.get(pk=rule.pk).snoozed_until is None


def test_responder_snoozes_an_alert_from_its_page_and_it_leaves_the_bell(
    page: Page, login, make_user, two_alerts: list[Alert]
) -> None:
    first = two_alerts[0]
    login(page, make_user("responder"))
    page.goto(f"/insights/alerts/{first.pk}/")
    expect(page.get_by_test_id("bell-count")).to_have_text("2")
    page.locator("summary", has_text="Snooze").click()
    page.get_by_role("button", name="1 hour").click()

    expect(page.get_by_test_id("alert-snoozed")).to_be_visible()
    expect(page.get_by_test_id("snoozed-badge")).to_have_text(BADGE)
    expect(page.get_by_test_id("alert-status")).to_have_text("Open")
    expect(page.get_by_test_id("bell-count")).to_have_text("1")

    page.get_by_role("button", name=f"Unsnooze {first.reference}").click()
    expect(page.get_by_test_id("alert-snoozed")).to_have_count(0)
    expect(page.get_by_test_id("bell-count")).to_have_text("2")


def test_a_custom_snooze_ends_at_the_chosen_time(page: Page, login, make_user, two_alerts: list[Alert]) -> None:
    first = two_alerts[0]
    login(page, make_user("responder"))
    page.goto(f"/insights/alerts/{first.pk}/")
    page.locator("summary", has_text="Snooze").click()
    until = (datetime.now(UTC) + timedelta(days=3)).replace(second=0, microsecond=0)
    page.get_by_label("Until (UTC)").fill(until.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Snooze until then").click()
    expect(page.get_by_test_id("alert-snoozed")).to_contain_text(until.strftime("%Y-%m-%d %H:%M"))
    assert Alert.objects.get(pk=first.pk).snoozed_until == until


def test_responder_bulk_snoozes_selected_alerts_for_a_day_from_the_dashboard(
    page: Page, login, make_user, two_alerts: list[Alert]
) -> None:
    login(page, make_user("responder"))
    page.goto("/insights/alerts/")
    for alert in two_alerts:
        page.get_by_label(f"Select {alert.reference}").check()
    page.get_by_label("Remark").fill("Weekend change window")
    page.locator("summary", has_text="Snooze").click()
    page.get_by_role("button", name="1 day").click()

    expect(page.get_by_text("Snoozed 2 alerts.")).to_be_visible()
    expect(page.get_by_test_id("snoozed-badge")).to_have_count(2)
    expect(page.get_by_test_id("bell-count")).to_have_text("0")
    assert set(Alert.objects.values_list("snooze_note", flat=True)) == {"Weekend change window"}


def test_a_viewer_sees_the_badge_but_no_snooze_menu(page: Page, login, make_user, two_alerts: list[Alert]) -> None:
    from alerts.services import alert_snooze

    alert_snooze(alert=two_alerts[0], body={"minutes": 60}, actor=None)
    login(page, make_user("viewer"))
    page.goto(f"/insights/alerts/{two_alerts[0].pk}/")
    expect(page.get_by_test_id("snoozed-badge")).to_have_text(BADGE)
    expect(page.locator("summary", has_text="Snooze")).to_have_count(0)

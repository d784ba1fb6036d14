"""Settings > Maintenance Windows in a real browser: add a window after previewing what it would have
muted, see it listed as active, delete it with the confirmation; readers see it read-only."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from alerts.models import Alert, MaintenanceWindow
from rules.models import Rule
from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def failed_login(event_id: str, at: datetime) -> dict[str, Any]:
    return {
        "id": event_id,
        "event_type": "user_login_attempt",
        "service": "directory",
        "timestamp": at.isoformat().replace("+00:00", "Z"),
        "initiated_by": {"id": "61c0ffee0000000000000a02", "type": "user", "email": "mallory@example.com"},
        "client_ip": "203.0.113.66",
        "success": False,
    }


def test_admin_previews_then_adds_a_window_and_deletes_it(
    page: Page, login, make_user, failed_logins_rule: Rule, ingest: Callable[[Any], dict[str, Any]]
) -> None:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    ingest([failed_login("mw-yesterday", now - timedelta(days=1)), failed_login("mw-old", now - timedelta(days=3))])
    assert Alert.objects.count() == 2
    login(page, make_user("admin"))
    page.goto("/settings/maintenance-windows/")
    expect(page.get_by_test_id("windows-empty")).to_be_visible()
    page.get_by_role("link", name="+Add").click()

    start = now - timedelta(days=5, hours=1)
    page.get_by_label("Name").fill("Daily patching")
    page.get_by_label("Time zone").fill("UTC")
    page.get_by_label("Starts").fill(start.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Ends").fill((start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"))
    page.locator("#id_recurrence").select_option("RRULE:FREQ=DAILY")
    page.get_by_test_id("window-preview-button").click()
    # Every day at the same hour: yesterday's and the 3-day-old event fall inside.
    expect(page.get_by_test_id("window-preview-summary")).to_contain_text("raised 2 alerts silently")
    expect(page.get_by_test_id("window-preview-sample").locator("li")).to_have_count(2)
    screenshot(page, "maintenance-window-form")
    assert not MaintenanceWindow.objects.exists()

    page.get_by_role("button", name="Add window").click()
    row = page.get_by_test_id("window-row")
    expect(row).to_contain_text("Daily patching")
    expect(row.get_by_test_id("window-state")).to_have_text("Active")
    assert MaintenanceWindow.objects.get().recurrence == "RRULE:FREQ=DAILY"
    screenshot(page, "maintenance-windows")

    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Delete").click()
    expect(page.get_by_test_id("windows-empty")).to_be_visible()
    assert not MaintenanceWindow.objects.exists()


def test_a_viewer_sees_windows_read_only(page: Page, login, make_user) -> None:
    now = datetime.now(UTC)
    MaintenanceWindow.objects.create(
        name="Tonight", starts_at=now + timedelta(hours=2), ends_at=now + timedelta(hours=4), muted_alerts=3
    )
    login(page, make_user("viewer"))
    page.goto("/settings/maintenance-windows/")
    row = page.get_by_test_id("window-row")
    expect(row.get_by_test_id("window-state")).to_have_text("Upcoming")
    expect(row.get_by_test_id("window-muted")).to_have_text("3 alerts, 0 notifications")
    expect(page.get_by_role("link", name="+Add")).to_have_count(0)
    expect(row.get_by_role("button", name="Delete")).to_have_count(0)

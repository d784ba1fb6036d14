"""Rule history in a real browser: a save with a Change note shows in History as a change in words,
and Restore (after its confirmation) brings the old rule back as a new version (api.md section 10)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from rules.models import Rule, RuleVersion
from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_history_shows_the_change_and_restore_brings_the_old_rule_back(
    page: Page, login, make_user, failed_logins_rule: Rule
) -> None:
    login(page, make_user("admin"))
    page.goto(f"/insights/alerts/rules/{failed_logins_rule.pk}/edit/")
    page.get_by_label("Priority").select_option("low")
    page.get_by_label("Change note").fill("Too noisy at night")
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url("/insights/alerts/rules/")

    page.goto(f"/insights/alerts/rules/{failed_logins_rule.pk}/edit/")
    page.get_by_role("link", name="History").click()
    newest = page.get_by_test_id("rule-version").first
    expect(newest.get_by_role("heading")).to_contain_text("Version 2")
    expect(newest.get_by_test_id("version-note")).to_contain_text("Too noisy at night")
    expect(newest.locator("dd[data-field='priority']")).to_contain_text("High")
    expect(newest.locator("dd[data-field='priority'] ins")).to_have_text("Low")
    screenshot(page, "rule-history")

    # Cancel on the confirmation keeps everything as it is.
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_test_id("restore-version").click()
    expect(page.get_by_test_id("rule-version")).to_have_count(2)

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("restore-version").click()
    expect(page.locator(".messages")).to_contain_text("Restored version 1")
    expect(page.get_by_test_id("rule-version")).to_have_count(3)
    newest = page.get_by_test_id("rule-version").first
    expect(newest.get_by_test_id("version-note")).to_contain_text("Restored version 1.")
    expect(newest.locator("dd[data-field='priority'] ins")).to_have_text("High")

    failed_logins_rule.refresh_from_db()
    assert failed_logins_rule.priority == "high"
    assert RuleVersion.objects.filter(rule=failed_logins_rule).count() == 3


def test_what_would_change_answers_in_the_form_before_saving(
    page: Page, login, make_user, failed_logins_rule: Rule
) -> None:
    login(page, make_user("admin"))
    page.goto(f"/insights/alerts/rules/{failed_logins_rule.pk}/edit/")
    page.locator("#advanced summary").click()
    page.get_by_label("Threshold: number of events").fill("5")
    page.get_by_label("Threshold window (minutes)").fill("10")
    page.get_by_role("button", name="What would change?").click()
    expect(page.get_by_test_id("change-preview")).to_contain_text("You changed: Threshold.")
    expect(page.get_by_test_id("change-summary")).to_contain_text("Alerts 0 → 0")
    failed_logins_rule.refresh_from_db()
    assert failed_logins_rule.threshold is None

"""The rule form's Detection part (Advanced section, api.md section 12): New value and Sequence,
picked in plain words, keys offered from the selected events, steps listed in order, and saved."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from rules.models import Rule

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

NEW_RULE = "/insights/alerts/rules/new/?template=event_based"


def pick_event(page: Page, entry_id: str) -> None:
    page.get_by_label("Search events").fill(entry_id)
    page.locator(f"#conditions li[data-entry='{entry_id}']").get_by_role("checkbox").check()
    page.get_by_label("Search events").fill("")


def open_advanced(page: Page) -> None:
    page.locator("#advanced summary").click()
    expect(page.locator("#detection")).to_be_visible()


def test_new_value_picked_from_the_keys_of_the_selected_event_and_saved(page: Page, login, make_user) -> None:
    login(page, make_user("admin"))
    page.goto(NEW_RULE)
    page.get_by_label("Rule Name").fill("First login from a new country")
    pick_event(page, "user_login_attempt")
    open_advanced(page)

    new_value = page.locator("#detection-new-value")
    expect(new_value).to_be_hidden()
    page.locator("#id_detection_type_new_value").check()
    expect(new_value).to_be_visible()
    keys = page.locator("#detection-fields-keys")
    expect(keys).to_be_visible()
    keys.get_by_label("initiated_by.email", exact=True).check()
    keys.get_by_label("geoip.country_code", exact=True).check()
    expect(page.locator("#id_detection_fields")).to_have_value("initiated_by.email, geoip.country_code")
    page.get_by_label("Remember for (days)").fill("30")
    expect(page.get_by_test_id("rule-preview")).to_contain_text("Would have matched")

    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url("/insights/alerts/rules/")
    rule = Rule.objects.get(name="First login from a new country")
    assert rule.detection == {
        "type": "new_value",
        "fields": ["initiated_by.email", "geoip.country_code"],
        "history_days": 30,
    }


def test_sequence_lists_the_selected_events_as_steps_and_saves(page: Page, login, make_user) -> None:
    login(page, make_user("admin"))
    page.goto(NEW_RULE)
    page.get_by_label("Rule Name").fill("TOTP disabled then password changed")
    pick_event(page, "admin_totp_disable")
    pick_event(page, "admin_password_change")
    open_advanced(page)

    page.locator("#id_detection_type_sequence").check()
    steps = page.get_by_test_id("detection-steps").locator("li")
    expect(steps).to_have_text(["admin_totp_disable", "admin_password_change"])
    page.locator("#detection-by-keys").get_by_label("resource.email", exact=True).check()
    page.get_by_label("Within (minutes)").fill("0")
    page.get_by_role("button", name="Save").click()

    # A window of 0 is refused next to its field; fixing it saves.
    expect(page.locator("#detection-within-error")).to_be_visible()
    page.get_by_label("Within (minutes)").fill("10")
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url("/insights/alerts/rules/")
    rule = Rule.objects.get(name="TOTP disabled then password changed")
    assert rule.detection == {"type": "sequence", "steps": [0, 1], "by": ["resource.email"], "within_minutes": 10}

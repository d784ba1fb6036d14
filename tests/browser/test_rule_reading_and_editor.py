"""The rule form's selected events (summary chip, Edit / Remove, spec 4), the value dropdown of
enumerated keys (spec 3.1 step 4), and a viewer reading a rule from an alert (spec 1.8, api.md 2)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from alerts.models import Alert
from rules.models import Rule

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

NEW_RULE = "/insights/alerts/rules/new/?template=event_based"


def conditions_sent(page: Page) -> list[dict[str, Any]]:
    """What the form posts as `conditions` right now."""
    return json.loads(page.locator("#id_conditions").input_value())


def pick_event(page: Page, entry_id: str):
    page.get_by_label("Search events").fill(entry_id)
    entry = page.locator(f"#conditions li[data-entry='{entry_id}']")
    entry.get_by_role("checkbox").check()
    page.get_by_label("Search events").fill("")
    return entry


def test_a_selected_event_shows_a_summary_chip_with_edit_and_remove(page: Page, login, make_user) -> None:
    login(page, make_user("admin"))
    page.goto(NEW_RULE)
    entry = pick_event(page, "user_login_attempt")

    chip = entry.locator(".event-filters")
    expect(chip).to_have_text("No filters")
    expect(entry.get_by_role("button", name="Remove", exact=True)).to_be_visible()
    entry.get_by_role("button", name="+ Add", exact=True).click()
    entry.get_by_role("button", name="+Add", exact=True).click()
    entry.get_by_role("group", name="Filter 1", exact=True).get_by_label("Select Key").select_option("success")
    expect(chip).to_have_text("1 filter, All")
    entry.get_by_label("Matching logic").select_option("any")
    expect(chip).to_have_text("1 filter, Any")

    # Done closes the filters; "Edit" (no longer "+ Add") opens them again.
    entry.get_by_role("button", name="Done", exact=True).click()
    expect(entry.get_by_role("group", name="Filter 1", exact=True)).to_have_count(0)
    expect(entry.get_by_role("button", name="+ Add", exact=True)).to_have_count(0)
    entry.get_by_role("button", name="Edit", exact=True).click()
    expect(entry.get_by_role("group", name="Filter 1", exact=True)).to_be_visible()

    # Remove unselects the event, focus stays on it, and ticking it again brings its filters back.
    entry.get_by_role("button", name="Remove", exact=True).click()
    expect(entry.get_by_role("checkbox")).not_to_be_checked()
    expect(entry.get_by_role("checkbox")).to_be_focused()
    expect(page.locator("#selected-empty")).to_be_visible()
    assert conditions_sent(page) == []
    entry.get_by_role("checkbox").check()
    expect(chip).to_have_text("1 filter, Any")
    assert conditions_sent(page) == [
        {
            "event_type": "user_login_attempt",
            "match": "any",
            "filters": [{"key": "success", "operator": "eq", "value": False}],
        }
    ]


def test_an_enumerated_key_offers_its_known_values(page: Page, login, make_user) -> None:
    login(page, make_user("admin"))
    page.goto(NEW_RULE)
    page.get_by_label("Rule Name").fill("Association ops")
    entry = pick_event(page, "association_change")
    entry.get_by_role("button", name="+ Add", exact=True).click()
    entry.get_by_role("button", name="+Add", exact=True).click()
    row = entry.get_by_role("group", name="Filter 1", exact=True)
    row.get_by_label("Select Key").select_option("association.op")
    row.get_by_label("Operator").select_option("eq")

    # One value: a dropdown of the known values, plus "Other value..." for anything else.
    value = row.get_by_label("Value", exact=True)
    expect(value.locator("option")).to_have_text(["Select value", "add", "remove", "update", "Other value\u2026"])
    value.select_option("remove")
    assert conditions_sent(page)[0]["filters"] == [{"key": "association.op", "operator": "eq", "value": "remove"}]
    value.select_option(label="Other value\u2026")
    other = row.get_by_label("Other value", exact=True)
    expect(other).to_be_focused()
    other.fill("merge")
    assert conditions_sent(page)[0]["filters"][0]["value"] == "merge"
    value.select_option("update")
    expect(row.get_by_label("Other value", exact=True)).to_have_count(0)

    # A list ("is one of"): a checkbox for each known value, the chosen one kept.
    row.get_by_label("Operator").select_option("in")
    values = row.get_by_role("group", name="Value", exact=True)
    expect(values.get_by_role("checkbox", name="update", exact=True)).to_be_checked()
    values.get_by_role("checkbox", name="add", exact=True).check()
    values.get_by_label("Other values").fill("merge")
    assert conditions_sent(page)[0]["filters"] == [
        {"key": "association.op", "operator": "in", "value": ["add", "update", "merge"]}
    ]

    # A key without known values keeps the text box.
    row.get_by_label("Select Key").select_option("association.connection.from.name")
    row.get_by_label("Operator").select_option("eq")
    expect(row.get_by_role("textbox", name="Value", exact=True)).to_be_visible()
    row.get_by_label("Select Key").select_option("association.op")
    row.get_by_label("Value", exact=True).select_option("add")

    page.get_by_role("button", name="Save", exact=True).click()
    expect(page).to_have_url(re.compile(r"/insights/alerts/rules/$"))
    rule = Rule.objects.get(name="Association ops")
    assert rule.conditions[0]["filters"] == [{"key": "association.op", "operator": "eq", "value": "add"}]


def test_a_viewer_follows_an_alert_to_its_rule_its_alerts_and_its_event(
    page: Page, login, make_user, ingest, failed_logins_rule: Rule
) -> None:
    rule = failed_logins_rule
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    ingest(
        {
            "id": "read-1",
            "event_type": "user_login_attempt",
            "service": "directory",
            "timestamp": now,
            "initiated_by": {"type": "user", "email": "mallory@example.com"},
            "success": False,
        }
    )
    alert = Alert.objects.get(event__event_id="read-1")
    Alert.objects.filter(pk=alert.pk).update(status="resolved")
    login(page, make_user("viewer"))

    # The alert names its rule as a link; the rule reads in words, with nothing to change.
    page.goto(f"/insights/alerts/{alert.pk}/")
    page.get_by_role("link", name="Failed user logins", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Rule: Failed user logins")
    expect(page.get_by_test_id("rule-conditions")).to_contain_text("success equals false")
    expect(page.get_by_role("button", name="Save")).to_have_count(0)
    expect(page.get_by_role("textbox")).to_have_count(0)

    # Its alerts, resolved ones included.
    page.get_by_role("link", name="View this rule's alerts").click()
    expect(page).to_have_url(re.compile(rf"/insights/alerts/\?rule={rule.pk}&status=open"))
    expect(page.get_by_role("link", name=alert.reference, exact=True)).to_be_visible()

    # The alert's event, in the event log.
    page.goto(f"/insights/alerts/{alert.pk}/")
    page.get_by_role("link", name="Event read-1 in the event log").click()
    expect(page).to_have_url(re.compile(r"/insights/events/\?event_type=user_login_attempt&search=read-1$"))
    expect(page.get_by_title("mallory@example.com", exact=True)).to_be_visible()  # Who (IP under it)


def test_operators_follow_the_key_type_and_changed_needs_changes(page: Page, login, make_user) -> None:
    login(page, make_user("admin"))
    page.goto(NEW_RULE)
    entry = pick_event(page, "user_login_attempt")
    entry.get_by_role("button", name="+ Add", exact=True).click()
    entry.get_by_role("button", name="+Add", exact=True).click()
    row = entry.get_by_role("group", name="Filter 1", exact=True)
    row.get_by_label("Select Key").select_option("success")
    offered = row.get_by_label("Operator").locator("option").all_inner_texts()
    assert "contains" not in offered and "is greater than" not in offered
    assert not any(text.startswith("changed") for text in offered)  # a login carries no changes[]
    assert conditions_sent(page)[0]["filters"][0]["operator"] == "eq"

    update = pick_event(page, "user_update")
    update.get_by_role("button", name="+ Add", exact=True).click()
    update.get_by_role("button", name="+Add", exact=True).click()
    options = update.get_by_role("group", name="Filter 1", exact=True).get_by_label("Operator").locator("option")
    assert any(text.startswith("changed") for text in options.all_inner_texts())

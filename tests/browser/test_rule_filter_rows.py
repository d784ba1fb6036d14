"""A filter row of the rule form reads right (issue 17, part 4; spec 3.1 step 4, api.md section 4):

- the Operator dropdown is wide enough for its longest choice ("is not in network");
- an IP-address key offers only the operators that fit an address (no "is greater than");
- a true/false value is a True / False choice, sent as a JSON boolean;
- a rule whose stored values are JSON booleans comes back from the form unchanged, and the API
  and the console agree on its JSON.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from rules.models import Rule

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

NEW_RULE = "/insights/alerts/rules/new/?template=event_based"
ADDRESS_OPERATORS = [
    "equals",
    "does not equal",
    "starts with",
    "is one of",
    "is not one of",
    "matches regex",
    "exists",
    "does not exist",
    "is in network",
    "is not in network",
]


def conditions_sent(page: Page) -> list[dict[str, Any]]:
    """What the form posts as `conditions` right now."""
    return json.loads(page.locator("#id_conditions").input_value())


def first_filter_row(page: Page, entry_id: str) -> Locator:
    """Select the event, open its filters and add one row."""
    page.get_by_label("Search events").fill(entry_id)
    entry = page.locator(f"#conditions li[data-entry='{entry_id}']")
    entry.get_by_role("checkbox").check()
    page.get_by_label("Search events").fill("")
    entry.get_by_role("button", name="+ Add", exact=True).click()
    entry.get_by_role("button", name="+Add", exact=True).click()
    return entry.get_by_role("group", name="Filter 1", exact=True)


def widths(select: Locator) -> tuple[float, float]:
    """The dropdown's width as laid out, and the width it needs to show its widest option whole."""
    return select.evaluate(
        """select => {
            const shown = select.getBoundingClientRect().width;
            const before = select.style.width;
            select.style.width = "max-content";
            const needed = select.getBoundingClientRect().width;
            select.style.width = before;
            return [shown, needed];
        }"""
    )


@pytest.mark.parametrize("viewport_width", [1366, 1120])
def test_the_operator_dropdown_is_wide_enough_for_is_not_in_network(
    page: Page, login, make_user, viewport_width: int
) -> None:
    page.set_viewport_size({"width": viewport_width, "height": 900})
    login(page, make_user("admin"))
    page.goto(NEW_RULE)
    row = first_filter_row(page, "user_login_attempt")
    row.get_by_label("Select Key").select_option("client_ip")
    operator = row.get_by_label("Operator")
    operator.select_option(label="is not in network")

    shown, needed = widths(operator)
    assert shown >= needed, f"the Operator dropdown is {shown}px, 'is not in network' needs {needed}px"
    # The row still fits its panel: nothing pushed out of view to make room.
    row_box, panel_box = row.bounding_box(), row.locator("xpath=ancestor::div[contains(@class,'filters-panel')]")
    assert (
        row_box is not None
        and row_box["x"] + row_box["width"] <= panel_box.bounding_box()["x"] + panel_box.bounding_box()["width"] + 1
    )


def test_an_ip_address_key_offers_only_the_operators_that_fit(page: Page, login, make_user) -> None:
    login(page, make_user("admin"))
    page.goto(NEW_RULE)
    page.get_by_label("Rule Name").fill("Logins from outside the office")
    row = first_filter_row(page, "user_login_attempt")
    row.get_by_label("Select Key").select_option("client_ip")
    operator = row.get_by_label("Operator")
    expect(operator.locator("option")).to_have_text(ADDRESS_OPERATORS)

    # Any other key of text keeps the string operators, but never a network.
    row.get_by_label("Select Key").select_option("initiated_by.email")
    labels = operator.locator("option").all_inner_texts()
    assert "is greater than" in labels and "contains" in labels
    assert "is in network" not in labels and "is not in network" not in labels

    row.get_by_label("Select Key").select_option("client_ip")
    operator.select_option(label="is not in network")
    row.get_by_label("Value", exact=True).fill("10.0.0.0/8, 192.168.0.0/16")
    assert conditions_sent(page)[0]["filters"] == [
        {"key": "client_ip", "operator": "not_in_cidr", "value": ["10.0.0.0/8", "192.168.0.0/16"]}
    ]
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page).to_have_url(re.compile(r"/insights/alerts/rules/$"))
    rule = Rule.objects.get(name="Logins from outside the office")
    assert rule.conditions[0]["filters"][0]["operator"] == "not_in_cidr"


def test_a_device_address_key_offers_the_same_operators(page: Page, login, make_user) -> None:
    login(page, make_user("admin"))
    page.goto(NEW_RULE)
    row = first_filter_row(page, "user_login")
    row.get_by_label("Select Key").select_option("src_ip")
    expect(row.get_by_label("Operator").locator("option")).to_have_text(ADDRESS_OPERATORS)


def test_a_boolean_value_is_a_true_false_choice(page: Page, login, make_user) -> None:
    login(page, make_user("admin"))
    page.goto(NEW_RULE)
    row = first_filter_row(page, "user_login_attempt")
    row.get_by_label("Select Key").select_option("success")

    value = row.get_by_role("radiogroup", name="Value")
    expect(value.get_by_role("radio")).to_have_count(2)
    expect(value.get_by_role("radio", name="True", exact=True)).not_to_be_checked()
    expect(value.get_by_role("radio", name="False", exact=True)).to_be_checked()
    expect(row.get_by_role("checkbox")).to_have_count(0)  # no bare checkbox labelled "false"
    expect(row.get_by_role("switch")).to_have_count(0)

    value.get_by_role("radio", name="True", exact=True).check()
    assert conditions_sent(page)[0]["filters"] == [{"key": "success", "operator": "eq", "value": True}]
    row.get_by_label("Operator").select_option("neq")
    expect(value.get_by_role("radio", name="True", exact=True)).to_be_checked()
    value.get_by_role("radio", name="False", exact=True).check()
    assert conditions_sent(page)[0]["filters"] == [{"key": "success", "operator": "neq", "value": False}]


BOOLEAN_CONDITIONS = [
    {
        "event_type": "user_login_attempt",
        "match": "any",
        "filters": [
            {"key": "success", "operator": "eq", "value": False},
            {"key": "mfa", "operator": "neq", "value": True},
            {"key": "auth_context.auth_methods.totp.success", "operator": "eq", "value": True},
            {"key": "success", "operator": "in", "value": [False]},
            {"key": "custom.flag", "operator": "eq", "value": True},
        ],
    },
    {
        "event_type": "user_update",
        "match": "all",
        "filters": [{"key": "suspended", "operator": "changed_to", "value": True}],
    },
    {"event_type": "admin_totp_disable", "expression": "success == false"},
]


def test_stored_boolean_values_round_trip_through_the_form_unchanged(page: Page, login, make_user, auth_client) -> None:
    api = auth_client("admin")
    body = {"name": "Booleans", "priority": "medium", "conditions": BOOLEAN_CONDITIONS}
    created = api.post("/api/v1/rules", body, format="json")
    assert created.status_code == 201, created.content
    rule_id = created.json()["id"]
    before = api.get(f"/api/v1/rules/{rule_id}").json()

    login(page, make_user("admin"))
    page.goto(f"/insights/alerts/rules/{rule_id}/edit/")
    assert conditions_sent(page) == BOOLEAN_CONDITIONS  # the editor reads them as stored
    entry = page.locator("#conditions li[data-entry='user_login_attempt']")
    mfa = entry.get_by_role("group", name="Filter 2", exact=True).get_by_role("radiogroup", name="Value")
    expect(mfa.get_by_role("radio", name="True", exact=True)).to_be_checked()
    custom = entry.get_by_role("group", name="Filter 5", exact=True).get_by_role("radiogroup", name="Value")
    expect(custom.get_by_role("radio", name="True", exact=True)).to_be_checked()
    changed = page.locator("#conditions li[data-entry='user_update']").get_by_role("radiogroup", name="Value")
    expect(changed.get_by_role("radio", name="True", exact=True)).to_be_checked()

    page.get_by_label("Change note").fill("saved as it was")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page).to_have_url(re.compile(r"/insights/alerts/rules/$"))
    after = api.get(f"/api/v1/rules/{rule_id}").json()
    assert after["conditions"] == before["conditions"] == BOOLEAN_CONDITIONS

    # A value typed back into a list stays a JSON boolean, not the text "true".
    page.goto(f"/insights/alerts/rules/{rule_id}/edit/")
    in_list = entry.get_by_role("group", name="Filter 4", exact=True).get_by_label("Value", exact=True)
    in_list.fill("true, false")
    assert conditions_sent(page)[0]["filters"][3] == {"key": "success", "operator": "in", "value": [True, False]}

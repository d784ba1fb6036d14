"""The e-mail channel form in a real browser: "+ Recipients" rows (Name + Email) added and removed."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from channels.models import Channel

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_admin_adds_and_removes_recipient_rows(page: Page, login, make_user) -> None:
    login(page, make_user("admin"))
    page.goto("/settings/notification-channels/new/email/")
    expect(page.get_by_role("heading", name="Create Email Channel")).to_be_visible()
    box = page.locator("#recipients")
    expect(box).to_have_attribute("data-ready", "")
    shown = box.locator("[data-recipient-row]:visible")
    expect(shown).to_have_count(0)  # empty rows wait for "+ Recipients"

    page.get_by_label("Name", exact=True).fill("On-call")
    add = page.get_by_role("button", name="+ Recipients", exact=True)
    for n in range(1, 7):  # the form renders 5 rows: the 6th is made by the script
        add.click()
        name = page.get_by_label(f"Name of recipient {n}", exact=True)
        expect(name).to_be_focused()
        name.fill(f"Person {n}")
        page.get_by_label(f"Email of recipient {n}", exact=True).fill(f"person{n}@example.com")
    expect(shown).to_have_count(6)

    page.get_by_role("button", name="Remove recipient 2", exact=True).click()
    expect(shown).to_have_count(5)
    expect(page.get_by_label("Name of recipient 2", exact=True)).to_be_hidden()
    expect(add).to_be_focused()

    page.get_by_role("button", name="Create", exact=True).click()
    expect(page).to_have_url(re.compile(r"/settings/notification-channels/\?tab=email$"))
    expect(page.get_by_role("row").filter(has_text="On-call")).to_contain_text("5 addresses")
    assert Channel.objects.get(name="On-call").config["recipients"] == [
        {"name": f"Person {n}", "email": f"person{n}@example.com"} for n in (1, 3, 4, 5, 6)
    ]

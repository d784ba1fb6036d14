"""The channel form's live message preview in Chromium: typing a template re-renders it (htmx,
debounced), errors show in place, and nothing breaks the Content-Security-Policy."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_typing_a_template_updates_the_preview(page: Page, login, make_user) -> None:
    violations: list[str] = []
    page.on(
        "console",
        lambda message: violations.append(message.text) if "Content Security Policy" in message.text else None,
    )
    login(page, make_user("admin"))
    page.goto("/settings/notification-channels/new/email/")
    page.get_by_text("Advanced: Message").click()
    preview = page.locator("#template-preview")
    expect(preview).to_contain_text("(default)")  # shown once the section opens

    page.get_by_label("Subject", exact=True).fill("[{{ alert.priority|upper }}] {{ alert.reference }}")
    expect(preview).to_contain_text("[HIGH] ALR-000000")
    expect(preview).to_contain_text("(your template)")

    page.get_by_label("Body (plain text)", exact=True).fill("{{ alert.title|shout }}")
    expect(preview).to_contain_text("Invalid filter: 'shout'")
    assert violations == []

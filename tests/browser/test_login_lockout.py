"""The console's login page in a real browser once the throttle refuses: a clear message, no error page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def sign_in(page: Page, username: str, password: str) -> None:
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_after_repeated_failures_the_login_page_says_to_wait_and_the_right_password_is_refused(
    page: Page, make_user, settings
):
    settings.ALERTSITE_LOGIN_MAX_FAILURES = 3
    user = make_user("viewer")
    page.goto("/accounts/login/")
    for attempt in range(3):
        sign_in(page, user.username, f"wrong-{attempt}")
        expect(page.get_by_role("alert")).to_contain_text("Please enter a correct username and password")

    sign_in(page, user.username, PASSWORD)

    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Too many failed sign-in attempts")
    expect(alert).to_contain_text(re.compile(r"Try again in 15 minutes \(after \d\d:\d\d UTC\)"))
    expect(page).to_have_url(re.compile(r"/accounts/login/?$"))
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()

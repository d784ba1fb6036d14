"""The PagerDuty channel in a real browser: created from its tab, key write-only, Test shows PagerDuty's 202, no CSP violation."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from alertsite.crypto import MASK
from channels.models import Channel
from tests.browser.test_content_security_policy import assert_no_violation, violations  # noqa: F401 - fixture
from tests.pagerduty_standin import PagerDutyStandIn

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

KEY = "BR0WSERKEY0123456789abcdefABCDEF"


def test_admin_creates_tests_and_edits_a_pagerduty_channel(page: Page, login, make_user, violations) -> None:  # noqa: F811
    login(page, make_user("admin"))
    with PagerDutyStandIn() as pagerduty:
        page.goto("/settings/notification-channels/?tab=pagerduty")
        page.get_by_role("link", name="+Add").click()
        expect(page.get_by_role("heading", name="Create PagerDuty Channel")).to_be_visible()
        page.get_by_label("Name", exact=True).fill("On-call")
        page.get_by_label("Integration Key (routing key)").fill(KEY)
        page.get_by_label("Events API URL").fill(pagerduty.url)
        page.get_by_role("button", name="Create", exact=True).click()
        expect(page).to_have_url(re.compile(r"/settings/notification-channels/\?tab=pagerduty$"))
        expect(page.get_by_role("cell", name="On-call", exact=True)).to_be_visible()

        page.get_by_role("button", name="Test", exact=True).click()
        expect(page.get_by_text(re.compile("202"))).to_be_visible()
        assert pagerduty.events[0]["event_action"] == "trigger"

        channel = Channel.objects.get()
        page.goto(f"/settings/notification-channels/{channel.pk}/edit/")
        expect(page.get_by_label("Integration Key (routing key)")).to_have_value(MASK)
        expect(page.get_by_text(f"/api/v1/integrations/pagerduty/{channel.pk}")).to_be_visible()
        assert KEY not in page.content()
    assert_no_violation(page, violations)

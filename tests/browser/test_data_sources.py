"""Settings > Data Sources in a real browser: connect an organisation (the vendor stand-in),
Test the key, Poll now, see the events in the log and the source's state, pause it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from events.sources.models import Source
from tests.sources.standin import VendorStandin

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_an_admin_connects_an_organisation_and_pulls_its_events(page: Page, login, make_user) -> None:
    with VendorStandin() as standin:
        standin.add(standin.make_events(42, start=datetime.now(UTC) - timedelta(hours=3)))
        login(page, make_user("admin"))
        page.goto("/")
        page.get_by_role("link", name="Data Sources").click()
        expect(page.get_by_text("No data sources yet")).to_be_visible()
        page.get_by_role("link", name="+Add").click()
        expect(page.get_by_role("heading", name="Connect a JumpCloud organisation")).to_be_visible()

        page.get_by_label("Name").fill("Acme JumpCloud")
        page.get_by_label("API key").fill("wrong-key")
        page.get_by_text("Advanced").click()
        page.get_by_label("API base URL").fill(standin.url)
        page.get_by_label("Events a page").fill("20000")
        page.get_by_role("button", name="Add source").click()
        expect(page.get_by_role("alert")).to_contain_text("Events a page: Must be from 1 to 10,000")
        expect(page.get_by_label("API key")).to_have_value("")  # never written back into the page

        page.get_by_label("API key").fill("wrong-key")
        page.get_by_label("Events a page").fill("20")
        page.get_by_role("button", name="Add source").click()
        expect(page).to_have_url(re.compile(r"/settings/data-sources/$"))
        row = page.get_by_role("row").filter(has_text="Acme JumpCloud")
        expect(row.get_by_test_id("source-state")).to_have_text("Never run")

        row.get_by_role("button", name="Test").click()
        expect(row.get_by_test_id("test-outcome")).to_have_text("Failed")
        expect(row).to_contain_text("refused the API key (401)")

        page.get_by_role("link", name="Edit").click()
        page.get_by_label("API key").fill("test-key")
        page.get_by_role("button", name="Save").click()
        row = page.get_by_role("row").filter(has_text="Acme JumpCloud")
        row.get_by_role("button", name="Test").click()
        expect(row.get_by_test_id("test-outcome")).to_have_text("Key works")

        row.get_by_role("button", name="Poll now").click()
        expect(page.get_by_role("status").first).to_contain_text("42 new events from 3 pages")
        row = page.get_by_role("row").filter(has_text="Acme JumpCloud")
        expect(row.get_by_test_id("source-state")).to_have_text("OK")
        expect(row).to_contain_text("42")

        page.get_by_role("link", name="Events", exact=True).click()
        newest = standin.events()[-1]
        # The type's cell (the service under it in small text).
        expect(page.get_by_role("cell", name=re.compile(rf"^{newest['event_type']}\b")).first).to_be_visible()

        page.goto("/settings/data-sources/")
        page.get_by_role("row").filter(has_text="Acme JumpCloud").get_by_role("button", name="Pause").click()
        row = page.get_by_role("row").filter(has_text="Acme JumpCloud")
        expect(row.get_by_test_id("source-state")).to_have_text("Paused")
        expect(row.get_by_role("button", name="Resume")).to_be_visible()
    assert not Source.objects.get().enabled


def test_a_viewer_sees_the_sources_but_no_buttons(page: Page, login, make_user) -> None:
    from events.sources.services import source_create

    source_create(data={"name": "Acme", "config": {"base_url": "http://127.0.0.1:9", "api_key": "k"}}, actor=None)
    login(page, make_user("viewer"))
    page.goto("/settings/data-sources/")
    expect(page.get_by_role("row").filter(has_text="Acme")).to_be_visible()
    expect(page.get_by_role("button", name="Poll now")).to_have_count(0)
    expect(page.get_by_role("link", name="+Add")).to_have_count(0)

"""Settings > Data Sources in the console: list, add, edit, Test, Poll now, Pause, Delete."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from events.models import AuditEvent
from events.sources.models import Source
from events.sources.services import source_create

pytestmark = pytest.mark.django_db

LIST = "/settings/data-sources/"


def form(standin, **overrides):
    data = {
        "name": "Acme JumpCloud",
        "enabled": "on",
        "api_key": "test-key",
        "org_ids": "",
        "services": ["all"],
        "start_time": (datetime.now(UTC) - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M"),
        "base_url": standin.url,
        "poll_interval_seconds": "60",
        "page_limit": "1000",
        "overlap_seconds": "300",
        "timeout_seconds": "30",
    }
    data.update(overrides)
    return data


def make(standin, **config) -> Source:
    start = (datetime.now(UTC) - timedelta(days=3)).isoformat()
    return source_create(
        data={
            "name": "Acme",
            "config": {"base_url": standin.url, "api_key": "test-key", "start_time": start, **config},
        },
        actor=None,
    )


def test_the_empty_list_says_how_to_start(login):
    page = login("admin").get(LIST).content.decode()
    assert "No data sources yet" in page and "+Add" in page


def test_settings_lists_data_sources_in_the_side_navigation(login):
    assert 'href="/settings/data-sources/"' in login("viewer").get("/").content.decode()


def test_an_admin_adds_a_source_with_the_form(login, vendor_standin):
    response = login("admin").post("/settings/data-sources/new/", form(vendor_standin))
    assert response.status_code == 302
    source = Source.objects.get()
    assert source.name == "Acme JumpCloud" and source.config["base_url"] == vendor_standin.url
    assert source.config["start_time"].endswith("Z")


def test_a_form_with_errors_names_them_and_stores_nothing(login, vendor_standin):
    response = login("admin").post(
        "/settings/data-sources/new/", form(vendor_standin, api_key="", page_limit="20000", org_ids="a\na")
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert "API key: The Directory Insights API key is required." in page
    assert "Events a page" in page and "Organization IDs" in page
    assert not Source.objects.exists()


def test_the_edit_form_never_shows_the_key_and_keeps_it_when_left_empty(login, vendor_standin):
    source = make(vendor_standin, api_key="sekrit-key-123")
    client = login("admin")
    page = client.get(f"/settings/data-sources/{source.pk}/edit/").content.decode()
    assert "sekrit-key-123" not in page and "Stored: leave empty to keep it" in page
    sealed = source.config["api_key"]
    response = client.post(
        f"/settings/data-sources/{source.pk}/edit/", form(vendor_standin, api_key="", name="Renamed")
    )
    assert response.status_code == 302
    source.refresh_from_db()
    assert source.name == "Renamed" and source.config["api_key"] == sealed


def test_the_list_shows_state_lag_and_events_pulled(login, vendor_standin):
    vendor_standin.add(vendor_standin.make_events(12))
    source = make(vendor_standin)
    client = login("admin")
    client.post(f"/settings/data-sources/{source.pk}/poll/")
    page = client.get(LIST).content.decode()
    assert 'data-testid="source-state">OK<' in page
    assert ">12<" in page
    assert AuditEvent.objects.exclude(service="alerts").count() == 12


def test_poll_now_says_what_it_stored(login, vendor_standin):
    vendor_standin.add(vendor_standin.make_events(7))
    source = make(vendor_standin)
    response = login("admin").post(f"/settings/data-sources/{source.pk}/poll/", follow=True)
    assert "7 new events from 1 page (0 already stored, 0 skipped)" in response.content.decode()


def test_test_answers_whether_the_key_works(login, vendor_standin):
    source = make(vendor_standin)
    client = login("admin")
    ok = client.post(f"/settings/data-sources/{source.pk}/test/", HTTP_HX_REQUEST="true").content.decode()
    assert "Key works" in ok
    vendor_standin.rotate_key("other")
    failed = client.post(f"/settings/data-sources/{source.pk}/test/", HTTP_HX_REQUEST="true").content.decode()
    assert "Failed" in failed and "401" in failed


def test_pause_and_resume(login, vendor_standin):
    source = make(vendor_standin)
    client = login("admin")
    client.post(f"/settings/data-sources/{source.pk}/pause/")
    source.refresh_from_db()
    assert source.state == "paused"
    assert "Resume" in client.get(LIST).content.decode()
    client.post(f"/settings/data-sources/{source.pk}/pause/")
    source.refresh_from_db()
    assert source.enabled


def test_delete_removes_the_source(login, vendor_standin):
    source = make(vendor_standin)
    login("admin").post(f"/settings/data-sources/{source.pk}/delete/")
    assert not Source.objects.exists()


@pytest.mark.parametrize("role", ["responder", "viewer"])
def test_readers_see_the_list_but_no_actions(login, vendor_standin, role):
    source = make(vendor_standin)
    client = login(role)
    page = client.get(LIST).content.decode()
    assert "Acme" in page and "Poll now" not in page and "+Add" not in page
    for action in ("poll", "pause", "test", "delete"):
        assert client.post(f"/settings/data-sources/{source.pk}/{action}/").status_code == 403
    assert client.get("/settings/data-sources/new/").status_code == 403


def test_a_backfill_under_way_shows_its_progress(login, vendor_standin):
    vendor_standin.add(
        vendor_standin.make_events(150, start=datetime.now(UTC) - timedelta(days=2), step=timedelta(minutes=1))
    )
    source = make(vendor_standin, page_limit=100)
    from events.sources.poller import source_poll

    source_poll(source.pk, max_seconds=0, manual=True)  # one page, then the deadline
    page = login("admin").get(LIST).content.decode()
    assert 'data-testid="source-progress"' in page and 'hx-trigger="every 5s"' in page


def test_saving_the_form_unchanged_keeps_the_start_time_and_the_checkpoint(login, vendor_standin):
    from events.sources.models import SourceCursor

    vendor_standin.add(vendor_standin.make_events(5))
    source = make(vendor_standin)
    client = login("admin")
    client.post(f"/settings/data-sources/{source.pk}/poll/")
    checkpoint = SourceCursor.objects.get(source=source).checkpoint
    stored = Source.objects.get().config["start_time"]
    response = client.post(
        f"/settings/data-sources/{source.pk}/edit/",
        form(vendor_standin, api_key="", name="Acme", start_time=stored[:16]),
    )
    assert response.status_code == 302
    assert Source.objects.get().config["start_time"] == stored
    assert SourceCursor.objects.get(source=source).checkpoint == checkpoint


def test_an_old_start_time_does_not_block_other_edits(vendor_standin, settings):
    from events.sources.services import source_update

    source = make(vendor_standin)
    Source.objects.filter(pk=source.pk).update(config={**source.config, "start_time": "2001-01-01T00:00:00.000Z"})
    source.refresh_from_db()
    updated = source_update(
        source=source, data={"config": {**source.config, "api_key": "********", "page_limit": 10}}, actor=None
    )
    assert updated.config["page_limit"] == 10 and updated.config["start_time"] == "2001-01-01T00:00:00.000Z"

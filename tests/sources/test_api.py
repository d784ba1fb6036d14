"""The sources API (api.md §8): shape, write-only key, roles, validation, poll and test."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alertsite.crypto import is_sealed
from events.models import AuditEvent
from events.sources.models import Source

pytestmark = pytest.mark.django_db

URL = "/api/v1/sources"


def body(standin, **config):
    return {
        "name": "Acme JumpCloud",
        "config": {"base_url": standin.url, "api_key": "test-key", **config},
    }


@pytest.fixture
def admin_api(auth_client):
    return auth_client("admin")


def test_a_source_is_created_with_defaults_and_a_masked_key(admin_api, vendor_standin):
    response = admin_api.post(URL, body(vendor_standin), format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["kind"] == "jumpcloud_directory_insights" and data["enabled"] is True
    config = data["config"]
    assert config["api_key"] == "********"
    assert config["org_ids"] == [] and config["services"] == ["all"]
    assert config["poll_interval_seconds"] == 60 and config["page_limit"] == 1000 and config["overlap_seconds"] == 300
    start = datetime.fromisoformat(config["start_time"])
    assert abs((datetime.now(UTC) - timedelta(hours=24) - start).total_seconds()) < 60
    assert data["status"]["state"] == "never_run" and data["status"]["events_ingested"] == 0
    assert data["status"]["checkpoint"] is None and data["status"]["lag_seconds"] is None


def test_the_key_is_sealed_at_rest_and_never_in_audit_events(admin_api, vendor_standin):
    admin_api.post(URL, body(vendor_standin, api_key="very-secret-key"), format="json")
    assert is_sealed(Source.objects.get().config["api_key"])
    assert not AuditEvent.objects.filter(payload__icontains="very-secret-key").exists()
    assert "very-secret-key" not in str(list(AuditEvent.objects.values_list("payload", flat=True)))


def test_a_patch_without_the_key_keeps_it(admin_api, vendor_standin):
    source_id = admin_api.post(URL, body(vendor_standin), format="json").json()["id"]
    sealed = Source.objects.get().config["api_key"]
    response = admin_api.patch(f"{URL}/{source_id}", {"config": {"page_limit": 500}}, format="json")
    assert response.status_code == 200, response.content
    assert Source.objects.get().config["api_key"] == sealed
    assert response.json()["config"]["page_limit"] == 500


@pytest.mark.parametrize(
    ("config", "path"),
    [
        ({"base_url": "ftp://example.com"}, "config.base_url"),
        ({"api_key": ""}, "config.api_key"),
        ({"services": ["directory", "nope"]}, "config.services[1]"),
        ({"start_time": "2001-01-01T00:00:00Z"}, "config.start_time"),
        ({"start_time": "2999-01-01T00:00:00Z"}, "config.start_time"),
        ({"start_time": "yesterday"}, "config.start_time"),
        ({"page_limit": 0}, "config.page_limit"),
        ({"page_limit": 10_001}, "config.page_limit"),
        ({"org_ids": ["a1", "a1"]}, "config.org_ids[1]"),
        ({"org_ids": ["bad id!"]}, "config.org_ids[0]"),
        ({"color": "red"}, "config.color"),
    ],
)
def test_bad_config_answers_400_naming_the_field(admin_api, vendor_standin, config, path):
    response = admin_api.post(URL, body(vendor_standin, **config), format="json")
    assert response.status_code == 400
    assert path in response.json(), response.json()
    assert not Source.objects.exists()


def test_a_private_base_url_is_refused_without_the_switch(admin_api, settings):
    settings.ALERTSITE_SOURCE_ALLOW_PRIVATE = False
    response = admin_api.post(
        URL, {"name": "x", "config": {"base_url": "http://127.0.0.1:9", "api_key": "k"}}, format="json"
    )
    assert response.status_code == 400
    assert "ALERTSITE_SOURCE_ALLOW_PRIVATE" in response.json()["config.base_url"][0]


def test_a_duplicate_name_is_refused(admin_api, vendor_standin):
    admin_api.post(URL, body(vendor_standin), format="json")
    response = admin_api.post(URL, body(vendor_standin), format="json")
    assert response.status_code == 400 and "name" in response.json()


@pytest.mark.parametrize("role", ["responder", "viewer"])
def test_readers_may_read_but_not_write(auth_client, admin_api, vendor_standin, role):
    source_id = admin_api.post(URL, body(vendor_standin), format="json").json()["id"]
    client = auth_client(role)
    assert client.get(URL).status_code == 200
    assert client.get(f"{URL}/{source_id}/").status_code == 200
    assert client.post(URL, body(vendor_standin), format="json").status_code == 403
    assert client.post(f"{URL}/{source_id}/poll").status_code == 403
    assert client.delete(f"{URL}/{source_id}").status_code == 403


def test_ingest_only_users_may_not_read_sources(auth_client):
    assert auth_client("ingest").get(URL).status_code == 403


def test_poll_now_pulls_the_events_and_reports_the_counts(admin_api, vendor_standin):
    vendor_standin.add(vendor_standin.make_events(30))
    source_id = admin_api.post(
        URL, body(vendor_standin, start_time=(datetime.now(UTC) - timedelta(days=3)).isoformat()), format="json"
    ).json()["id"]
    response = admin_api.post(f"{URL}/{source_id}/poll")
    assert response.status_code == 200
    assert response.json() == {
        "pages": 1,
        "fetched": 30,
        "accepted": 30,
        "duplicates": 0,
        "skipped": 0,
        "more": False,
        "error": None,
    }
    status = admin_api.get(f"{URL}/{source_id}").json()["status"]
    assert status["state"] == "ok" and status["events_ingested"] == 30
    assert set(status["checkpoint"]) == {"default"} and status["lag_seconds"] > 0


def test_test_checks_the_key_with_one_row(admin_api, vendor_standin):
    source_id = admin_api.post(URL, body(vendor_standin), format="json").json()["id"]
    assert admin_api.post(f"{URL}/{source_id}/test").json() == {"ok": True, "status_code": 200, "error": None}
    vendor_standin.rotate_key("new-key")
    answer = admin_api.post(f"{URL}/{source_id}/test").json()
    assert answer["ok"] is False and answer["status_code"] == 401 and "key" in answer["error"]
    assert vendor_standin.event_requests[0].body["limit"] == 1


def test_pausing_shows_state_paused(admin_api, vendor_standin):
    source_id = admin_api.post(URL, body(vendor_standin), format="json").json()["id"]
    data = admin_api.patch(f"{URL}/{source_id}", {"enabled": False}, format="json").json()
    assert data["status"]["state"] == "paused"


def test_deleting_a_source_keeps_its_events(admin_api, vendor_standin):
    vendor_standin.add(vendor_standin.make_events(5))
    source_id = admin_api.post(
        URL, body(vendor_standin, start_time=(datetime.now(UTC) - timedelta(days=3)).isoformat()), format="json"
    ).json()["id"]
    admin_api.post(f"{URL}/{source_id}/poll")
    assert admin_api.delete(f"{URL}/{source_id}").status_code == 204
    assert AuditEvent.objects.exclude(service="alerts").count() == 5


def test_poll_sources_once_drains_every_enabled_source(vendor_standin, capsys):
    from django.core.management import call_command

    from events.sources.services import source_create

    vendor_standin.add(vendor_standin.make_events(250))
    start = (datetime.now(UTC) - timedelta(days=3)).isoformat()
    source_create(data=body(vendor_standin, start_time=start, page_limit=100), actor=None)
    call_command("poll_sources", "--once", "--no-progress")
    assert "3 pages, 250 fetched, 250 new" in capsys.readouterr().out
    assert AuditEvent.objects.exclude(service="alerts").count() == 250


def test_poll_sources_names_an_unknown_source():
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="No source with id 99"):
        call_command("poll_sources", "--source", "99")


def test_a_source_whose_key_cannot_be_opened_still_lists_with_its_status(admin_api, vendor_standin):
    """Rotating ALERTSITE_ENCRYPTION_KEY without the old one must not take the list down: the
    status needs no key (the poll then fails with a clear error, tested with the faults)."""
    source_id = admin_api.post(URL, body(vendor_standin), format="json").json()["id"]
    Source.objects.filter(pk=source_id).update(
        config={**Source.objects.get().config, "api_key": {"$enc": "not-a-token"}}
    )
    response = admin_api.get(URL)
    assert response.status_code == 200
    assert response.json()[0]["status"]["state"] == "never_run"

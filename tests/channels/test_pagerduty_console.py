"""The console's PagerDuty channels: the PagerDuty tab, the form (write-only key and secret), Test, the log."""

from __future__ import annotations

import pytest

from alertsite.crypto import MASK, secret_open
from channels.models import Channel
from tests.channels.conftest import input_value
from tests.pagerduty_standin import PagerDutyStandIn

pytestmark = pytest.mark.django_db

NEW = "/settings/notification-channels/new/pagerduty/"
KEY = "C0NS0LEKEY0123456789abcdefABCDEF"


@pytest.fixture
def admin(login):
    return login("admin")


@pytest.fixture
def pagerduty():
    with PagerDutyStandIn() as standin:
        yield standin


def form(events_url: str, **fields: str) -> dict[str, str]:
    return {
        "name": "On-call",
        "enabled": "on",
        "routing_key": KEY,
        "events_url": events_url,
        "webhook_secret": "",
        **fields,
    }


def test_the_form_creates_a_channel_and_never_shows_the_key_again(admin, pagerduty):
    created = admin.post(NEW, form(pagerduty.url, webhook_secret="pd-hook-secret"))
    assert created.status_code == 302, created.content.decode()
    assert created["Location"] == "/settings/notification-channels/?tab=pagerduty"
    channel = Channel.objects.get(name="On-call")
    assert (channel.kind, secret_open(channel.config["routing_key"])) == ("pagerduty", KEY)

    page = admin.get(f"/settings/notification-channels/{channel.pk}/edit/").content.decode()
    assert KEY not in page and "pd-hook-secret" not in page
    assert input_value(page, "routing_key") == MASK
    assert input_value(page, "webhook_secret") == MASK
    assert f"/api/v1/integrations/pagerduty/{channel.pk}" in page  # where PagerDuty's webhook goes


def test_saving_with_the_key_left_empty_keeps_it(admin, pagerduty):
    admin.post(NEW, form(pagerduty.url))
    channel = Channel.objects.get()
    sealed = channel.config["routing_key"]
    saved = admin.post(
        f"/settings/notification-channels/{channel.pk}/edit/", form(pagerduty.url, routing_key="", name="On-call 2")
    )
    assert saved.status_code == 302, saved.content.decode()
    channel.refresh_from_db()
    assert (channel.name, channel.config["routing_key"]) == ("On-call 2", sealed)


def test_an_empty_routing_key_is_a_field_error(admin, pagerduty):
    page = admin.post(NEW, form(pagerduty.url, routing_key=""))
    assert page.status_code == 400
    assert "This field is required: the integration key of a PagerDuty service" in page.content.decode()
    assert not Channel.objects.exists()


def test_a_refused_form_does_not_echo_the_typed_key(admin):
    page = admin.post(NEW, form("http://pagerduty.example.com/v2/enqueue"))
    assert page.status_code == 400
    text = page.content.decode()
    assert "Must be an https URL" in text
    assert KEY not in text


def test_the_pagerduty_tab_lists_the_channel_and_test_reports_the_202(admin, pagerduty):
    admin.post(NEW, form(pagerduty.url))
    channel = Channel.objects.get()
    listing = admin.get("/settings/notification-channels/?tab=pagerduty").content.decode()
    assert "On-call" in listing and pagerduty.url in listing
    tested = admin.post(f"/settings/notification-channels/{channel.pk}/test/", follow=True)
    assert "Test sent to On-call (202)" in tested.content.decode()
    log = admin.get(f"/settings/notification-channels/{channel.pk}/deliveries/").content.decode()
    assert "202" in log


def test_the_admin_adds_a_pagerduty_channel_and_shows_its_secrets_masked(admin_client, pagerduty):
    from tests.channels_admin.test_admin import form_post

    config = {"routing_key": KEY, "events_url": pagerduty.url, "webhook_secret": "pd-hook-secret"}
    response = form_post(
        admin_client,
        "/admin/channels/channel/add/",
        {"name": "PD", "kind": "pagerduty", "enabled": "on"},
        config=config,
    )
    assert response.status_code == 302
    channel = Channel.objects.get(name="PD")
    page = admin_client.get(f"/admin/channels/channel/{channel.pk}/change/").content.decode()
    assert KEY not in page and "pd-hook-secret" not in page and MASK in page

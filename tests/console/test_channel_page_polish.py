"""Notification channel pages, the rough edges: a successful Test shows in the channel's health and
last delivery, a private-address refusal says how to allow local receivers, and after a form error
every typed secret must be typed again (the form says so) while plain values are kept."""

from __future__ import annotations

import pytest
from django.utils import timezone

from alertsite.netsafety import PRIVATE_HINT, UnsafeDestination, url_check
from channels.models import Channel
from channels.services import channel_create
from tests.console.test_channel_and_event_pages import as_role, receiver

pytestmark = pytest.mark.django_db

__all__ = ["receiver"]  # the fixture, used by name below

NEW_WEBHOOK = "/settings/notification-channels/new/webhooks/"


def test_a_successful_test_answers_the_row_with_its_new_health_and_last_delivery(client, make_user, receiver):
    channel = channel_create(data={"kind": "webhook", "name": "Hook", "config": {"url": receiver}}, actor=None)
    Channel.objects.filter(pk=channel.pk).update(
        consecutive_failures=3,
        last_error="connection refused",
        last_delivery_at=timezone.now() - timezone.timedelta(days=2),
    )
    client = as_role(client, make_user, "admin")
    row = client.post(f"/settings/notification-channels/{channel.pk}/test/", HTTP_HX_REQUEST="true").content.decode()

    assert row.count("<tr ") == 1 and f'<tr id="channel-{channel.pk}">' in row
    assert 'data-testid="test-outcome">Delivered' in row
    assert '<span class="badge ok">OK</span>' in row and "Failing" not in row
    assert "0\xa0minutes ago" in row
    channel.refresh_from_db()
    assert channel.consecutive_failures == 0 and channel.last_success_at is not None
    page = client.get("/settings/notification-channels/?tab=webhooks").content.decode()
    assert '<span class="badge ok">OK</span>' in page


def test_a_private_destination_refusal_says_how_to_allow_local_receivers(client, make_user, settings):
    settings.ALERTSITE_WEBHOOK_ALLOW_PRIVATE = False
    client = as_role(client, make_user, "admin")
    page = client.post(NEW_WEBHOOK, {"name": "Local", "url": "http://127.0.0.1:9000/hook", "auth_type": "none"})
    assert page.status_code == 400
    assert "ALERTSITE_WEBHOOK_ALLOW_PRIVATE=true" in page.content.decode()


def test_a_caller_with_its_own_switch_gets_no_webhook_hint(settings):
    settings.ALERTSITE_WEBHOOK_ALLOW_PRIVATE = False
    with pytest.raises(UnsafeDestination) as refused:
        url_check("http://10.0.0.5/", resolve=False, allow_private=False)  # a source's own setting
    assert PRIVATE_HINT not in str(refused.value)
    with pytest.raises(UnsafeDestination) as refused:
        url_check("http://10.0.0.5/", resolve=False)
    assert str(refused.value).endswith(PRIVATE_HINT)


def test_after_a_form_error_every_typed_secret_must_be_typed_again(client, make_user, receiver):
    channel_create(data={"kind": "webhook", "name": "Taken", "config": {"url": receiver}}, actor=None)
    client = as_role(client, make_user, "admin")
    response = client.post(
        NEW_WEBHOOK,
        {
            "name": "Taken",  # the error: the name is in use
            "url": receiver,
            "secret": "typed-signing-secret",
            "header_rows": "5",
            "header_name_0": "X-Team",
            "header_value_0": "plain-ops",
            "header_name_1": "X-Key",
            "header_value_1": "typed-header-secret",
            "header_sensitive_1": "on",
            "auth_type": "basic",
            "auth_username": "hook-user",
            "auth_password": "typed-password",
        },
    )
    assert response.status_code == 400
    page = response.content.decode()
    for secret in ("typed-signing-secret", "typed-header-secret", "typed-password"):
        assert secret not in page
    assert 'placeholder="Type the secret again"' in page
    assert 'placeholder="Type the password again"' in page
    assert 'name="header_value_1" value="" autocomplete="new-password" placeholder="Type the value again"' in page
    assert "every one you typed must be typed again" in page
    # Plain values are not secrets: kept as typed.
    assert 'value="plain-ops"' in page and 'value="hook-user"' in page


def test_after_a_form_error_saved_secrets_stay_masked(client, make_user, receiver):
    channel = channel_create(
        data={
            "kind": "webhook",
            "name": "Hook",
            "config": {
                "url": receiver,
                "secret": "saved",
                "headers": [{"name": "X-Key", "value": "v", "sensitive": True}],
            },
        },
        actor=None,
    )
    channel_create(data={"kind": "webhook", "name": "Other", "config": {"url": receiver}}, actor=None)
    client = as_role(client, make_user, "admin")
    page = client.post(
        f"/settings/notification-channels/{channel.pk}/edit/",
        {
            "name": "Other",  # taken
            "url": receiver,
            "secret": "********",
            "header_rows": "2",
            "header_name_0": "X-Key",
            "header_value_0": "********",
            "header_sensitive_0": "on",
            "auth_type": "none",
        },
    ).content.decode()
    assert 'id="id_secret" name="secret" value="********"' in page
    assert 'name="header_value_0" value="********"' in page
    assert "Type the value again" not in page and "Type the secret again" not in page

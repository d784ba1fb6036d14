"""The console's webhook form: "Protect sensitive data in the URL" rows, the status label, the auth fields."""

from __future__ import annotations

import re

import pytest

from alertsite.crypto import MASK, is_sealed, secret_open
from channels.models import Channel
from channels.services import channel_test
from tests.channels.conftest import input_value

pytestmark = pytest.mark.django_db

NEW = "/settings/notification-channels/new/webhooks/"
TOKEN = "tok-console-51d0c2"


@pytest.fixture
def admin(client, make_user):
    client.force_login(make_user("admin"))
    return client


def form(url, **fields):
    """The POST of the webhook form as a browser sends it (empty rows included)."""
    data = {
        "name": "Ops hook",
        "enabled": "on",
        "url": url,
        "verify_ssl": "on",
        "secret": "",
        "header_rows": "1",
        "header_name_0": "",
        "header_value_0": "",
        "auth_type": "none",
        "url_secret_rows": "10",
    }
    for index in range(10):
        data[f"url_secret_name_{index}"] = ""
        data[f"url_secret_value_{index}"] = ""
    data.update(fields)
    return data


def test_console_form_round_trip_keeps_the_url_secret_write_only(admin, receiver):
    created = admin.post(NEW, form(receiver.url + "/{{TOKEN}}", url_secret_name_0="TOKEN", url_secret_value_0=TOKEN))
    assert created.status_code == 302, created.content.decode()
    channel = Channel.objects.get(name="Ops hook")
    assert channel.config["url"] == receiver.url + "/{{TOKEN}}"
    assert is_sealed(channel.config["url_secrets"][0]["value"])

    edit = f"/settings/notification-channels/{channel.pk}/edit/"
    page = admin.get(edit).content.decode()
    assert TOKEN not in page
    assert "Protect sensitive data in the URL" in page
    assert input_value(page, "url_secret_name_0") == "TOKEN"
    assert input_value(page, "url_secret_value_0") == MASK  # stored: the mask, never the value
    assert input_value(page, "url_secret_name_1") == "" and input_value(page, "url_secret_value_1") == ""

    # Save the page as shown (mask included) with one change: the value is kept.
    resaved = admin.post(
        edit, form(receiver.url + "/{{TOKEN}}", name="Ops hook 2", url_secret_name_0="TOKEN", url_secret_value_0=MASK)
    )
    assert resaved.status_code == 302, resaved.content.decode()
    channel.refresh_from_db()
    assert channel.name == "Ops hook 2"
    assert secret_open(channel.config["url_secrets"][0]["value"]) == TOKEN
    assert channel_test(channel=channel, actor=None).status == "sent"
    assert receiver.wait_for(1)[0].path == f"/hook/{TOKEN}"


def test_clearing_the_replacement_value_removes_the_row(admin, receiver):
    admin.post(NEW, form(receiver.url + "/{{TOKEN}}", url_secret_name_0="TOKEN", url_secret_value_0=TOKEN))
    channel = Channel.objects.get()
    response = admin.post(
        f"/settings/notification-channels/{channel.pk}/edit/",
        form(receiver.url, url_secret_name_0="", url_secret_value_0=MASK),
    )
    assert response.status_code == 302, response.content.decode()
    channel.refresh_from_db()
    assert channel.config["url_secrets"] == []


def test_form_errors_are_shown_at_the_row_and_the_typed_value_is_not_sent_back(admin, receiver):
    response = admin.post(
        NEW,
        form(
            receiver.url + "/{{TOKEN}}",
            url_secret_name_0="TOKEN",
            url_secret_value_0=TOKEN,
            url_secret_name_1="SPARE",
            url_secret_value_1="spare-value-1234",
        ),
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert TOKEN not in page and "spare-value-1234" not in page
    assert "SPARE is not used in the URL" in page
    assert input_value(page, "url_secret_name_1") == "SPARE"
    assert input_value(page, "url_secret_value_0") == ""  # typed, not saved: typed again, never echoed
    assert "type this one again" in page
    assert not Channel.objects.exists()


def test_missing_placeholder_value_is_shown_under_the_url(admin, receiver):
    response = admin.post(NEW, form(receiver.url + "/{{TOKEN}}"))
    assert response.status_code == 400
    assert "No protected value named {{TOKEN}}" in response.content.decode()


def test_channel_list_shows_the_placeholder_never_the_value(admin, client, make_user, receiver):
    admin.post(NEW, form(receiver.url + "/{{TOKEN}}", url_secret_name_0="TOKEN", url_secret_value_0=TOKEN))
    client.force_login(make_user("viewer"))
    page = client.get("/settings/notification-channels/?tab=webhooks").content.decode()
    assert "/hook/{{TOKEN}}" in page and TOKEN not in page


@pytest.mark.parametrize(("enabled", "label"), [(True, "Enabled"), (False, "Disabled")])
def test_status_label_follows_the_checkbox(admin, receiver, enabled, label):
    admin.post(NEW, form(receiver.url, **({} if enabled else {"enabled": ""})))
    channel = Channel.objects.get()
    assert channel.enabled is enabled
    page = admin.get(f"/settings/notification-channels/{channel.pk}/edit/").content.decode()
    assert re.search(rf"Webhook Status: <span[^>]*>{label}</span>", page)


def test_new_webhook_form_reads_enabled_and_marks_each_auth_field_with_its_type(admin):
    page = admin.get(NEW).content.decode()
    assert re.search(r"Webhook Status: <span[^>]*>Enabled</span>", page)
    assert re.search(r'<label data-auth="basic">Username <input[^>]*name="auth_username"', page)
    assert re.search(r'<label data-auth="basic">Password <input[^>]*name="auth_password"', page)
    assert re.search(r'<label data-auth="bearer">Token <input[^>]*name="auth_token"', page)
    assert "console/channel_form.js" in page


def test_bad_row_counts_do_not_break_the_form(admin, receiver):
    response = admin.post(NEW, form(receiver.url, url_secret_rows="lots", header_rows="-3"))
    assert response.status_code == 302


def test_a_typed_password_is_not_shown_as_saved_after_an_error(admin, receiver):
    response = admin.post(
        NEW,
        form(receiver.url + "/{{key}}", auth_type="basic", auth_username="ops", auth_password="pw-typed-123"),
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert input_value(page, "auth_password") == ""  # not the mask: nothing is saved yet
    assert "Type the password again" in page
    assert "pw-typed-123" not in page


def test_moving_the_webhook_shows_which_saved_values_to_type_again(admin, receiver):
    created = admin.post(
        NEW, form(receiver.url + "/hook", auth_type="bearer", auth_token="tok-bearer-77", header_rows="1")
    )
    assert created.status_code == 302, created.content.decode()[:500]
    channel = Channel.objects.get()
    edit = f"/settings/notification-channels/{channel.pk}/edit/"
    moved = form(receiver.url.replace("127.0.0.1", "localhost") + "/hook", auth_type="bearer", auth_token=MASK)
    response = admin.post(edit, moved)
    assert response.status_code == 400
    page = response.content.decode()
    assert input_value(page, "auth_token") == ""
    assert "The destination changed: type this value again." in page


def test_error_banner_names_fields_as_the_form_does(admin, receiver):
    response = admin.post(NEW, form(receiver.url + "/hook", url_secret_name_0="SPARE", url_secret_value_0="v-1"))
    assert response.status_code == 400
    page = response.content.decode()
    assert "Protect sensitive data in the URL, row 1: name" in page
    assert "config.url_secrets[0].name" not in page

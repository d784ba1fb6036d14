"""The console's e-mail channel form: "Administrator Recipients" with who holds each role, and
"Email Recipients" as Name + Email rows (progressive enhancement: these are the no-JS posts)."""

from __future__ import annotations

import re

import pytest

from channels.models import Channel
from tests.channels.conftest import input_value

pytestmark = pytest.mark.django_db

NEW = "/settings/notification-channels/new/email/"


@pytest.fixture
def admin(client, make_user):
    client.force_login(make_user("admin", username="root", email="root@example.com"))
    return client


def form(*rows, name="On-call", count=None, **fields):
    """The POST of the e-mail form as a browser sends it: the given (name, email) rows, then empty ones."""
    rows = [*rows, *[("", "")] * max(0, 5 - len(rows))]
    data = {"name": name, "enabled": "on", "recipient_rows": str(len(rows) if count is None else count)}
    for index, (person, address) in enumerate(rows):
        data[f"recipient_name_{index}"] = person
        data[f"recipient_email_{index}"] = address
    data.update(fields)
    return data


def role_block(page: str, role: str) -> str:
    match = re.search(rf'<div class="role-option" data-role="{role}".*?</details>', page, re.S)
    assert match, role
    return match.group(0)


def test_console_form_round_trip_keeps_names(admin):
    created = admin.post(NEW, form(("SOC desk", "soc@example.com"), ("", "oncall@example.com")))
    assert created.status_code == 302, created.content.decode()
    channel = Channel.objects.get(name="On-call")
    assert channel.config["recipients"] == [{"name": "SOC desk", "email": "soc@example.com"}, "oncall@example.com"]

    edit = f"/settings/notification-channels/{channel.pk}/edit/"
    page = admin.get(edit).content.decode()
    assert (input_value(page, "recipient_name_0"), input_value(page, "recipient_email_0")) == (
        "SOC desk",
        "soc@example.com",
    )
    assert (input_value(page, "recipient_name_1"), input_value(page, "recipient_email_1")) == ("", "oncall@example.com")
    assert input_value(page, "recipient_email_2") == ""  # spare rows to fill in without JavaScript
    assert input_value(page, "recipient_rows") == "5"

    # Rename the first, clear the second (removed), add a third in a spare row.
    resaved = admin.post(edit, form(("SOC desk (24/7)", "soc@example.com"), ("", ""), ("Ops", "ops@example.com")))
    assert resaved.status_code == 302, resaved.content.decode()
    channel.refresh_from_db()
    assert channel.config["recipients"] == [
        {"name": "SOC desk (24/7)", "email": "soc@example.com"},
        {"name": "Ops", "email": "ops@example.com"},
    ]


def test_role_checkboxes_show_how_many_active_users_hold_each_role(admin, make_user):
    make_user("responder", username="rita", email="rita@example.com")
    make_user("responder", username="ravi")  # no e-mail: counted, marked as not mailed
    gone = make_user("responder", username="gone", email="gone@example.com")
    gone.is_active = False
    gone.save(update_fields=["is_active"])

    page = admin.get(NEW).content.decode()
    responders = role_block(page, "responder")
    assert re.search(
        r'<input type="checkbox" name="roles" value="responder"\s*> Responders <span[^>]*>\(2\)</span>', responders
    )
    assert "<summary>2 active users" in responders
    assert "rita &lt;rita@example.com&gt;" in responders
    assert "ravi <span" in responders and "no e-mail: not mailed" in responders
    assert "gone" not in responders
    admins = role_block(page, "admin")
    assert "(1)" in admins and "root &lt;root@example.com&gt;" in admins
    assert "(0)" in role_block(page, "viewer") and "No active user holds this role." in role_block(page, "viewer")


def test_chosen_roles_are_checked_on_the_edit_form(admin):
    admin.post(NEW, form(roles=["admin", "viewer"]))
    channel = Channel.objects.get()
    assert channel.config == {"recipients": [], "roles": ["admin", "viewer"]}
    page = admin.get(f"/settings/notification-channels/{channel.pk}/edit/").content.decode()
    assert re.search(r'value="admin" checked', page) and re.search(r'value="viewer" checked', page)
    assert not re.search(r'value="responder" checked', page)


def test_errors_are_shown_at_their_row_and_what_was_typed_is_kept(admin):
    response = admin.post(
        NEW,
        form(("SOC desk", "soc@example.com"), ("Twin", "SOC@example.com"), ("", "not-an-address")),
    )
    assert response.status_code == 400
    page = response.content.decode()
    rows = re.findall(r"<div [^>]*data-recipient-row[^>]*>.*?</div>", page, re.S)
    assert "field-error" not in rows[0]
    assert "data-error" in rows[1] and "SOC@example.com is listed twice." in rows[1]
    assert 'name="recipient_email_1" value="SOC@example.com"' in rows[1] and 'aria-invalid="true"' in rows[1]
    assert "data-error" in rows[2] and "is not a valid e-mail address" in rows[2]
    assert input_value(page, "recipient_name_1") == "Twin"
    assert not Channel.objects.exists()


def test_name_with_a_control_character_is_shown_at_its_row(admin):
    response = admin.post(NEW, form(("SOC\x07desk", "soc@example.com")))
    assert response.status_code == 400
    rows = re.findall(r"<div [^>]*data-recipient-row[^>]*>.*?</div>", response.content.decode(), re.S)
    assert "line breaks or control characters" in rows[0]


@pytest.mark.parametrize("count", ["lots", "-3", "", "100000"])
def test_bad_row_count_still_reads_every_row(admin, count):
    response = admin.post(NEW, form(("SOC desk", "soc@example.com"), ("", "ops@example.com"), count=count))
    assert response.status_code == 302, response.content.decode()
    assert Channel.objects.get().config["recipients"] == [
        {"name": "SOC desk", "email": "soc@example.com"},
        "ops@example.com",
    ]


def test_fifty_one_rows_are_refused_not_cut_to_fifty(admin):
    rows = [("", f"user{n}@example.com") for n in range(51)]
    response = admin.post(NEW, form(*rows))
    assert response.status_code == 400
    assert "At most 50 addresses; got 51." in response.content.decode()


def test_old_one_address_a_line_field_is_still_read(admin):
    response = admin.post(NEW, {"name": "Team", "recipients": "a@example.com\n\nb@example.com\n"})
    assert response.status_code == 302, response.content.decode()
    assert Channel.objects.get().config["recipients"] == ["a@example.com", "b@example.com"]


def test_email_form_loads_the_row_script_and_offers_plus_recipients(admin):
    page = admin.get(NEW).content.decode()
    assert "console/channel_form.js" in page
    assert re.search(r'<button type="button" id="recipient-add" hidden>\+ Recipients</button>', page)
    assert page.count("data-recipient-row") == 5
    assert not re.search(r'<textarea[^>]*name="recipients"', page)  # rows, not one address a line

"""E-mail recipients with a display name ({"name", "email"}) beside plain addresses: the API contract,
its checks (header injection, duplicates across both forms) and the To header at a real SMTP server."""

from __future__ import annotations

import pytest

from channels.models import Channel
from channels.services import delivery_send
from tests.channels.conftest import enqueue

pytestmark = pytest.mark.django_db

URL = "/api/v1/channels"


@pytest.fixture
def admin(auth_client):
    return auth_client("admin")


def create(client, recipients, **config):
    body = {"kind": "email", "name": "On-call mail", "config": {"recipients": recipients, **config}}
    return client.post(URL, data=body, format="json")


def test_named_recipients_arrive_with_the_name_in_the_to_header(smtp, make_email_channel):
    channel = make_email_channel(
        recipients=[
            {"name": "SOC desk", "email": "soc@example.com"},
            {"name": "Ops, night", "email": "ops@example.com"},
        ]
    )
    delivery_send(delivery_id=enqueue(channel).pk)

    mail = smtp.wait_for(1)[0]
    assert sorted(mail.rcpt_tos) == ["ops@example.com", "soc@example.com"]
    to = mail.message["To"]
    assert [(a.display_name, a.addr_spec) for a in to.addresses] == [
        ("SOC desk", "soc@example.com"),
        ("Ops, night", "ops@example.com"),
    ]
    assert 'SOC desk <soc@example.com>, "Ops, night" <ops@example.com>' in mail.raw.decode()


def test_non_ascii_name_is_encoded_in_the_to_header(smtp, make_email_channel):
    delivery_send(
        delivery_id=enqueue(make_email_channel(recipients=[{"name": "Zoë Ŝ", "email": "zoe@example.com"}])).pk
    )

    mail = smtp.wait_for(1)[0]
    assert mail.rcpt_tos == ["zoe@example.com"]
    (address,) = mail.message["To"].addresses
    assert (address.display_name, address.addr_spec) == ("Zoë Ŝ", "zoe@example.com")
    assert "Zoë".encode() not in mail.raw  # sent as an RFC 2047 encoded word, not raw UTF-8


def test_plain_string_recipients_still_work(smtp, admin):
    response = create(admin, ["oncall@example.com", "Boss@Example.com"])
    assert response.status_code == 201, response.content
    assert response.json()["config"]["recipients"] == ["oncall@example.com", "Boss@Example.com"]

    delivery_send(delivery_id=enqueue(Channel.objects.get()).pk)
    mail = smtp.wait_for(1)[0]
    assert sorted(mail.rcpt_tos) == ["Boss@Example.com", "oncall@example.com"]
    assert [a.addr_spec for a in mail.message["To"].addresses] == ["oncall@example.com", "Boss@Example.com"]
    assert all(a.display_name == "" for a in mail.message["To"].addresses)


def test_config_returns_each_recipient_in_the_form_it_was_stored(admin):
    recipients = ["oncall@example.com", {"name": "SOC desk", "email": "soc@example.com"}]
    response = create(admin, recipients)
    assert response.status_code == 201, response.content
    channel = Channel.objects.get()
    assert channel.config["recipients"] == recipients
    assert admin.get(f"{URL}/{channel.pk}").json()["config"]["recipients"] == recipients


def test_name_and_address_are_trimmed_when_stored(admin):
    response = create(admin, [{"name": "  SOC desk ", "email": " soc@example.com "}])
    assert response.status_code == 201, response.content
    assert response.json()["config"]["recipients"] == [{"name": "SOC desk", "email": "soc@example.com"}]


@pytest.mark.parametrize("name", ["SOC\nBcc: victim@example.com", "SOC\r\nX: y", "SOC\u2028desk", "SOC\x00"])
def test_name_with_a_line_break_or_control_character_is_a_400_at_its_path(admin, name):
    response = create(admin, ["ok@example.com", {"name": name, "email": "soc@example.com"}])
    assert response.status_code == 400
    errors = response.json()
    assert list(errors) == ["config.recipients[1].name"]
    assert "line breaks or control characters" in errors["config.recipients[1].name"][0]
    assert not Channel.objects.exists()


def test_name_written_as_an_encoded_word_is_a_400_at_its_path(admin):
    name = "=?utf-8?q?evil=0D=0ABcc:_x@attacker.com?="
    response = create(admin, [{"name": name, "email": "soc@example.com"}])
    assert response.status_code == 400
    assert "=?" in response.json()["config.recipients[0].name"][0]


def test_name_over_100_characters_is_a_400_at_its_path(admin):
    response = create(admin, [{"name": "x" * 101, "email": "soc@example.com"}])
    assert response.status_code == 400
    assert list(response.json()) == ["config.recipients[0].name"]
    assert create(admin, [{"name": "x" * 100, "email": "soc@example.com"}]).status_code == 201


def test_duplicate_address_across_string_and_object_forms_is_a_400(admin):
    response = create(admin, ["soc@example.com", {"name": "SOC desk", "email": "SOC@example.com"}])
    assert response.status_code == 400
    errors = response.json()
    assert list(errors) == ["config.recipients[1].email"]
    assert "listed twice" in errors["config.recipients[1].email"][0]


def test_invalid_address_in_an_object_is_a_400_at_its_email(admin):
    response = create(admin, [{"name": "SOC desk", "email": "not-an-address"}, {"name": "No address"}])
    assert response.status_code == 400
    errors = response.json()
    assert sorted(errors) == ["config.recipients[0].email", "config.recipients[1].email"]
    assert "not a valid e-mail address" in errors["config.recipients[0].email"][0]


def test_unknown_key_or_wrong_type_in_recipients_is_a_400_at_its_path(admin):
    response = create(
        admin, [{"name": "SOC", "email": "soc@example.com", "cc": True}, 42, {"name": 7, "email": "a@b.co"}]
    )
    assert response.status_code == 400
    assert sorted(response.json()) == ["config.recipients[0].cc", "config.recipients[1]", "config.recipients[2].name"]


def test_fifty_one_recipients_in_mixed_forms_are_refused(admin):
    recipients = [f"user{n}@example.com" for n in range(25)]
    recipients += [{"name": f"User {n}", "email": f"named{n}@example.com"} for n in range(26)]
    response = create(admin, recipients)
    assert response.status_code == 400
    assert "At most 50" in response.json()["config.recipients"][0]


def test_role_members_stay_in_bcc_while_listed_recipients_are_in_to(smtp, make_email_channel, make_user):
    make_user("responder", email="responder@example.com")
    make_user("responder", email="soc@example.com")  # also listed: one copy, in To
    channel = make_email_channel(recipients=[{"name": "SOC desk", "email": "soc@example.com"}], roles=["responder"])
    delivery_send(delivery_id=enqueue(channel).pk)

    mail = smtp.wait_for(1)[0]
    assert sorted(mail.rcpt_tos) == ["responder@example.com", "soc@example.com"]
    assert [a.addr_spec for a in mail.message["To"].addresses] == ["soc@example.com"]
    assert "responder@example.com" not in mail.raw.decode()  # a Bcc never shows in the message

"""Channel configuration through the API and services: validation, write-only secrets, audit, deletion."""

from __future__ import annotations

import orjson
import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from alertsite import crypto
from alertsite.crypto import MASK, is_sealed, secret_open, secret_rotate, secret_seal
from channels.models import Channel
from events.models import AuditEvent
from rules.services import rule_create
from tests.channels.conftest import FAILED_LOGINS, SECRET, stored_config_text

pytestmark = pytest.mark.django_db

URL = "/api/v1/channels"
HOOK = "https://hooks.example.com/alertsite"
CLEAR_SECRETS = (SECRET, "api-key-0123456789", "basic-pass-987", "bearer-tok-abcdef")


@pytest.fixture
def admin(auth_client):
    return auth_client("admin")


def post_channel(client, **data):
    return client.post(URL, data=data, format="json")


def email_body(**config):
    return {"kind": "email", "name": "On-call mail", "config": config}


def webhook_body(name="Hook", **config):
    return {"kind": "webhook", "name": name, "config": {"url": HOOK, **config}}


# -- e-mail channels ----------------------------------------------------------------------


def test_email_channel_is_created_with_addresses_and_roles(admin):
    response = admin.post(
        URL, data=email_body(recipients=["a@example.com", "b@example.com"], roles=["responder"]), format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["kind"], body["name"], body["enabled"]) == ("email", "On-call mail", True)
    assert body["config"] == {"recipients": ["a@example.com", "b@example.com"], "roles": ["responder"]}


def test_fifty_one_recipients_are_refused(admin):
    recipients = [f"user{n}@example.com" for n in range(51)]
    response = admin.post(URL, data=email_body(recipients=recipients), format="json")
    assert response.status_code == 400
    assert "config.recipients" in response.json()
    assert not Channel.objects.exists()


def test_fifty_recipients_are_accepted(admin):
    recipients = [f"user{n}@example.com" for n in range(50)]
    assert admin.post(URL, data=email_body(recipients=recipients), format="json").status_code == 201


def test_invalid_address_is_refused_naming_its_index(admin):
    response = admin.post(URL, data=email_body(recipients=["ok@example.com", "not-an-address"]), format="json")
    assert response.status_code == 400
    errors = response.json()
    assert list(errors) == ["config.recipients[1]"]
    assert "not-an-address" in errors["config.recipients[1]"][0]


def test_duplicate_address_ignoring_case_is_refused_naming_its_index(admin):
    response = admin.post(
        URL, data=email_body(recipients=["Ops@Example.com", "x@example.com", "ops@example.com"]), format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["config.recipients[2]"]


def test_unknown_role_is_refused(admin):
    response = admin.post(URL, data=email_body(roles=["admin", "superhero"]), format="json")
    assert response.status_code == 400
    assert "config.roles" in response.json()


def test_email_channel_needs_a_recipient_or_a_role(admin):
    response = admin.post(URL, data=email_body(recipients=[], roles=[]), format="json")
    assert response.status_code == 400
    assert "config.recipients" in response.json()
    assert admin.post(URL, data=email_body(roles=["admin"]), format="json").status_code == 201


# -- webhook URLs ---------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["ftp://hooks.example.com/x", "javascript:alert(1)", "file:///etc/passwd"])
def test_webhook_url_must_be_http_or_https(admin, url):
    response = admin.post(URL, data={**webhook_body(), "config": {"url": url}}, format="json")
    assert response.status_code == 400
    assert "config.url" in response.json()


@override_settings(ALERTSITE_WEBHOOK_ALLOW_PRIVATE=False)
@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://10.0.0.1/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:8080/hook",
        "http://localhost/hook",
        "http://192.168.1.10/hook",
        "http://[::ffff:127.0.0.1]/hook",
    ],
)
def test_private_and_loopback_destinations_are_refused(admin, url):
    response = admin.post(URL, data={**webhook_body(), "config": {"url": url}}, format="json")
    assert response.status_code == 400, response.content
    assert "config.url" in response.json()


@override_settings(ALERTSITE_WEBHOOK_ALLOW_PRIVATE=False)
@pytest.mark.parametrize(
    "url",
    [
        "http://[::127.0.0.1]/hook",
        "http://[64:ff9b::7f00:1]/hook",
        "http://[64:ff9b:1::a00:1]/hook",
        "http://[2002:7f00:1::]/hook",
        "http://[::ffff:0:a00:5]/hook",
    ],
)
def test_ipv6_spellings_of_private_addresses_are_refused(admin, url):
    response = admin.post(URL, data={**webhook_body(), "config": {"url": url}}, format="json")
    assert response.status_code == 400, response.content
    assert "config.url" in response.json()


@override_settings(ALERTSITE_WEBHOOK_ALLOW_PRIVATE=False)
def test_name_resolving_to_a_private_address_is_refused(admin, public_dns):
    response = admin.post(
        URL, data={**webhook_body(), "config": {"url": "https://internal.example.com/hook"}}, format="json"
    )
    assert response.status_code == 400
    assert "10.0.0.5" in response.json()["config.url"][0]
    assert admin.post(URL, data=webhook_body(), format="json").status_code == 201  # a public name is fine


def test_private_destinations_are_allowed_when_the_setting_says_so(admin):
    response = admin.post(URL, data={**webhook_body(), "config": {"url": "http://127.0.0.1:9/hook"}}, format="json")
    assert response.status_code == 201, response.content


def test_channel_whose_host_became_forbidden_can_still_be_disabled(admin):
    created = admin.post(URL, data={**webhook_body(), "config": {"url": "http://127.0.0.1:9/hook"}}, format="json")
    assert created.status_code == 201, created.content
    with override_settings(ALERTSITE_WEBHOOK_ALLOW_PRIVATE=False):
        response = admin.patch(f"{URL}/{created.json()['id']}", data={"enabled": False}, format="json")
        assert response.status_code == 200, response.content
        assert Channel.objects.get(pk=created.json()["id"]).enabled is False
        config = {**created.json()["config"], "url": "http://127.0.0.1:9/hook"}
        resent = admin.patch(f"{URL}/{created.json()['id']}", data={"config": config}, format="json")
        assert resent.status_code == 400
        assert "config.url" in resent.json()


# -- webhook headers ---------------------------------------------------------------------------


def test_at_most_twenty_headers(admin, public_dns):
    headers = [{"name": f"X-H{n}", "value": "v"} for n in range(21)]
    response = admin.post(URL, data=webhook_body(headers=headers), format="json")
    assert response.status_code == 400
    assert "config.headers" in response.json()
    assert admin.post(URL, data=webhook_body(headers=headers[:20]), format="json").status_code == 201


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ({"name": "X-Ok", "value": "a\r\nX-Injected: 1"}, "config.headers[0].value"),
        ({"name": "X-Ok", "value": "a\nb"}, "config.headers[0].value"),
        ({"name": "X-Bad\nName", "value": "v"}, "config.headers[0].name"),
        ({"name": "X Bad", "value": "v"}, "config.headers[0].name"),
        ({"name": "", "value": "v"}, "config.headers[0].name"),
    ],
)
def test_header_injection_is_refused(admin, public_dns, header, field):
    response = admin.post(URL, data=webhook_body(headers=[header]), format="json")
    assert response.status_code == 400
    assert field in response.json()


def test_header_name_with_a_trailing_newline_is_refused(admin, public_dns):
    response = admin.post(URL, data=webhook_body(headers=[{"name": "X-Token\n", "value": "v"}]), format="json")
    assert response.status_code == 400
    assert "config.headers[0].name" in response.json()


@pytest.mark.parametrize(
    "name", ["Content-Type", "content-length", "Host", "X-Alertsite-Signature", "x-alertsite-delivery"]
)
def test_reserved_header_names_are_refused(admin, public_dns, name):
    response = admin.post(URL, data=webhook_body(headers=[{"name": name, "value": "v"}]), format="json")
    assert response.status_code == 400
    assert "config.headers[0].name" in response.json()


# -- write-only secrets ---------------------------------------------------------------------


def full_webhook(**overrides):
    return webhook_body(
        secret=SECRET,
        headers=[
            {"name": "X-Api-Key", "value": "api-key-0123456789", "sensitive": True},
            {"name": "X-Team", "value": "blue", "sensitive": False},
        ],
        auth={"type": "basic", "username": "alice", "password": "basic-pass-987"},
        **overrides,
    )


def test_secrets_are_write_only_and_shown_masked(admin, public_dns):
    response = admin.post(URL, data=full_webhook(), format="json")
    assert response.status_code == 201, response.content
    config = response.json()["config"]
    assert config["secret"] == MASK
    assert config["headers"] == [
        {"name": "X-Api-Key", "value": MASK, "sensitive": True},
        {"name": "X-Team", "value": "blue", "sensitive": False},
    ]
    assert config["auth"] == {"type": "basic", "username": "alice", "password": MASK}
    detail = admin.get(f"{URL}/{response.json()['id']}").json()["config"]
    listed = admin.get(URL).json()
    for text in (orjson.dumps(detail), orjson.dumps(listed), response.content):
        assert not any(secret.encode() in text for secret in CLEAR_SECRETS)


def test_bearer_token_is_write_only(admin, public_dns):
    response = admin.post(URL, data=webhook_body(auth={"type": "bearer", "token": "bearer-tok-abcdef"}), format="json")
    assert response.status_code == 201
    assert response.json()["config"]["auth"] == {"type": "bearer", "token": MASK}
    assert response.json()["config"]["secret"] is None
    assert b"bearer-tok-abcdef" not in response.content


def test_secrets_are_stored_sealed_not_in_clear(admin, public_dns):
    channel_id = admin.post(URL, data=full_webhook(), format="json").json()["id"]
    raw = stored_config_text(channel_id)
    assert not any(secret in raw for secret in CLEAR_SECRETS)
    config = Channel.objects.get(pk=channel_id).config
    assert is_sealed(config["secret"]) and secret_open(config["secret"]) == SECRET
    assert (
        is_sealed(config["headers"][0]["value"]) and secret_open(config["headers"][0]["value"]) == "api-key-0123456789"
    )
    assert config["headers"][1]["value"] == "blue"  # not sensitive: kept as is
    assert is_sealed(config["auth"]["password"]) and secret_open(config["auth"]["password"]) == "basic-pass-987"


def test_sending_the_mask_back_keeps_the_stored_secrets(admin, public_dns):
    created = admin.post(URL, data=full_webhook(), format="json").json()
    before = Channel.objects.get(pk=created["id"]).config
    shown = {**created["config"], "verify_ssl": False}  # edit one thing, send the masks back
    response = admin.put(f"{URL}/{created['id']}", data={"name": "Hook", "config": shown}, format="json")
    assert response.status_code == 200, response.content
    after = Channel.objects.get(pk=created["id"]).config
    assert after["verify_ssl"] is False
    assert after["secret"] == before["secret"]
    assert after["headers"][0]["value"] == before["headers"][0]["value"]
    assert after["auth"]["password"] == before["auth"]["password"]
    assert secret_open(after["secret"]) == SECRET


def test_patching_only_the_name_keeps_the_secrets(admin, public_dns):
    created = admin.post(URL, data=full_webhook(), format="json").json()
    before = Channel.objects.get(pk=created["id"]).config
    response = admin.patch(f"{URL}/{created['id']}", data={"name": "Renamed"}, format="json")
    assert response.status_code == 200, response.content
    assert Channel.objects.get(pk=created["id"]).config == before


def test_sending_a_new_secret_replaces_it(admin, public_dns):
    created = admin.post(URL, data=full_webhook(), format="json").json()
    config = {**created["config"], "secret": "a-brand-new-secret"}
    assert (
        admin.put(f"{URL}/{created['id']}", data={"name": "Hook", "config": config}, format="json").status_code == 200
    )
    assert secret_open(Channel.objects.get(pk=created["id"]).config["secret"]) == "a-brand-new-secret"


def test_bearer_mask_keeps_the_token(admin, public_dns):
    created = admin.post(
        URL, data=webhook_body(auth={"type": "bearer", "token": "bearer-tok-abcdef"}), format="json"
    ).json()
    response = admin.put(f"{URL}/{created['id']}", data={"name": "Hook", "config": created["config"]}, format="json")
    assert response.status_code == 200, response.content
    assert secret_open(Channel.objects.get(pk=created["id"]).config["auth"]["token"]) == "bearer-tok-abcdef"


# -- names and kind ---------------------------------------------------------------------------


def test_name_is_unique_ignoring_case(admin):
    assert admin.post(URL, data={**email_body(roles=["admin"]), "name": "Ops"}, format="json").status_code == 201
    response = admin.post(URL, data={**email_body(roles=["admin"]), "name": "oPS"}, format="json")
    assert response.status_code == 400
    assert "name" in response.json()
    assert Channel.objects.count() == 1


def test_renaming_onto_another_name_ignoring_case_is_refused(admin):
    admin.post(URL, data={**email_body(roles=["admin"]), "name": "Ops"}, format="json")
    other = admin.post(URL, data={**email_body(roles=["admin"]), "name": "Other"}, format="json").json()
    response = admin.patch(f"{URL}/{other['id']}", data={"name": "OPS"}, format="json")
    assert response.status_code == 400
    assert "name" in response.json()
    assert admin.patch(f"{URL}/{other['id']}", data={"name": "OTHER"}, format="json").status_code == 200


def test_name_is_at_most_100_characters(admin):
    response = admin.post(URL, data={**email_body(roles=["admin"]), "name": "n" * 101}, format="json")
    assert response.status_code == 400
    assert "name" in response.json()
    assert admin.post(URL, data={**email_body(roles=["admin"]), "name": "n" * 100}, format="json").status_code == 201


def test_kind_cannot_change(admin):
    created = admin.post(URL, data=email_body(roles=["admin"]), format="json").json()
    response = admin.patch(f"{URL}/{created['id']}", data={"kind": "webhook", "config": {"url": HOOK}}, format="json")
    assert response.status_code == 400
    assert "kind" in response.json()
    assert Channel.objects.get(pk=created["id"]).kind == "email"


# -- deletion --------------------------------------------------------------------------------


def test_deleting_a_channel_used_by_a_rule_answers_409_listing_the_rule(admin):
    channel_id = admin.post(URL, data=email_body(roles=["admin"]), format="json").json()["id"]
    rule_create(data={**FAILED_LOGINS, "send_notifications": True, "channels": [channel_id]}, actor=None)
    response = admin.delete(f"{URL}/{channel_id}")
    assert response.status_code == 409
    assert response.json()["rules"] == ["Failed admin logins"]
    assert "Failed admin logins" in response.json()["detail"]
    assert Channel.objects.filter(pk=channel_id).exists()
    assert not AuditEvent.objects.filter(event_type="notification_channel_delete").exists()


def test_deleting_an_unused_channel_answers_204(admin):
    channel_id = admin.post(URL, data=email_body(roles=["admin"]), format="json").json()["id"]
    assert admin.delete(f"{URL}/{channel_id}").status_code == 204
    assert not Channel.objects.filter(pk=channel_id).exists()
    assert admin.get(f"{URL}/{channel_id}").status_code == 404


# -- audit trail -----------------------------------------------------------------------------


def test_create_update_delete_are_audited_without_secrets(admin, public_dns):
    created = admin.post(URL, data=full_webhook(), format="json").json()
    config = {**created["config"], "secret": "rotated-secret-value"}
    assert (
        admin.put(f"{URL}/{created['id']}", data={"name": "Hook", "config": config}, format="json").status_code == 200
    )
    assert admin.delete(f"{URL}/{created['id']}").status_code == 204

    events = {e.event_type: e for e in AuditEvent.objects.filter(event_type__startswith="notification_channel_")}
    assert set(events) == {
        "notification_channel_create",
        "notification_channel_update",
        "notification_channel_delete",
    }
    for event in events.values():
        assert event.payload["initiated_by"]["username"] == admin.user.username
        assert event.payload["resource"]["id"] == str(created["id"])
    for payload in AuditEvent.objects.values_list("payload", flat=True):
        raw = orjson.dumps(payload).decode()
        assert not any(secret in raw for secret in (*CLEAR_SECRETS, "rotated-secret-value")), raw
        assert "$enc" not in raw
    create_raw = orjson.dumps(events["notification_channel_create"].payload).decode()
    assert '"secret":"***"' in create_raw
    assert '"password":"***"' in create_raw
    update_changes = events["notification_channel_update"].payload["changes"]
    assert {"field": "config", "from": "***", "to": "***"} in update_changes


# -- key rotation ------------------------------------------------------------------------------


def test_value_sealed_with_an_old_key_opens_while_that_key_is_listed_as_old():
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    crypto._fernet.cache_clear()
    try:
        with override_settings(ALERTSITE_ENCRYPTION_KEY=old_key, ALERTSITE_ENCRYPTION_KEYS_OLD=[]):
            sealed = secret_seal(SECRET)
        with override_settings(ALERTSITE_ENCRYPTION_KEY=new_key, ALERTSITE_ENCRYPTION_KEYS_OLD=[old_key]):
            assert secret_open(sealed) == SECRET
            rotated = secret_rotate(sealed)
        with override_settings(ALERTSITE_ENCRYPTION_KEY=new_key, ALERTSITE_ENCRYPTION_KEYS_OLD=[]):
            with pytest.raises(ImproperlyConfigured):
                secret_open(sealed)
            assert secret_open(rotated) == SECRET  # after rotation the old key can go
    finally:
        crypto._fernet.cache_clear()


# -- permissions -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["viewer", "responder"])
def test_readers_cannot_create_or_delete_channels(auth_client, admin, role):
    client = auth_client(role)
    assert client.post(URL, data=email_body(roles=["admin"]), format="json").status_code == 403
    channel_id = admin.post(URL, data=email_body(roles=["admin"]), format="json").json()["id"]
    assert client.delete(f"{URL}/{channel_id}").status_code == 403
    assert client.post(f"{URL}/{channel_id}/test").status_code == 403
    assert Channel.objects.filter(pk=channel_id).exists()


def test_anonymous_callers_get_401(api_client, admin):
    channel_id = admin.post(URL, data=email_body(roles=["admin"]), format="json").json()["id"]
    assert api_client.get(URL).status_code == 401
    assert api_client.post(URL, data=email_body(roles=["admin"]), format="json").status_code == 401
    assert api_client.delete(f"{URL}/{channel_id}").status_code == 401


def test_paths_answer_with_and_without_a_trailing_slash(admin):
    created = admin.post(f"{URL}/", data=email_body(roles=["admin"]), format="json")
    assert created.status_code == 201, created.content
    assert admin.get(f"{URL}/{created.json()['id']}/").status_code == 200
    assert admin.get("/api/v1/deliveries/").status_code == 200


def test_channel_list_does_not_query_per_row(admin, make_email_channel, django_assert_max_num_queries):
    for n in range(8):
        make_email_channel(name=f"Mail {n}", roles=["admin"])
    with django_assert_max_num_queries(4):
        response = admin.get(URL)
    assert len(response.json()) == 8


# -- regressions of bugs found by these tests ---------------------------------------------------


def test_rotation_command_reseals_channel_secrets_with_the_new_key(make_webhook):
    from django.core.management import call_command

    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    crypto._fernet.cache_clear()
    try:
        with override_settings(ALERTSITE_ENCRYPTION_KEY=old_key, ALERTSITE_ENCRYPTION_KEYS_OLD=[]):
            channel = make_webhook("http://127.0.0.1:9/hook", secret=SECRET)
        with override_settings(ALERTSITE_ENCRYPTION_KEY=new_key, ALERTSITE_ENCRYPTION_KEYS_OLD=[old_key]):
            call_command("rotate_channel_secrets")
        with override_settings(ALERTSITE_ENCRYPTION_KEY=new_key, ALERTSITE_ENCRYPTION_KEYS_OLD=[]):
            assert secret_open(Channel.objects.get(pk=channel.pk).config["secret"]) == SECRET
    finally:
        crypto._fernet.cache_clear()


@pytest.mark.parametrize("case", ["renamed_sensitive_header", "switched_auth_type", "new_channel_with_masks"])
def test_the_mask_is_never_stored_as_a_secret(admin, public_dns, case):
    if case == "new_channel_with_masks":
        response = admin.post(
            URL,
            data=webhook_body(
                headers=[{"name": "X-Api-Key", "value": MASK, "sensitive": True}],
                auth={"type": "bearer", "token": MASK},
            ),
            format="json",
        )
    else:
        created = admin.post(
            URL,
            data=webhook_body(
                headers=[{"name": "X-Key", "value": "api-key-0123456789", "sensitive": True}],
                auth={"type": "bearer", "token": "bearer-tok-abcdef"},
            ),
            format="json",
        ).json()
        config = created["config"]
        if case == "renamed_sensitive_header":
            config["headers"][0]["name"] = "X-Api-Key"  # value still the mask
        else:
            config["auth"] = {"type": "basic", "username": "alice", "password": MASK}
        response = admin.put(f"{URL}/{created['id']}", data={"name": "Hook", "config": config}, format="json")
    if response.status_code >= 400:
        return  # refusing the mask where nothing is stored is a fine answer
    stored = Channel.objects.get(pk=response.json()["id"]).config
    secrets = [h["value"] for h in stored["headers"] if h["sensitive"]]
    secrets += [stored["auth"][key] for key in ("password", "token") if key in stored["auth"]]
    assert all(secret_open(value) != MASK for value in secrets)


def test_header_value_that_cannot_be_sent_is_refused_at_save(admin, receiver):
    from channels.services import delivery_send
    from tests.channels.conftest import enqueue

    response = admin.post(
        URL,
        data={**webhook_body(), "config": {"url": receiver.url, "headers": [{"name": "X-Label", "value": "naïve ✓"}]}},
        format="json",
    )
    if response.status_code == 400:
        assert "config.headers[0].value" in response.json()
        return
    delivery = enqueue(Channel.objects.get(pk=response.json()["id"]))
    assert delivery_send(delivery_id=delivery.pk).status == "sent"


def test_url_that_cannot_be_requested_is_refused_at_save(admin, receiver):
    from channels.services import delivery_send
    from tests.channels.conftest import enqueue

    response = admin.post(URL, data={**webhook_body(), "config": {"url": receiver.url + "/a b"}}, format="json")
    if response.status_code == 400:
        assert "config.url" in response.json()
        return
    delivery = enqueue(Channel.objects.get(pk=response.json()["id"]))
    assert delivery_send(delivery_id=delivery.pk).status == "sent"

"""Webhooks: "Protect sensitive data in the URL" (spec §7.2). Write-only `url_secrets` referenced as
{{NAME}} in the URL's path or query: sealed at rest, masked on read, filled in only on the wire, and
never in errors, snippets, logs or audit events."""

from __future__ import annotations

import json
import logging
from urllib.parse import quote

import orjson
import pytest
from django.test import override_settings

from alertsite.crypto import MASK, is_sealed, secret_open
from alertsite.netsafety import PinnedHTTPConnection
from channels.models import Channel, DeliveryAttempt
from channels.services import channel_test, delivery_send
from events.models import AuditEvent
from tests.channels.conftest import enqueue, stored_config_text
from tests.receivers import Reply

pytestmark = pytest.mark.django_db

URL = "/api/v1/channels"
HOOK = "https://hooks.example.com/alertsite"
TOKEN = "tok-9f3b1c7e5a"
API_KEY = "key/with spaces&more=yes"


@pytest.fixture
def admin(auth_client):
    return auth_client("admin")


def body(url=HOOK + "/{{TOKEN}}", secrets=None, name="Hook", **config):
    if secrets is None:
        secrets = [{"name": "TOKEN", "value": TOKEN}]
    return {"kind": "webhook", "name": name, "config": {"url": url, "url_secrets": secrets, **config}}


# -- on the wire ---------------------------------------------------------------------------------


def test_placeholders_are_filled_in_percent_encoded_on_the_wire(receiver, make_webhook):
    channel = make_webhook(
        receiver.url + "/{{TOKEN}}?key={{API_KEY}}&team=blue",
        url_secrets=[{"name": "TOKEN", "value": TOKEN}, {"name": "API_KEY", "value": API_KEY}],
    )
    assert delivery_send(delivery_id=enqueue(channel).pk).status == "sent"
    request = receiver.wait_for(1)[0]
    assert request.path == f"/hook/{TOKEN}?key=key%2Fwith%20spaces%26more%3Dyes&team=blue"


def test_the_same_placeholder_may_be_used_twice(receiver, make_webhook):
    channel = make_webhook(receiver.url + "/{{TOKEN}}?again={{TOKEN}}", url_secrets=[{"name": "TOKEN", "value": TOKEN}])
    delivery_send(delivery_id=enqueue(channel).pk)
    assert receiver.wait_for(1)[0].path == f"/hook/{TOKEN}?again={TOKEN}"


# -- write-only, sealed --------------------------------------------------------------------------


def test_url_secret_is_masked_on_read(admin, public_dns):
    created = admin.post(URL, data=body(), format="json")
    assert created.status_code == 201, created.content
    config = created.json()["config"]
    assert config["url"] == HOOK + "/{{TOKEN}}"
    assert config["url_secrets"] == [{"name": "TOKEN", "value": MASK}]
    detail = admin.get(f"{URL}/{created.json()['id']}")
    listed = admin.get(URL)
    for response in (created, detail, listed):
        assert TOKEN.encode() not in response.content
    assert detail.json()["config"]["url_secrets"] == [{"name": "TOKEN", "value": MASK}]


def test_sending_the_mask_back_keeps_the_url_secret(admin, public_dns):
    created = admin.post(URL, data=body(), format="json").json()
    before = Channel.objects.get(pk=created["id"]).config["url_secrets"]
    shown = {**created["config"], "verify_ssl": False}  # edit something else, send the mask back
    response = admin.put(f"{URL}/{created['id']}", data={"name": "Hook", "config": shown}, format="json")
    assert response.status_code == 200, response.content
    after = Channel.objects.get(pk=created["id"]).config
    assert after["verify_ssl"] is False
    assert after["url_secrets"] == before
    assert secret_open(after["url_secrets"][0]["value"]) == TOKEN


def test_sending_a_new_value_replaces_the_url_secret(admin, public_dns):
    created = admin.post(URL, data=body(), format="json").json()
    config = {**created["config"], "url_secrets": [{"name": "TOKEN", "value": "tok-rotated"}]}
    assert (
        admin.put(f"{URL}/{created['id']}", data={"name": "Hook", "config": config}, format="json").status_code == 200
    )
    assert secret_open(Channel.objects.get(pk=created["id"]).config["url_secrets"][0]["value"]) == "tok-rotated"


def test_the_mask_under_a_name_with_no_saved_value_is_refused(admin, public_dns):
    created = admin.post(URL, data=body(), format="json").json()
    config = {
        **created["config"],
        "url": HOOK + "/{{OTHER}}",
        "url_secrets": [{"name": "OTHER", "value": MASK}],  # renamed: nothing stored under OTHER
    }
    response = admin.put(f"{URL}/{created['id']}", data={"name": "Hook", "config": config}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["config.url_secrets[0].value"]


def test_url_secret_is_encrypted_at_rest(admin, public_dns):
    channel_id = admin.post(URL, data=body(), format="json").json()["id"]
    raw = stored_config_text(channel_id)
    assert TOKEN not in raw
    stored = Channel.objects.get(pk=channel_id).config
    assert stored["url"] == HOOK + "/{{TOKEN}}"  # the template, never the filled-in URL
    assert stored["url_secrets"][0]["name"] == "TOKEN"
    assert is_sealed(stored["url_secrets"][0]["value"])
    assert secret_open(stored["url_secrets"][0]["value"]) == TOKEN


# -- validation, each error at its path ----------------------------------------------------------


def test_placeholder_without_a_value_is_refused_at_config_url(admin, public_dns):
    response = admin.post(URL, data=body(url=HOOK + "/{{TOKEN}}?k={{MISSING}}"), format="json")
    assert response.status_code == 400
    errors = response.json()
    assert list(errors) == ["config.url"]
    assert "{{MISSING}}" in errors["config.url"][0]
    assert not Channel.objects.exists()


def test_unused_url_secret_is_refused_at_its_name(admin, public_dns):
    secrets = [{"name": "TOKEN", "value": TOKEN}, {"name": "SPARE", "value": "x"}]
    response = admin.post(URL, data=body(secrets=secrets), format="json")
    assert response.status_code == 400
    errors = response.json()
    assert list(errors) == ["config.url_secrets[1].name"]
    assert "SPARE" in errors["config.url_secrets[1].name"][0]


def test_at_most_ten_url_secrets(admin, public_dns):
    names = [f"T{n}" for n in range(11)]
    url = HOOK + "/" + "/".join(f"{{{{{name}}}}}" for name in names)
    secrets = [{"name": name, "value": f"v{n}"} for n, name in enumerate(names)]
    response = admin.post(URL, data=body(url=url, secrets=secrets), format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["config.url_secrets"]
    url_ten = HOOK + "/" + "/".join(f"{{{{{name}}}}}" for name in names[:10])
    assert admin.post(URL, data=body(url=url_ten, secrets=secrets[:10]), format="json").status_code == 201


@pytest.mark.parametrize("name", ["token", "1TOKEN", "TO-KEN", "", "T" * 65, "_TOKEN", None])
def test_bad_url_secret_name_is_refused_at_its_name(admin, public_dns, name):
    secrets = [{"name": "TOKEN", "value": TOKEN}, {"name": name, "value": "x"}]
    response = admin.post(URL, data=body(secrets=secrets), format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["config.url_secrets[1].name"]


def test_duplicate_url_secret_name_is_refused_at_the_second(admin, public_dns):
    secrets = [{"name": "TOKEN", "value": TOKEN}, {"name": "TOKEN", "value": "other"}]
    response = admin.post(URL, data=body(secrets=secrets), format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["config.url_secrets[1].name"]


@pytest.mark.parametrize("value", ["", None, "v" * 1001, 42])
def test_url_secret_value_must_be_text(admin, public_dns, value):
    response = admin.post(URL, data=body(secrets=[{"name": "TOKEN", "value": value}]), format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["config.url_secrets[0].value"]


@pytest.mark.parametrize("url", ["{{token}}", "{{TO KEN}}", "{{TOKEN}", "{TOKEN}}"])
def test_malformed_placeholder_is_refused_at_config_url(admin, public_dns, url):
    response = admin.post(URL, data=body(url=f"{HOOK}/{url}"), format="json")
    assert response.status_code == 400
    assert "config.url" in response.json()


@pytest.mark.parametrize(
    "url",
    [
        "https://{{TOKEN}}.example.com/hook",
        "https://hooks.example.com:{{TOKEN}}/hook",
        "https://{{TOKEN}}@hooks.example.com/hook",
        "https://{{TOKEN}}/hook",
    ],
)
def test_placeholder_in_the_host_is_refused(admin, public_dns, url):
    response = admin.post(URL, data=body(url=url), format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["config.url"]
    assert "host" in response.json()["config.url"][0]


# -- destination checks on the filled-in URL -----------------------------------------------------


@override_settings(ALERTSITE_WEBHOOK_ALLOW_PRIVATE=False)
@pytest.mark.parametrize(
    "url",
    ["http://10.0.0.1/hook/{{TOKEN}}", "http://127.0.0.1:8080/x?t={{TOKEN}}", "https://internal.example.com/{{TOKEN}}"],
)
def test_private_destination_with_placeholders_is_refused(admin, public_dns, url):
    response = admin.post(URL, data=body(url=url), format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["config.url"]
    assert TOKEN not in response.content.decode()


def test_filled_in_url_is_checked_again_at_send_time(receiver, make_webhook):
    channel = make_webhook(receiver.url + "/{{TOKEN}}", url_secrets=[{"name": "TOKEN", "value": TOKEN}])
    delivery = enqueue(channel)
    with override_settings(ALERTSITE_WEBHOOK_ALLOW_PRIVATE=False):
        assert delivery_send(delivery_id=delivery.pk).status == "failed"  # refused: no retry
    delivery.refresh_from_db()
    assert "loopback" in delivery.last_error and TOKEN not in delivery.last_error
    assert receiver.requests == []


def test_value_that_would_make_the_url_unsafe_is_encoded_not_obeyed(receiver, make_webhook):
    # A value cannot change the host, add a query or break the request line: it is one encoded piece.
    channel = make_webhook(
        receiver.url + "/{{TOKEN}}", url_secrets=[{"name": "TOKEN", "value": "@10.0.0.1/?x=1#\r\nHost: evil"}]
    )
    delivery_send(delivery_id=enqueue(channel).pk)
    assert receiver.wait_for(1)[0].path == "/hook/%4010.0.0.1%2F%3Fx%3D1%23%0D%0AHost%3A%20evil"


# -- the value never leaks -----------------------------------------------------------------------


def test_url_secret_never_appears_in_audit_event_changes(admin, public_dns):
    created = admin.post(URL, data=body(), format="json").json()
    config = {**created["config"], "url_secrets": [{"name": "TOKEN", "value": "tok-rotated-77"}]}
    assert (
        admin.put(f"{URL}/{created['id']}", data={"name": "Hook", "config": config}, format="json").status_code == 200
    )
    events = list(AuditEvent.objects.filter(event_type__startswith="notification_channel_").order_by("pk"))
    assert [e.event_type for e in events] == ["notification_channel_create", "notification_channel_update"]
    for event in events:
        raw = orjson.dumps(event.payload).decode()
        assert TOKEN not in raw and "tok-rotated-77" not in raw and "$enc" not in raw, raw
    assert '"url_secrets":[{"name":"TOKEN","value":"***"}]' in orjson.dumps(events[0].payload).decode()
    # the config looks the same masked, but the secret did change: the update says so without showing it
    assert {"field": "config", "from": "***", "to": "***"} in events[1].payload["changes"]


def test_url_secret_never_appears_in_delivery_errors_snippets_or_logs(receiver, make_webhook, caplog):
    # The receiver echoes the request path back in a 500, as many frameworks do.
    receiver.script(Reply(status=500, body=f"no route for /hook/{TOKEN}".encode()))
    channel = make_webhook(receiver.url + "/{{TOKEN}}", url_secrets=[{"name": "TOKEN", "value": TOKEN}])
    delivery = enqueue(channel)
    with caplog.at_level(logging.DEBUG):
        assert delivery_send(delivery_id=delivery.pk, final=True).status == "failed"
    assert receiver.wait_for(1)[0].path == f"/hook/{TOKEN}"  # it was sent
    delivery.refresh_from_db()
    channel.refresh_from_db()
    attempt = DeliveryAttempt.objects.get(delivery=delivery)
    assert delivery.response_snippet == attempt.response_snippet == "no route for /hook/***"
    texts = [
        delivery.last_error,
        delivery.response_snippet,
        attempt.error,
        attempt.response_snippet,
        channel.last_error,
    ]
    texts += [orjson.dumps(e.payload).decode() for e in AuditEvent.objects.all()]
    texts.append(caplog.text)
    assert not any(TOKEN in text for text in texts)
    assert AuditEvent.objects.filter(event_type="notification_delivery_failed").exists()


def test_unexpected_error_mentioning_the_url_is_scrubbed(receiver, make_webhook, monkeypatch, caplog):
    def explode(self, method, target, *args, **kwargs):
        raise RuntimeError(f"could not send {method} {target}")

    monkeypatch.setattr(PinnedHTTPConnection, "request", explode)
    channel = make_webhook(receiver.url + "/{{TOKEN}}", url_secrets=[{"name": "TOKEN", "value": TOKEN}])
    delivery = enqueue(channel)
    with caplog.at_level(logging.DEBUG):
        assert delivery_send(delivery_id=delivery.pk).status == "failed"
    delivery.refresh_from_db()
    assert delivery.last_error == "RuntimeError: could not send POST /hook/***"
    assert TOKEN not in caplog.text


def test_test_button_answer_never_shows_the_filled_in_url(receiver, make_webhook):
    receiver.script(Reply(status=404, body=f'{{"path": "/hook/{TOKEN}"}}'.encode()))
    channel = make_webhook(receiver.url + "/{{TOKEN}}", url_secrets=[{"name": "TOKEN", "value": TOKEN}])
    delivery = channel_test(channel=channel, actor=None)
    assert delivery.status == "failed" and delivery.last_error == "HTTP 404"
    assert TOKEN not in delivery.response_snippet


def test_secret_echoed_across_the_snippet_cut_is_still_scrubbed(receiver, make_webhook):
    padding = "x" * 490
    receiver.script(Reply(status=500, body=f"{padding}/hook/{TOKEN}".encode()))
    channel = make_webhook(receiver.url + "/{{TOKEN}}", url_secrets=[{"name": "TOKEN", "value": TOKEN}])
    delivery = enqueue(channel)
    delivery_send(delivery_id=delivery.pk, final=True)
    delivery.refresh_from_db()
    assert len(delivery.response_snippet) <= 500
    assert TOKEN[:5] not in delivery.response_snippet.removeprefix(padding)


@pytest.mark.parametrize(
    "echo",
    [
        lambda value: quote(value, safe="").lower(),  # lower-case percent-encoding
        lambda value: json.dumps(value)[1:-1],  # inside a JSON string
    ],
    ids=["lowercase-percent", "json-escaped"],
)
def test_secret_echoed_escaped_is_scrubbed(receiver, make_webhook, echo):
    secret = 'k3y/"quoted"&more'
    receiver.script(Reply(status=500, body=f"path was {echo(secret)}".encode()))
    channel = make_webhook(receiver.url + "/{{TOKEN}}", url_secrets=[{"name": "TOKEN", "value": secret}])
    delivery = enqueue(channel)
    delivery_send(delivery_id=delivery.pk, final=True)
    delivery.refresh_from_db()
    assert delivery.response_snippet == "path was ***"


def test_moving_the_webhook_to_another_host_needs_its_values_typed_again(admin, public_dns):
    created = admin.post(URL, body(), format="json").json()
    moved = {**created["config"], "url": "https://elsewhere.example.com/steal/{{TOKEN}}"}
    response = admin.patch(f"{URL}/{created['id']}", {"config": moved}, format="json")
    assert response.status_code == 400
    assert response.json()["config.url_secrets[0].value"] == ["The destination changed: type this value again."]
    same_host = {**created["config"], "url": HOOK + "/v2/{{TOKEN}}"}
    assert admin.patch(f"{URL}/{created['id']}", {"config": same_host}, format="json").status_code == 200

"""Webhook `config.signature: "standard"`: Standard Webhooks headers, verified with the reference library."""

from __future__ import annotations

import base64

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from channels.models import DeliveryStatus
from channels.services import delivery_send
from tests.channels.conftest import enqueue

pytestmark = pytest.mark.django_db
URL = "/api/v1/channels"
WHSEC = "whsec_" + base64.b64encode(b"k" * 32).decode()


def headers_of(request) -> dict[str, str]:
    return {name: value for name, value in request.headers.items()}


def test_a_standard_signature_verifies_with_the_reference_library(make_webhook, receiver):
    channel = make_webhook(receiver.url, secret=WHSEC, signature="standard")
    delivery = enqueue(channel)
    assert delivery_send(delivery_id=delivery.pk).status == DeliveryStatus.SENT
    request = receiver.requests[0]
    payload = Webhook(WHSEC).verify(request.body, headers_of(request))
    assert payload["delivery_id"] == str(delivery.uuid)
    assert request.header("webhook-id") == str(delivery.uuid)
    assert request.header("webhook-signature").startswith("v1,")
    assert request.header("X-Alertsite-Signature") is None


def test_a_standard_signature_fails_verification_with_another_secret(make_webhook, receiver):
    channel = make_webhook(receiver.url, secret=WHSEC, signature="standard")
    delivery_send(delivery_id=enqueue(channel).pk)
    other = "whsec_" + base64.b64encode(b"x" * 32).decode()
    with pytest.raises(WebhookVerificationError):
        Webhook(other).verify(receiver.requests[0].body, headers_of(receiver.requests[0]))


def test_the_default_signature_stays_alertsite(make_webhook, receiver):
    channel = make_webhook(receiver.url, secret="plain-secret")
    delivery_send(delivery_id=enqueue(channel).pk)
    assert receiver.requests[0].header("X-Alertsite-Signature").startswith("sha256=")
    assert receiver.requests[0].header("webhook-signature") is None
    assert channel.config["signature"] == "alertsite"


@pytest.mark.parametrize(
    "secret",
    ["plain-secret", "whsec_not base64!", "whsec_" + base64.b64encode(b"short").decode()],
)
def test_a_standard_signature_with_a_secret_that_is_not_whsec_base64_is_refused(auth_client, secret):
    body = {
        "kind": "webhook",
        "name": "Std",
        "config": {"url": "http://127.0.0.1:9/hook", "secret": secret, "signature": "standard"},
    }
    response = auth_client("admin").post(URL, data=body, format="json")
    assert response.status_code == 400
    assert "config.secret" in response.json()


def test_a_standard_signature_needs_a_secret(auth_client):
    body = {"kind": "webhook", "name": "Std", "config": {"url": "http://127.0.0.1:9/hook", "signature": "standard"}}
    response = auth_client("admin").post(URL, data=body, format="json")
    assert response.status_code == 400
    assert "whsec_" in str(response.json()["config.secret"])


def test_an_unknown_signature_scheme_is_refused(auth_client):
    body = {"kind": "webhook", "name": "Std", "config": {"url": "http://127.0.0.1:9/hook", "signature": "pgp"}}
    response = auth_client("admin").post(URL, data=body, format="json")
    assert response.status_code == 400
    assert "config.signature" in response.json()


def test_the_masked_secret_is_kept_when_switching_to_standard(auth_client):
    admin = auth_client("admin")
    created = admin.post(
        URL,
        data={"kind": "webhook", "name": "Std", "config": {"url": "http://127.0.0.1:9/hook", "secret": WHSEC}},
        format="json",
    ).json()
    config = {**created["config"], "signature": "standard"}
    response = admin.patch(f"{URL}/{created['id']}", data={"config": config}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["config"]["signature"] == "standard"

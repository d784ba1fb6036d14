"""Outgoing webhooks against a real HTTP receiver on loopback: body, headers, signature, retries, refusals."""

from __future__ import annotations

import base64
import hashlib
import hmac
import socket
import time
import uuid
from datetime import timedelta
from email.utils import format_datetime

import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from alerts.models import Alert
from alertsite import netsafety
from channels.models import Channel, Delivery, DeliveryAttempt, DeliveryStatus
from channels.services import delivery_send
from events.models import AuditEvent
from rules.services import rule_create
from tests.channels.conftest import ALERT_PAYLOAD, FAILED_LOGINS, SECRET, enqueue, make_due
from tests.factories import make_event
from tests.receivers import Reply, WebhookReceiver

pytestmark = pytest.mark.django_db


def expected_signature(secret: str, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def attempts_of(delivery: Delivery) -> list[tuple[int, str, int | None]]:
    return list(
        DeliveryAttempt.objects.filter(delivery=delivery)
        .order_by("number")
        .values_list("number", "outcome", "status_code")
    )


# -- body and headers ------------------------------------------------------------------------


def test_alert_created_webhook_has_the_documented_body_and_signed_headers(receiver, make_webhook, ingest):
    channel = make_webhook(receiver.url, secret=SECRET)
    rule = rule_create(data={**FAILED_LOGINS, "send_notifications": True, "channels": [channel.pk]}, actor=None)
    event = make_event(id="login-1")
    before = int(time.time())
    ingest(event)

    request = receiver.wait_for(1)[0]
    alert = Alert.objects.get()
    delivery = Delivery.objects.get()
    assert (request.method, request.path) == ("POST", "/hook")
    assert request.header("Content-Type") == "application/json"
    assert request.header("X-Alertsite-Event") == "alert.created"
    assert request.header("X-Alertsite-Delivery") == str(delivery.uuid)
    assert str(uuid.UUID(request.header("X-Alertsite-Delivery"))) == request.header("X-Alertsite-Delivery")
    timestamp = request.header("X-Alertsite-Timestamp")
    assert timestamp.isdigit() and before <= int(timestamp) <= int(time.time()) + 1
    assert hmac.compare_digest(
        request.header("X-Alertsite-Signature"), expected_signature(SECRET, timestamp, request.body)
    )

    body = request.json()
    assert set(body) == {"version", "type", "sent_at", "delivery_id", "alert", "event"}
    assert (body["version"], body["type"], body["delivery_id"]) == ("1", "alert.created", str(delivery.uuid))
    assert body["sent_at"].endswith("Z")
    assert body["alert"] == {
        "id": alert.pk,
        "reference": alert.reference,
        "status": "open",
        "priority": "high",
        "title": alert.title,
        "event_count": 1,
        "url": f"{settings.ALERTSITE_BASE_URL.rstrip('/')}/insights/alerts/{alert.pk}/",
        "rule": {"id": rule.pk, "name": "Failed admin logins"},
    }
    assert alert.reference.startswith("ALR-")
    assert body["event"] == event  # the triggering event exactly as ingested
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code) == (DeliveryStatus.SENT, 1, 200)
    assert delivery.sent_at is not None and delivery.duration_ms is not None


def test_signature_is_over_the_exact_raw_body(receiver, make_webhook):
    channel = make_webhook(receiver.url, secret=SECRET)
    delivery_send(delivery_id=enqueue(channel).pk)
    request = receiver.wait_for(1)[0]
    timestamp = request.header("X-Alertsite-Timestamp")
    assert hmac.compare_digest(
        request.header("X-Alertsite-Signature"), expected_signature(SECRET, timestamp, request.body)
    )
    tampered = request.body.replace(b'"priority":"high"', b'"priority":"low"')
    assert tampered != request.body
    assert not hmac.compare_digest(
        request.header("X-Alertsite-Signature"), expected_signature(SECRET, timestamp, tampered)
    )
    assert not hmac.compare_digest(
        request.header("X-Alertsite-Signature"), expected_signature("wrong-secret", timestamp, request.body)
    )


def test_no_signature_header_without_a_secret(receiver, make_webhook):
    channel = make_webhook(receiver.url)
    delivery_send(delivery_id=enqueue(channel).pk)
    request = receiver.wait_for(1)[0]
    assert request.header("X-Alertsite-Signature") is None
    assert request.header("X-Alertsite-Delivery") and request.header("X-Alertsite-Timestamp")


def test_static_and_sensitive_headers_reach_the_receiver_in_clear(receiver, make_webhook):
    channel = make_webhook(
        receiver.url,
        headers=[
            {"name": "X-Team", "value": "blue", "sensitive": False},
            {"name": "X-Api-Key", "value": "api-key-0123456789", "sensitive": True},
        ],
    )
    delivery_send(delivery_id=enqueue(channel).pk)
    request = receiver.wait_for(1)[0]
    assert request.header("X-Team") == "blue"
    assert request.header("X-Api-Key") == "api-key-0123456789"


def test_basic_auth_header(receiver, make_webhook):
    channel = make_webhook(receiver.url, auth={"type": "basic", "username": "alice", "password": "s3cr:et"})
    delivery_send(delivery_id=enqueue(channel).pk)
    request = receiver.wait_for(1)[0]
    assert request.header("Authorization") == "Basic " + base64.b64encode(b"alice:s3cr:et").decode()


def test_bearer_auth_header(receiver, make_webhook):
    channel = make_webhook(receiver.url, auth={"type": "bearer", "token": "tok-abc.def"})
    delivery_send(delivery_id=enqueue(channel).pk)
    assert receiver.wait_for(1)[0].header("Authorization") == "Bearer tok-abc.def"


def test_query_string_of_the_url_is_kept(receiver, make_webhook):
    channel = make_webhook(receiver.url + "?team=blue&x=1")
    delivery_send(delivery_id=enqueue(channel).pk)
    assert receiver.wait_for(1)[0].path == "/hook?team=blue&x=1"


# -- retries ------------------------------------------------------------------------------


def test_server_error_is_retried_with_the_same_delivery_id(receiver, make_webhook):
    receiver.script(500, "ok")
    channel = make_webhook(receiver.url, secret=SECRET)
    delivery = enqueue(channel)

    first = delivery_send(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert first.status == DeliveryStatus.PENDING
    assert (delivery.attempts, delivery.response_code, delivery.last_error) == (1, 500, "HTTP 500")
    assert delivery.next_attempt_at > timezone.now()
    assert delivery_send(delivery_id=delivery.pk).status == DeliveryStatus.PENDING  # not due yet: nothing sent
    assert len(receiver.requests) == 1

    make_due(delivery)
    assert delivery_send(delivery_id=delivery.pk).status == DeliveryStatus.SENT
    one, two = receiver.wait_for(2)
    assert one.header("X-Alertsite-Delivery") == two.header("X-Alertsite-Delivery") == str(delivery.uuid)
    assert one.json()["delivery_id"] == two.json()["delivery_id"] == str(delivery.uuid)
    for request in (one, two):
        timestamp = request.header("X-Alertsite-Timestamp")
        assert hmac.compare_digest(
            request.header("X-Alertsite-Signature"), expected_signature(SECRET, timestamp, request.body)
        )
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == (DeliveryStatus.SENT, 2, "")
    assert attempts_of(delivery) == [(1, "retry", 500), (2, "sent", 200)]
    channel.refresh_from_db()
    assert (channel.consecutive_failures, channel.last_error) == (0, "")
    assert channel.last_success_at is not None


def test_retry_after_is_honoured(receiver, make_webhook):
    receiver.script(Reply.with_status(429, retry_after=120))
    delivery = enqueue(make_webhook(receiver.url))
    before = timezone.now()
    outcome = delivery_send(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert outcome.status == DeliveryStatus.PENDING
    assert delivery.response_code == 429
    assert delivery.next_attempt_at >= before + timedelta(seconds=120)
    assert delivery.next_attempt_at <= timezone.now() + timedelta(
        seconds=settings.ALERTSITE_DELIVERY_BACKOFF_MAX_SECONDS
    )


def test_retry_after_as_an_http_date_is_honoured(receiver, make_webhook):
    when = timezone.now() + timedelta(seconds=300)
    receiver.script(Reply.with_status(503, retry_after=format_datetime(when, usegmt=True)))
    delivery = enqueue(make_webhook(receiver.url))
    assert delivery_send(delivery_id=delivery.pk).status == DeliveryStatus.PENDING
    delivery.refresh_from_db()
    assert delivery.next_attempt_at >= when - timedelta(seconds=2)


@pytest.mark.parametrize("status", [408, 502, 503])
def test_transient_statuses_are_retried(receiver, make_webhook, status):
    receiver.script(status)
    delivery = enqueue(make_webhook(receiver.url))
    assert delivery_send(delivery_id=delivery.pk).status == DeliveryStatus.PENDING


def test_backoff_grows_between_attempts(receiver, make_webhook):
    receiver.default = Reply.with_status(503)
    delivery = enqueue(make_webhook(receiver.url))
    delays = []
    with override_settings(ALERTSITE_DELIVERY_MAX_RETRIES=5, ALERTSITE_DELIVERY_BACKOFF_SECONDS=10):
        for _ in range(3):
            make_due(delivery)
            started = timezone.now()
            delivery_send(delivery_id=delivery.pk)
            delivery.refresh_from_db()
            delays.append((delivery.next_attempt_at - started).total_seconds())
    # full jitter within [base/2, base]: 5-10 s, then 10-20 s, then 20-40 s
    assert 4.5 <= delays[0] <= 10.5
    assert 9.5 <= delays[1] <= 20.5
    assert 19.5 <= delays[2] <= 40.5


def test_client_error_fails_at_once_and_is_recorded_as_an_audit_event(receiver, make_webhook):
    receiver.script(404)
    channel = make_webhook(receiver.url)
    delivery = enqueue(channel, causal_depth=1)
    outcome = delivery_send(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert outcome.status == DeliveryStatus.FAILED
    assert (delivery.status, delivery.attempts, delivery.response_code) == (DeliveryStatus.FAILED, 1, 404)
    assert delivery.next_attempt_at is None
    assert attempts_of(delivery) == [(1, "failed", 404)]
    failure = AuditEvent.objects.get(event_type="notification_delivery_failed")
    assert failure.causal_depth == delivery.causal_depth + 1
    assert failure.payload["delivery_id"] == str(delivery.uuid)
    assert failure.payload["http_status"] == 404
    assert failure.payload["attempts"] == 1
    assert failure.payload["resource"]["id"] == str(channel.pk)
    assert failure.payload["success"] is False
    channel.refresh_from_db()
    assert channel.consecutive_failures == 1
    assert channel.last_error == "HTTP 404"
    assert channel.last_delivery_at is not None and channel.last_success_at is None
    make_due(delivery)
    assert delivery_send(delivery_id=delivery.pk).status == DeliveryStatus.FAILED  # never tried again
    assert len(receiver.requests) == 1


@override_settings(ALERTSITE_DELIVERY_MAX_RETRIES=3)
def test_transient_failures_stop_after_the_last_retry(receiver, make_webhook):
    receiver.default = Reply.with_status(503)
    channel = make_webhook(receiver.url)
    delivery = enqueue(channel)
    statuses = []
    for _ in range(5):
        make_due(delivery)
        statuses.append(delivery_send(delivery_id=delivery.pk).status)
    assert statuses == ["pending", "pending", "pending", "failed", "failed"]
    assert len(receiver.requests) == 4
    assert len({r.header("X-Alertsite-Delivery") for r in receiver.requests}) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 4)
    assert attempts_of(delivery) == [(1, "retry", 503), (2, "retry", 503), (3, "retry", 503), (4, "failed", 503)]
    assert AuditEvent.objects.filter(event_type="notification_delivery_failed").count() == 1
    channel.refresh_from_db()
    assert channel.consecutive_failures == 4


@override_settings(ALERTSITE_DELIVERY_TIMEOUT_SECONDS=0.5)
def test_slow_receiver_times_out_and_is_retried(receiver, make_webhook):
    receiver.script(Reply.slow(3), "ok")
    delivery = enqueue(make_webhook(receiver.url))
    started = time.monotonic()
    assert delivery_send(delivery_id=delivery.pk).status == DeliveryStatus.PENDING
    assert time.monotonic() - started < 2.5
    delivery.refresh_from_db()
    assert "timed out" in delivery.last_error.lower()
    assert delivery.response_code is None
    make_due(delivery)
    assert delivery_send(delivery_id=delivery.pk).status == DeliveryStatus.SENT
    assert attempts_of(delivery) == [(1, "retry", None), (2, "sent", 200)]


def test_dropped_connection_is_transient(receiver, make_webhook):
    receiver.script("drop", "ok")
    delivery = enqueue(make_webhook(receiver.url))
    assert delivery_send(delivery_id=delivery.pk).status == DeliveryStatus.PENDING
    delivery.refresh_from_db()
    assert delivery.last_error.startswith("Connection failed")
    make_due(delivery)
    assert delivery_send(delivery_id=delivery.pk).status == DeliveryStatus.SENT


def test_refused_connection_is_transient(make_webhook):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    delivery = enqueue(make_webhook(f"http://127.0.0.1:{port}/hook"))
    assert delivery_send(delivery_id=delivery.pk).status == DeliveryStatus.PENDING


def test_redirect_is_not_followed(receiver, make_webhook):
    receiver.script(Reply.with_status(302, headers={"Location": f"{receiver.url}/elsewhere"}))
    delivery = enqueue(make_webhook(receiver.url))
    assert delivery_send(delivery_id=delivery.pk).status == DeliveryStatus.FAILED
    delivery.refresh_from_db()
    assert (delivery.response_code, delivery.attempts) == (302, 1)
    assert "redirect" in delivery.last_error
    time.sleep(0.2)
    assert [r.path for r in receiver.requests] == ["/hook"]


def test_private_destination_is_refused_at_send_time(receiver, make_webhook, monkeypatch):
    """A name pointing at loopback is refused once private destinations are off, before any request."""
    real = socket.getaddrinfo

    def fake(host, port, *args, **kwargs):
        if host == "hooks.example.com":  # the receiver's own address: reachable if the check were missing
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(netsafety.socket, "getaddrinfo", fake)
    channel = make_webhook(f"http://hooks.example.com:{receiver.port}/hook")  # saved while private is allowed
    delivery = enqueue(channel)
    with override_settings(ALERTSITE_WEBHOOK_ALLOW_PRIVATE=False):
        assert delivery_send(delivery_id=delivery.pk).status == DeliveryStatus.FAILED
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.response_code) == (1, None)
    assert "127.0.0.1" in delivery.last_error
    time.sleep(0.2)
    assert receiver.requests == []
    # With private destinations allowed the same channel works: the refusal above was the guard.
    make_due(delivery)
    Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.PENDING)
    assert delivery_send(delivery_id=delivery.pk).status == DeliveryStatus.SENT
    assert receiver.wait_for(1)[0].header("Host") == f"hooks.example.com:{receiver.port}"


def test_name_resolving_to_a_nat64_spelling_of_loopback_is_refused_at_send_time(make_webhook, monkeypatch):
    real = socket.getaddrinfo

    def fake(host, port, *args, **kwargs):
        if host == "hooks.example.com":
            return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("64:ff9b::7f00:1", port, 0, 0))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(netsafety.socket, "getaddrinfo", fake)
    delivery = enqueue(make_webhook("http://hooks.example.com/hook"))  # saved while private is allowed
    with override_settings(ALERTSITE_WEBHOOK_ALLOW_PRIVATE=False):
        assert delivery_send(delivery_id=delivery.pk).status == DeliveryStatus.FAILED
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.response_code) == (1, None)
    assert "64:ff9b::7f00:1" in delivery.last_error


def test_disabled_channel_fails_the_delivery_without_sending(receiver, make_webhook):
    channel = make_webhook(receiver.url)
    delivery = enqueue(channel)
    Channel.objects.filter(pk=channel.pk).update(enabled=False)
    assert delivery_send(delivery_id=delivery.pk).status == DeliveryStatus.FAILED
    time.sleep(0.1)
    assert receiver.requests == []


# -- the deliveries API ------------------------------------------------------------------------


def test_retry_api_sends_a_failed_delivery_again_with_the_same_id(
    receiver, make_webhook, auth_client, django_capture_on_commit_callbacks
):
    receiver.script(404)
    delivery = enqueue(make_webhook(receiver.url))
    delivery_send(delivery_id=delivery.pk)
    client = auth_client("admin")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/v1/deliveries/{delivery.pk}/retry")
    assert response.status_code == 200, response.content
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT
    first, second = receiver.wait_for(2)
    assert first.header("X-Alertsite-Delivery") == second.header("X-Alertsite-Delivery") == str(delivery.uuid)
    assert client.post(f"/api/v1/deliveries/{delivery.pk}/retry").status_code == 409  # sent: nothing to retry
    assert len(receiver.requests) == 2


def test_retry_api_is_for_admins(receiver, make_webhook, auth_client):
    receiver.script(404)
    delivery = enqueue(make_webhook(receiver.url))
    delivery_send(delivery_id=delivery.pk)
    assert auth_client("viewer").post(f"/api/v1/deliveries/{delivery.pk}/retry").status_code == 403
    assert auth_client("viewer").get(f"/api/v1/deliveries/{delivery.pk}").status_code == 200


def test_deliveries_are_listed_and_filtered(receiver, make_webhook, auth_client, ingest):
    with WebhookReceiver() as broken:
        broken.default = Reply.with_status(410)
        good = make_webhook(receiver.url, name="Good")
        bad = make_webhook(broken.url, name="Bad")
        rule_a = rule_create(data={**FAILED_LOGINS, "send_notifications": True, "channels": [good.pk]}, actor=None)
        rule_b = rule_create(
            data={**FAILED_LOGINS, "name": "Second", "send_notifications": True, "channels": [bad.pk]}, actor=None
        )
        ingest(make_event(id="one"))
    alert_a = Alert.objects.get(rule=rule_a)
    alert_b = Alert.objects.get(rule=rule_b)
    client = auth_client("viewer")

    def ids(**params) -> list[int]:
        response = client.get("/api/v1/deliveries", params)
        assert response.status_code == 200, response.content
        return sorted(row["id"] for row in response.json()["results"])

    sent = Delivery.objects.get(channel=good)
    failed = Delivery.objects.get(channel=bad)
    assert ids() == sorted([sent.pk, failed.pk])
    assert ids(channel=good.pk) == [sent.pk]
    assert ids(status="failed") == [failed.pk]
    assert ids(status="sent") == [sent.pk]
    assert ids(alert=alert_a.pk) == [sent.pk]
    assert ids(rule=rule_b.pk) == [failed.pk]
    assert ids(alert=alert_b.pk, status="sent") == []
    row = client.get("/api/v1/deliveries", {"status": "failed"}).json()["results"][0]
    assert row["delivery_id"] == str(failed.uuid)
    assert (row["kind"], row["status"], row["attempts"], row["response_code"]) == ("alert.created", "failed", 1, 410)
    assert row["channel"] == {"id": bad.pk, "name": "Bad", "kind": "webhook"}
    assert row["last_error"] == "HTTP 410"
    assert [a["outcome"] for a in row["attempt_log"]] == ["failed"]
    assert row["attempt_log"][0]["duration_ms"] is not None
    assert client.get("/api/v1/deliveries", {"status": "bogus"}).status_code == 400


@override_settings(ALERTSITE_CHANNEL_PAUSE_AFTER_FAILURES=100)  # every delivery gets its attempt
def test_delivery_list_does_not_query_per_row(receiver, make_webhook, auth_client, django_assert_max_num_queries):
    receiver.default = Reply.with_status(503)
    channels = [make_webhook(receiver.url, name=f"Hook {n}") for n in range(3)]
    for n in range(12):
        delivery = enqueue(channels[n % 3])
        delivery_send(delivery_id=delivery.pk)
    client = auth_client("viewer")
    with django_assert_max_num_queries(6):
        response = client.get("/api/v1/deliveries")
    assert len(response.json()["results"]) == 12
    assert all(len(row["attempt_log"]) == 1 for row in response.json()["results"])


def test_delivery_list_needs_authentication(api_client):
    assert api_client.get("/api/v1/deliveries").status_code == 401


def test_payload_without_alert_keeps_the_rule(receiver, make_webhook):
    payload = {"rule": {"id": 0, "name": "Notify only"}, "event": ALERT_PAYLOAD["event"]}
    delivery_send(delivery_id=enqueue(make_webhook(receiver.url), kind="event.matched", payload=payload).pk)
    body = receiver.wait_for(1)[0].json()
    assert body["type"] == "event.matched"
    assert body["rule"] == {"id": 0, "name": "Notify only"}
    assert "alert" not in body
    assert body["event"] == ALERT_PAYLOAD["event"]


# -- test sends ------------------------------------------------------------------------------


def test_test_send_posts_a_test_notification_now(receiver, make_webhook, auth_client):
    channel = make_webhook(receiver.url, secret=SECRET)
    response = auth_client("admin").post(f"/api/v1/channels/{channel.pk}/test")
    assert response.status_code == 200, response.content
    body = response.json()
    assert {key: body[key] for key in ("delivered", "status_code", "error")} == {
        "delivered": True,
        "status_code": 200,
        "error": None,
    }
    request = receiver.wait_for(1)[0]
    assert request.header("X-Alertsite-Event") == "test"
    assert request.json()["type"] == "test"
    assert request.header("X-Alertsite-Delivery") == body["delivery"]["delivery_id"]
    timestamp = request.header("X-Alertsite-Timestamp")
    assert hmac.compare_digest(
        request.header("X-Alertsite-Signature"), expected_signature(SECRET, timestamp, request.body)
    )


def test_failed_test_send_is_reported_once_and_not_retried(receiver, make_webhook, auth_client):
    receiver.default = Reply.with_status(500)
    channel = make_webhook(receiver.url)
    body = auth_client("admin").post(f"/api/v1/channels/{channel.pk}/test").json()
    assert (body["delivered"], body["status_code"], body["error"]) == (False, 500, "HTTP 500")
    delivery = Delivery.objects.get()
    assert (delivery.kind, delivery.status, delivery.attempts) == ("test", DeliveryStatus.FAILED, 1)
    assert not AuditEvent.objects.filter(event_type="notification_delivery_failed").exists()
    time.sleep(0.1)
    assert len(receiver.requests) == 1


# -- TLS -------------------------------------------------------------------------------------


def test_self_signed_certificate_is_rejected_when_verification_is_on(make_webhook):
    with WebhookReceiver(tls=True) as secure:
        delivery = enqueue(make_webhook(secure.url))  # verify_ssl defaults to true
        assert delivery_send(delivery_id=delivery.pk).status != DeliveryStatus.SENT
        delivery.refresh_from_db()
        assert "CERTIFICATE_VERIFY_FAILED" in delivery.last_error
        time.sleep(0.1)
        assert secure.requests == []


def test_self_signed_certificate_is_accepted_when_verification_is_off(make_webhook):
    with WebhookReceiver(tls=True) as secure:
        delivery = enqueue(make_webhook(secure.url, verify_ssl=False, secret=SECRET))
        assert delivery_send(delivery_id=delivery.pk).status == DeliveryStatus.SENT
        request = secure.wait_for(1)[0]
    assert request.header("X-Alertsite-Delivery") == str(delivery.uuid)
    timestamp = request.header("X-Alertsite-Timestamp")
    assert hmac.compare_digest(
        request.header("X-Alertsite-Signature"), expected_signature(SECRET, timestamp, request.body)
    )

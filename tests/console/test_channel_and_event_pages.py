"""Notification channel pages and the event log page."""

from __future__ import annotations

import http.server
import threading

import orjson
import pytest

from channels.models import Channel, Delivery
from events.models import AuditEvent
from tests.factories import make_event

pytestmark = pytest.mark.django_db


class Ok(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()


def as_role(client, make_user, role):
    client.force_login(make_user(role))
    return client


def test_admin_adds_a_webhook_channel_with_a_secret_and_headers(client, make_user, receiver):
    response = as_role(client, make_user, "admin").post(
        "/settings/notification-channels/new/webhooks/",
        {
            "name": "Ops hook",
            "enabled": "on",
            "url": receiver,
            "verify_ssl": "on",
            "secret": "s3cret",
            "header_rows": "5",
            "header_name_0": "X-Team",
            "header_value_0": "ops",
            "header_name_1": "X-Key",
            "header_value_1": "abc",
            "header_sensitive_1": "on",
            "auth_type": "none",
        },
    )
    assert response.status_code == 302
    channel = Channel.objects.get(name="Ops hook")
    assert "$enc" in channel.config["secret"]
    page = client.get(f"/settings/notification-channels/{channel.pk}/edit/").content.decode()
    assert "s3cret" not in page and "abc" not in page


def test_invalid_email_channel_keeps_what_was_typed(client, make_user):
    response = as_role(client, make_user, "admin").post(
        "/settings/notification-channels/new/email/", {"name": "Team", "recipients": "ok@example.com\nnot-an-address"}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "not-an-address" in page and "is not a valid e-mail address" in page


def test_test_button_shows_the_outcome(client, make_user, receiver):
    client = as_role(client, make_user, "admin")
    client.post("/settings/notification-channels/new/webhooks/", {"name": "Hook", "url": receiver, "auth_type": "none"})
    channel = Channel.objects.get()
    fragment = client.post(f"/settings/notification-channels/{channel.pk}/test/", HTTP_HX_REQUEST="true")
    assert "Delivered" in fragment.content.decode()
    assert Delivery.objects.filter(channel=channel, kind="test", status="sent").exists()
    log = client.get(f"/settings/notification-channels/{channel.pk}/deliveries/").content.decode()
    assert "test" in log


def test_viewer_sees_channels_but_cannot_add_or_test(client, make_user):
    Channel.objects.create(kind="email", name="Team", config={"recipients": ["a@example.com"], "roles": []})
    client = as_role(client, make_user, "viewer")
    page = client.get("/settings/notification-channels/").content.decode()
    assert "Team" in page and "+Add" not in page and ">Test<" not in page
    assert client.post(f"/settings/notification-channels/{Channel.objects.get().pk}/test/").status_code == 403


def test_events_page_filters_and_escapes_payloads(client, make_user, auth_client):
    events = [
        make_event(id="a", initiated_by={"email": "<script>x</script>@example.com"}),
        make_event(id="b", success=True),
    ]
    auth_client("admin").post("/api/v1/events", data=orjson.dumps(events), content_type="application/json")
    client = as_role(client, make_user, "viewer")
    page = client.get("/insights/events/?success=false").content.decode()
    assert "<script>x</script>" not in page and "&lt;script&gt;" in page
    assert AuditEvent.objects.count() >= 2


def test_events_page_offers_create_rule_from_this_event_to_admins(client, make_user, auth_client):
    auth_client("admin").post(
        "/api/v1/events", data=orjson.dumps(make_event(id="evt-1")), content_type="application/json"
    )
    page = as_role(client, make_user, "admin").get("/insights/events/").content.decode()
    assert "from_event=evt-1" in page and "Create rule from this event" in page

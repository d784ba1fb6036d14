"""The channels admin: write-only secrets, errors on the right field, deletes and actions through the services."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.contrib.admin.models import DELETION, LogEntry
from django.contrib.messages import ERROR, SUCCESS, WARNING

from alertsite.crypto import MASK, secret_open
from channels.models import Channel, Delivery, DeliveryAttempt, DeliveryStatus
from channels.services import channel_create
from events.models import AuditEvent
from rules.services import rule_create

pytestmark = pytest.mark.django_db

CHANNELS = "/admin/channels/channel/"
DELIVERIES = "/admin/channels/delivery/"
CLEAR_SECRET = "whsec-clear-text-never-shown-9c1f"


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


class Receiver(ThreadingHTTPServer):
    """A webhook endpoint on loopback: 200 on any path, 500 on /fail; records each delivery id."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.deliveries: list[tuple[str, str]] = []  # (path, X-Alertsite-Delivery)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.deliveries.append((self.path, self.headers.get("X-Alertsite-Delivery", "")))
        status = 500 if self.path == "/fail" else 200
        body = b'{"ok": true}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def webhook(name: str, url: str, **config: object) -> Channel:
    return channel_create(data={"kind": "webhook", "name": name, "config": {"url": url, **config}}, actor=None)


def email_channel(name: str, **fields: object) -> Channel:
    config = {"recipients": [f"{name.lower().replace(' ', '-')}@example.com"], "roles": []}
    return Channel.objects.create(kind="email", name=name, config=config, **fields)


def make_delivery(channel: Channel, n: int, status: str = DeliveryStatus.SENT, **fields: object) -> Delivery:
    return Delivery.objects.create(
        channel=channel,
        kind="alert.created",
        source=f"alert:{n}",
        status=status,
        payload={"event": {"id": n}},
        **fields,
    )


def messages_of(response) -> list[tuple[int, str]]:
    return [(message.level, message.message) for message in response.context["messages"]]


def run_action(client, url: str, action: str, objects: list) -> object:
    return client.post(url, {"action": action, "_selected_action": [obj.pk for obj in objects]}, follow=True)


def form_post(client, url: str, fields: dict[str, object], *, config: object):
    """POST the admin form with the inline management forms as the page rendered them."""
    page = client.get(url)
    assert page.status_code == 200
    data: dict[str, object] = {}
    for inline in page.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = management[name].value()
        for form in inline.formset.forms:
            for bound in form.hidden_fields():
                if bound.value() is not None:
                    data[bound.html_name] = bound.value()
    data.update({key: value for key, value in fields.items() if value is not False})
    data["config"] = config if isinstance(config, str) else json.dumps(config)
    return client.post(url, data)


def form_errors(response) -> dict[str, list[str]]:
    assert response.status_code == 200, "expected the form back with errors"
    return {field: list(errors) for field, errors in response.context["adminform"].form.errors.items()}


# -- lists ----------------------------------------------------------------------------


@pytest.mark.parametrize("count", [3, 20])
def test_changelists_render_with_bounded_queries(admin_client, count, django_assert_max_num_queries):
    rule = rule_create(data={"name": "Logins", "conditions": [{"event_type": "user_login_attempt"}]}, actor=None)
    channels = [email_channel(f"Channel {n:02d}") for n in range(count)]
    rule.channels.add(*channels[:2])
    for n, channel in enumerate(channels):
        make_delivery(channel, n, status=DeliveryStatus.FAILED if n % 2 else DeliveryStatus.SENT, last_error="HTTP 500")
    with django_assert_max_num_queries(8):
        response = admin_client.get(CHANNELS)
    assert response.status_code == 200
    rows = {channel.name: channel for channel in response.context["cl"].result_list}
    assert len(rows) == count
    assert (rows["Channel 00"].rule_count, rows["Channel 02"].rule_count) == (1, 0)
    with django_assert_max_num_queries(8):
        response = admin_client.get(DELIVERIES)
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == count
    assert "Add delivery" not in response.content.decode()


def test_health_badge_and_failing_filter(admin_client):
    failing = email_channel("Pager", consecutive_failures=3, last_error="HTTP 503 " + "x" * 200)
    healthy = email_channel("Mail")
    healthy.last_delivery_at = healthy.created_at
    healthy.save()
    email_channel("Quiet")
    body = admin_client.get(CHANNELS).content.decode()
    assert "failing: 3 consecutive failures" in body
    assert "never used" in body and ">ok<" in body
    assert "x" * 200 not in body  # the last error is truncated in the list
    response = admin_client.get(CHANNELS, {"health": "failing"})
    assert [channel.pk for channel in response.context["cl"].result_list] == [failing.pk]


def test_change_page_lists_the_newest_20_deliveries_with_bounded_queries(admin_client, django_assert_max_num_queries):
    channel = email_channel("Mail")
    deliveries = [make_delivery(channel, n, last_error=f"error {n}") for n in range(25)]
    with django_assert_max_num_queries(10):
        response = admin_client.get(f"{CHANNELS}{channel.pk}/change/")
    [inline] = response.context["inline_admin_formsets"]
    shown = [form.instance.pk for form in inline.formset.forms]
    assert shown == [d.pk for d in reversed(deliveries)][:20]


# -- the form: write-only secrets, service errors on fields ---------------------------


def test_add_form_seals_the_secret_and_pages_never_show_it(admin_client, receiver):
    response = form_post(
        admin_client,
        f"{CHANNELS}add/",
        {"name": "Ops hook", "kind": "webhook", "enabled": "on"},
        config={"url": receiver.url(), "secret": CLEAR_SECRET, "auth": {"type": "bearer", "token": "tok-123456"}},
    )
    assert response.status_code == 302, form_errors(response)
    channel = Channel.objects.get(name="Ops hook")
    assert set(channel.config["secret"]) == {"$enc"} and CLEAR_SECRET not in json.dumps(channel.config)
    assert secret_open(channel.config["secret"]) == CLEAR_SECRET
    assert secret_open(channel.config["auth"]["token"]) == "tok-123456"
    assert AuditEvent.objects.filter(event_type="notification_channel_create").count() == 1

    change_url = f"{CHANNELS}{channel.pk}/change/"
    page = admin_client.get(change_url).content.decode()
    assert CLEAR_SECRET not in page and "tok-123456" not in page and "$enc" not in page
    assert MASK in page

    # Saving the masked config back (a rename) keeps the stored secrets as they were.
    sealed = channel.config["secret"]
    shown = admin_client.get(change_url).context["adminform"].form.initial["config"]
    response = form_post(admin_client, change_url, {"name": "Ops hook 2", "enabled": "on"}, config=shown)
    assert response.status_code == 302, form_errors(response)
    channel.refresh_from_db()
    assert channel.name == "Ops hook 2" and channel.config["secret"] == sealed
    assert secret_open(channel.config["auth"]["token"]) == "tok-123456"
    assert AuditEvent.objects.filter(event_type="notification_channel_update").count() == 1


def test_invalid_url_is_reported_on_the_config_field(admin_client):
    response = form_post(
        admin_client,
        f"{CHANNELS}add/",
        {"name": "FTP hook", "kind": "webhook", "enabled": "on"},
        config={"url": "ftp://files.example.com/drop"},
    )
    errors = form_errors(response)
    assert list(errors) == ["config"]
    assert errors["config"][0].startswith("config.url: ")
    assert not Channel.objects.filter(name="FTP hook").exists()


def test_bad_json_and_duplicate_name_are_field_errors(admin_client):
    email_channel("Security team")
    response = form_post(
        admin_client, f"{CHANNELS}add/", {"name": "security TEAM", "kind": "email"}, config="{not json"
    )
    errors = form_errors(response)
    assert set(errors) == {"name", "config"}
    assert "already exists" in errors["name"][0]
    assert len(errors["config"]) == 1  # the JSON error only, not the service's "must be an object" as well


def test_kind_cannot_change_on_the_change_form(admin_client):
    channel = email_channel("Mail")
    response = form_post(
        admin_client,
        f"{CHANNELS}{channel.pk}/change/",
        {"name": "Mail", "kind": "webhook"},
        config={"recipients": ["soc@example.com"], "roles": []},
    )
    assert response.status_code == 302
    channel.refresh_from_db()
    assert channel.kind == "email" and channel.config["recipients"] == ["soc@example.com"]


# -- deleting -------------------------------------------------------------------------


def test_deleting_a_channel_a_rule_uses_shows_an_error_and_keeps_it(admin_client):
    channel = email_channel("Pager")
    rule_create(
        data={
            "name": "Logins",
            "conditions": [{"event_type": "user_login_attempt"}],
            "send_notifications": True,
            "channels": [channel.pk],
        },
        actor=None,
    )
    response = admin_client.post(f"{CHANNELS}{channel.pk}/delete/", {"post": "yes"}, follow=True)
    assert response.status_code == 200
    [(level, text)] = messages_of(response)
    assert level == ERROR and "“Pager” was not deleted" in text and "Logins" in text
    assert Channel.objects.filter(pk=channel.pk).exists()
    assert not LogEntry.objects.filter(action_flag=DELETION).exists()
    assert not AuditEvent.objects.filter(event_type="notification_channel_delete").exists()


def test_deleting_an_unused_channel_goes_through_the_service(admin_client):
    channel = email_channel("Old mail")
    response = admin_client.post(f"{CHANNELS}{channel.pk}/delete/", {"post": "yes"}, follow=True)
    assert [level for level, _text in messages_of(response)] == [SUCCESS]
    assert not Channel.objects.filter(pk=channel.pk).exists()
    assert AuditEvent.objects.filter(event_type="notification_channel_delete").count() == 1


def test_bulk_delete_keeps_the_channels_in_use(admin_client):
    used, unused = email_channel("Pager"), email_channel("Spare")
    rule = rule_create(data={"name": "Logins", "conditions": [{"event_type": "user_login_attempt"}]}, actor=None)
    rule.channels.add(used)
    confirm = run_action(admin_client, CHANNELS, "delete_selected", [used, unused])
    assert "Are you sure" in confirm.content.decode()
    response = admin_client.post(
        CHANNELS, {"action": "delete_selected", "_selected_action": [used.pk, unused.pk], "post": "yes"}, follow=True
    )
    [(level, text)] = messages_of(response)
    assert level == WARNING
    assert text.startswith("Deleted 1 channel, 1 kept because rules use them: Pager (used by Logins)")
    assert list(Channel.objects.values_list("name", flat=True)) == ["Pager"]
    assert LogEntry.objects.filter(action_flag=DELETION).count() == 1


# -- actions --------------------------------------------------------------------------


def test_test_action_reports_each_outcome(admin_client, receiver):
    good = webhook("Good hook", receiver.url())
    bad = webhook("Bad hook", receiver.url("/fail"))
    response = run_action(admin_client, CHANNELS, "send_test", [good, bad])
    assert messages_of(response) == [
        (ERROR, "Test to “Bad hook”: failed, status 500: HTTP 500"),
        (SUCCESS, "Test to “Good hook”: delivered, status 200."),
    ]
    tests = {d.channel_id: d for d in Delivery.objects.filter(kind="test")}
    assert sorted(receiver.deliveries) == sorted(
        [("/hook", str(tests[good.pk].uuid)), ("/fail", str(tests[bad.pk].uuid))]
    )
    bad.refresh_from_db()
    good.refresh_from_db()
    assert (bad.consecutive_failures, good.consecutive_failures) == (1, 0)


def test_enable_and_disable_actions(admin_client):
    on, off = email_channel("On"), email_channel("Off", enabled=False)
    response = run_action(admin_client, CHANNELS, "disable_channels", [on, off])
    assert messages_of(response) == [(SUCCESS, "Disabled 1 channel, 1 skipped (already disabled).")]
    response = run_action(admin_client, CHANNELS, "enable_channels", [on, off])
    assert messages_of(response) == [(SUCCESS, "Enabled 2 channels.")]
    assert set(Channel.objects.values_list("enabled", flat=True)) == {True}
    assert AuditEvent.objects.filter(event_type="notification_channel_update").count() == 3


def test_retry_action_retries_failed_deliveries_only(admin_client, receiver, django_capture_on_commit_callbacks):
    channel = webhook("Hook", receiver.url())
    failed = [
        make_delivery(channel, n, status=DeliveryStatus.FAILED, attempts=4, last_error="HTTP 503") for n in range(3)
    ]
    others = [make_delivery(channel, 10, status=DeliveryStatus.SENT), make_delivery(channel, 11, status="pending")]
    with django_capture_on_commit_callbacks(execute=True):
        response = run_action(admin_client, DELIVERIES, "retry_deliveries", [*failed, *others])
    assert messages_of(response) == [(SUCCESS, "Retried 3 deliveries, 2 skipped (not failed).")]
    for delivery in failed:
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts, delivery.last_error) == (DeliveryStatus.SENT, 1, "")
    assert sorted(delivery_id for _path, delivery_id in receiver.deliveries) == sorted(str(d.uuid) for d in failed)
    assert [d.status for d in Delivery.objects.filter(pk__in=[o.pk for o in others]).order_by("pk")] == [
        "sent",
        "pending",
    ]


def test_delivery_pages_are_read_only_and_searchable(admin_client):
    channel = email_channel("Mail")
    delivery = make_delivery(channel, 1, status=DeliveryStatus.FAILED, attempts=1, last_error="SMTP 550")
    DeliveryAttempt.objects.create(
        delivery=delivery, number=1, at=delivery.created_at, status_code=550, error="SMTP 550", outcome="failed"
    )
    make_delivery(channel, 2)
    assert admin_client.get(f"{DELIVERIES}add/").status_code == 403
    page = admin_client.get(f"{DELIVERIES}{delivery.pk}/change/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "SMTP 550" in body and 'name="_save"' not in body
    for term in (str(delivery.uuid), "alert:1"):
        response = admin_client.get(DELIVERIES, {"q": term})
        assert [d.pk for d in response.context["cl"].result_list] == [delivery.pk]
    assert admin_client.get(DELIVERIES, {"q": "not-a-uuid"}).status_code == 200

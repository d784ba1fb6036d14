"""The console in a real browser: the vendor's rule-creation steps, live alerts, the alert lifecycle,
a webhook channel's Test button, what a viewer may not do, and escaping of hostile event data.

Run with `ALERTSITE_SCREENSHOTS=1` to refresh the README pictures in docs/screenshots/.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
import pytest
from playwright.sync_api import Page, expect

from alerts.models import Alert
from alerts.services import alert_transition
from alerts.states import AlertStatus
from alertsite.demo.simulator import EventSimulator
from channels.services import channel_create
from events.models import AuditEvent
from rules.models import Rule
from rules.services import rule_create
from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

LIVE_TIMEOUT_MS = 20_000  # the alerts table polls every 5 s, the bell every 10 s
XSS_SCRIPT = "<script>window.__xss=1</script>"
XSS_IMAGE = "<img src=x onerror=window.__xss=2>"


def rfc3339(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def failed_login(event_id: str, *, email: str = "mallory.jones@example.com", **extra: Any) -> dict[str, Any]:
    """A failed user login, now: what the "Failed user logins" rule below alerts on."""
    return {
        "id": event_id,
        "event_type": "user_login_attempt",
        "service": "directory",
        "timestamp": rfc3339(datetime.now(UTC)),
        "initiated_by": {"id": "61c0ffee0000000000000a02", "type": "user", "email": email},
        "client_ip": "203.0.113.66",
        "geoip": {"country_code": "KP"},
        "success": False,
        **extra,
    }


def no_controls(page: Page, *names: str) -> None:
    """None of these buttons (or links styled as buttons) is on the page."""
    for name in names:
        expect(page.get_by_role("button", name=name, exact=True)).to_have_count(0)
        expect(page.get_by_role("link", name=name, exact=True)).to_have_count(0)


# -- shared set-up ----------------------------------------------------------------------------------


@pytest.fixture
def rules_and_channels(failed_logins_rule: Rule) -> dict[str, Any]:
    """Rules of every priority over common and rare events, a webhook and an e-mail channel."""
    webhook = channel_create(
        data={"kind": "webhook", "name": "SOC webhook", "config": {"url": "http://127.0.0.1:9/alertsite"}},
        actor=None,
    )
    email = channel_create(
        data={"kind": "email", "name": "Security team", "config": {"recipients": ["soc@example.com"]}}, actor=None
    )
    rules = [
        {
            "name": "Admin console logins",
            "description": "Every sign-in to the admin console",
            "priority": "medium",
            "conditions": [{"event_type": "admin_login_attempt"}],
            "send_notifications": True,
            "channels": [email.pk],
        },
        {
            "name": "User account changes",
            "priority": "low",
            "conditions": [{"event_type": "user_update"}, {"event_type": "user_password_change"}],
            "group_by": ["initiated_by.email"],
            "group_window_minutes": 60,
        },
        {
            "name": "Admin TOTP disabled",
            "description": "An admin turned off their second factor",
            "priority": "high",
            "conditions": [{"event_type": "admin_totp_disable"}, {"event_type": "admin_lockout"}],
            "send_notifications": True,
            "channels": [webhook.pk, email.pk],
            "notify_on_resolve": True,
        },
    ]
    for data in rules:
        rule_create(data=data, actor=None)
    return {"webhook": webhook, "email": email}


@pytest.fixture
def console_data(rules_and_channels: dict[str, Any], ingest: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    """A lived-in console: the rules above and two hours of simulated events (some raise alerts), one of
    the alerts acknowledged."""
    simulator = EventSimulator(seed=15, users=60, login_failure_rate=0.2)
    now = datetime.now(UTC)
    events = [simulator.event(now - timedelta(seconds=90 * (80 - i))) for i in range(80)]
    events.append(failed_login("seed-failed-login-1", email="niaj.clark@example.com"))
    ingest(events)
    first = Alert.objects.order_by("pk").first()
    assert first is not None, "the simulated events raised no alert"
    alert_transition(alert=first, to=AlertStatus.ACKNOWLEDGED, actor=None, note="Looking into it")
    return {**rules_and_channels, "events": len(events)}


@pytest.fixture
def open_alert(failed_logins_rule: Rule, ingest: Callable[[Any], dict[str, Any]]) -> Alert:
    ingest(failed_login("lifecycle-1"))
    return Alert.objects.get(event__event_id="lifecycle-1")


@pytest.fixture
def webhook_receiver() -> Iterator[dict[str, Any]]:
    """A local HTTP endpoint on 127.0.0.1:<free port> that answers 200 and keeps what it got."""
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            received.append({"path": self.path, "headers": dict(self.headers), "body": orjson.loads(body)})
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield {"url": f"http://127.0.0.1:{server.server_address[1]}/hooks/alertsite", "received": received}
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# -- (a) the vendor's steps: create an Insights rule -------------------------------------------------


def test_admin_creates_an_event_based_rule_following_the_vendor_steps(
    page: Page, login, make_user, rules_and_channels
) -> None:
    login(page, make_user("admin"))

    # Insights > Alerts in the left navigation, then the Rules tab, then +Rule.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Alerts", exact=True).click()
    expect(page.get_by_role("heading", name="Alerts", exact=True)).to_be_visible()
    page.get_by_role("navigation", name="Alerts console").get_by_role("link", name="Rules", exact=True).click()
    expect(page.get_by_role("heading", name="Rules", exact=True)).to_be_visible()
    page.get_by_role("link", name="+Rule", exact=True).first.click()

    # Rule Management: the Insights tab, "Rule For Event Based Alerts".
    expect(page.get_by_role("heading", name="Rule Management")).to_be_visible()
    page.get_by_role("navigation", name="Template categories").get_by_role("link", name="Insights").click()
    screenshot(page, "rule-templates")
    page.get_by_role("link", name=re.compile("Rule For Event Based Alerts")).click()
    expect(page.get_by_role("heading", name="Rule For Event Based Alerts")).to_be_visible()

    # Leave Enabled as it is; Rule Name and Description.
    expect(page.get_by_label("Enabled", exact=True)).to_be_checked()
    page.get_by_label("Rule Name").fill("Failed logins and TOTP changes")
    page.get_by_label("Description", exact=True).fill("Failed user logins from watched countries; TOTP turned off")

    # Conditions: search and select two events.
    search = page.get_by_label("Search events")
    events = page.locator("#conditions")  # selected events may move to a list of their own
    search.fill("user_login_attempt")
    login_entry = events.locator("li[data-entry='user_login_attempt']")
    login_entry.get_by_role("checkbox").check()
    search.fill("admin_totp_disable")
    totp_entry = events.locator("li[data-entry='admin_totp_disable']")
    totp_entry.get_by_role("checkbox").check()
    search.fill("")
    page.get_by_label("Show Selected Events").check()
    expect(events.locator("li.event-entry:visible")).to_have_count(2)
    expect(page.locator("#event-status")).to_contain_text("2 selected")

    # The first event: "+ Add", then two filters: success eq false, geoip.country_code in (...).
    login_entry.get_by_role("button", name="+ Add", exact=True).click()
    add_row = login_entry.get_by_role("button", name="+Add", exact=True)
    add_row.click()
    first = login_entry.get_by_role("group", name="Filter 1", exact=True)
    first.get_by_label("Select Key").select_option("success")
    first.get_by_label("Operator").select_option("eq")
    expect(first.get_by_role("radio", name="False", exact=True)).to_be_checked()  # a True/False choice
    add_row.click()
    second = login_entry.get_by_role("group", name="Filter 2", exact=True)
    second.get_by_label("Select Key").select_option("geoip.country_code")
    second.get_by_label("Operator").select_option("in")
    second.get_by_label("Value").fill("KP, IR, RU")
    expect(login_entry.locator(".event-filters")).to_have_text("2 filters, All")

    # The second event: "+ Add", "Switch to Expression Language", "Switch", then the expression.
    totp_entry.get_by_role("button", name="+ Add", exact=True).click()
    totp_entry.get_by_role("button", name="Switch to Expression Language").click()
    dialog = page.get_by_role("dialog", name="Switch to Expression Language?")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Switch", exact=True).click()
    expect(dialog).to_be_hidden()
    expression = totp_entry.get_by_label("Expression")
    expression.fill("initiated_by.email endsWith '@example.com' && resource.type == 'admin'")
    expect(totp_entry.locator(".event-filters")).to_have_text("Expression")
    # The preview (htmx, after a pause in typing) reads the conditions as they are now.
    expect(page.get_by_test_id("preview-summary")).to_contain_text("Would have matched")
    page.locator("#conditions").evaluate("section => section.scrollIntoView({block: 'start'})")
    screenshot(page, "rule-form")

    # Priority High, Generate Alerts on, Save.
    page.get_by_label("Priority").select_option(label="High")
    generate = page.get_by_label("Generate Alerts")
    generate.check()
    expect(generate).to_be_checked()
    page.get_by_role("button", name="Save", exact=True).click()

    # The rule is on the Rules dashboard, enabled, high, over both events.
    expect(page).to_have_url(re.compile(r"/insights/alerts/rules/$"))
    rule = Rule.objects.get(name="Failed logins and TOTP changes")
    row = page.locator(f"#rule-row-{rule.pk}")
    expect(row).to_contain_text("Failed logins and TOTP changes")
    expect(row.get_by_role("switch")).to_have_attribute("aria-checked", "true")
    expect(row.locator(".badge")).to_have_text("High")
    expect(row.locator(".chip")).to_have_text(["user_login_attempt", "admin_totp_disable"])
    screenshot(page, "rules")

    assert rule.enabled and rule.generate_alerts and rule.priority == "high"
    login_condition, totp_condition = rule.conditions
    assert login_condition["event_type"] == "user_login_attempt"
    assert login_condition.get("match", "all") == "all"
    assert login_condition["filters"] == [
        {"key": "success", "operator": "eq", "value": False},
        {"key": "geoip.country_code", "operator": "in", "value": ["KP", "IR", "RU"]},
    ]
    assert totp_condition["event_type"] == "admin_totp_disable"
    assert totp_condition["expression"] == "initiated_by.email endsWith '@example.com' && resource.type == 'admin'"


# -- (b) live: a new alert shows up without a reload -------------------------------------------------


def test_new_alert_appears_on_the_open_dashboard_without_a_reload(
    page: Page, login, make_user, console_data, ingest
) -> None:
    login(page, make_user("responder"))
    page.clock.install()  # the page's own timers, which run on unless moved on below
    page.goto("/insights/alerts/")
    before = Alert.objects.filter(status="open").count()
    expect(page.get_by_test_id("bell-count")).to_have_text(str(before))
    page.evaluate("window.__sameDocument = true")

    ingest(failed_login("live-1", email="trent.white@example.com"))
    alert = Alert.objects.get(event__event_id="live-1")
    page.clock.fast_forward(10_000)  # the table's and the bell's next polls come due now, not in up to 10 s

    expect(page.locator(f"#alert-{alert.pk}")).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    expect(page.locator(f"#alert-{alert.pk}")).to_contain_text(alert.reference)
    expect(page.locator("#alert-rows tr").first).to_have_id(f"alert-{alert.pk}")
    expect(page.get_by_test_id("bell-count")).to_have_text(str(before + 1), timeout=LIVE_TIMEOUT_MS)
    expect(page.locator("#alerts-live-status")).to_contain_text("1 new alert arrived")
    assert page.evaluate("window.__sameDocument") is True, "the page was reloaded"
    screenshot(page, "alerts")


def test_home_widget_counts_open_alerts_and_leads_to_the_dashboard(page: Page, login, make_user, console_data) -> None:
    login(page, make_user("viewer"))
    page.goto("/")
    open_count = Alert.objects.filter(status="open").count()
    widget = page.get_by_test_id("open-alerts-widget")
    expect(widget.get_by_test_id("widget-open")).to_have_text(str(open_count))
    expect(page.get_by_test_id("bell-count")).to_have_text(str(open_count))
    screenshot(page, "home")
    widget.get_by_role("link", name="Go To Alerts Dashboard").click()
    expect(page).to_have_url(re.compile(r"/insights/alerts/$"))
    expect(page.locator("#alert-rows tr")).to_have_count(Alert.objects.exclude(status="resolved").count())


def test_event_log_lists_ingested_events_newest_first_and_filters_by_type(
    page: Page, login, make_user, console_data
) -> None:
    login(page, make_user("viewer"))
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Events", exact=True).click()
    expect(page.get_by_role("heading", name="Events", exact=True)).to_be_visible()
    rows = page.locator("table.data tbody tr")
    expect(rows).to_have_count(50)  # a page
    newest = AuditEvent.objects.order_by("-timestamp", "-id").first()
    expect(rows.first.locator("td").nth(1)).to_contain_text(newest.event_type)  # the service under it

    page.get_by_label("Event type").select_option("user_login_attempt")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"event_type=user_login_attempt"))
    expect(rows).to_have_count(min(50, AuditEvent.objects.filter(event_type="user_login_attempt").count()))
    for text in rows.locator("td:nth-child(2)").all_inner_texts():
        assert text.splitlines()[0] == "user_login_attempt"  # the service under it
    screenshot(page, "events")


# -- (c) the alert lifecycle ---------------------------------------------------------------------------


def test_responder_acknowledges_then_resolves_an_alert_with_remarks(
    page: Page, login, make_user, open_alert: Alert
) -> None:
    responder = make_user("responder")
    login(page, responder)
    page.goto("/insights/alerts/")
    page.get_by_role("link", name=open_alert.reference, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(open_alert.reference)
    status = page.get_by_test_id("alert-status")
    history = page.get_by_role("region", name="History")
    expect(status).to_have_text("Open")

    page.locator("#alert-remark").fill("Checking with the user")
    page.get_by_role("button", name="Acknowledge", exact=True).click()
    expect(status).to_have_text("Acknowledged")
    expect(page.get_by_role("button", name="Acknowledge", exact=True)).to_have_count(0)
    expect(history.get_by_role("listitem")).to_have_count(1)
    expect(history.get_by_role("listitem").first).to_contain_text(
        f"{responder.username}: Open → Acknowledged — “Checking with the user”"
    )

    page.locator("#alert-remark").fill("Password reset, false alarm")
    page.get_by_role("button", name="Resolve", exact=True).click()
    expect(status).to_have_text("Resolved")
    expect(page.get_by_role("button", name="Resolve", exact=True)).to_have_count(0)
    expect(page.get_by_role("button", name="Reopen", exact=True)).to_be_visible()
    expect(history.get_by_role("listitem")).to_have_count(2)
    expect(history.get_by_role("listitem").nth(1)).to_contain_text(
        "Acknowledged → Resolved — “Password reset, false alarm”"
    )
    screenshot(page, "alert-detail")

    open_alert.refresh_from_db()
    assert open_alert.status == "resolved"
    assert open_alert.acknowledged_by == responder and open_alert.resolved_by == responder


# -- (d) a webhook channel and its Test button ---------------------------------------------------------


def test_admin_adds_a_webhook_channel_and_its_test_is_delivered(page: Page, login, make_user, webhook_receiver) -> None:
    login(page, make_user("admin"))
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Notification Channels").click()
    page.get_by_role("navigation", name="Channel kinds").get_by_role("link", name="Webhooks").click()
    page.get_by_role("link", name="+Add", exact=True).click()
    expect(page.get_by_role("heading", name="Create Webhooks")).to_be_visible()
    page.get_by_label("Name", exact=True).fill("Local receiver")
    page.get_by_label("URL", exact=True).fill(webhook_receiver["url"])
    page.get_by_role("button", name="Create", exact=True).click()

    expect(page).to_have_url(re.compile(r"/settings/notification-channels/\?tab=webhooks$"))
    row = page.get_by_role("row").filter(has_text="Local receiver")
    expect(row).to_contain_text(webhook_receiver["url"])
    row.get_by_role("button", name="Test", exact=True).click()
    expect(row.get_by_test_id("test-outcome")).to_have_text("Delivered")
    screenshot(page, "channels")

    (request,) = webhook_receiver["received"]
    assert request["path"] == "/hooks/alertsite"
    assert request["headers"]["X-Alertsite-Event"] == "test"
    assert request["body"]["type"] == "test"


# -- (e) a viewer sees no controls ----------------------------------------------------------------------


def test_viewer_sees_no_action_buttons_anywhere(page: Page, login, make_user, console_data) -> None:
    login(page, make_user("viewer"))
    alert = Alert.objects.filter(status="open").order_by("-pk").first()

    page.goto("/insights/alerts/")
    expect(page.get_by_role("link", name=alert.reference, exact=True)).to_be_visible()
    no_controls(page, "Acknowledge", "Resolve")
    expect(page.locator("#alert-rows input[type=checkbox]")).to_have_count(0)

    page.get_by_role("link", name=alert.reference, exact=True).click()
    expect(page.get_by_test_id("alert-status")).to_have_text("Open")
    no_controls(page, "Acknowledge", "Resolve", "Reopen", "Assign", "Add note")

    page.goto("/insights/alerts/rules/")
    expect(page.get_by_text("Failed user logins", exact=True)).to_be_visible()
    no_controls(page, "+Rule", "Edit", "Duplicate", "Delete")
    expect(page.get_by_role("switch")).to_have_count(0)

    for tab, name in (("webhooks", "SOC webhook"), ("email", "Security team")):
        page.goto(f"/settings/notification-channels/?tab={tab}")
        expect(page.get_by_role("cell", name=name, exact=True)).to_be_visible()
        no_controls(page, "+Add", "Test", "Edit", "Delete")


# -- (f) hostile event data is shown, never run ------------------------------------------------------


def test_script_in_an_event_is_shown_as_text_and_never_runs(
    page: Page, login, make_user, failed_logins_rule, ingest
) -> None:
    ingest(failed_login("xss-1", email=XSS_SCRIPT, username=XSS_IMAGE, resource={"type": "user", "name": XSS_IMAGE}))
    alert = Alert.objects.get(event__event_id="xss-1")
    login(page, make_user("viewer"))

    # The viewer's own sign-in is an event too (alertsite_login_attempt): list the hostile one alone.
    page.goto("/insights/events/?event_type=user_login_attempt")
    expect(page.get_by_title(XSS_SCRIPT, exact=True)).to_be_visible()  # Who, the IP under it
    page.get_by_text("JSON", exact=True).first.click()  # open the event's JSON
    expect(page.locator("pre.json").first).to_contain_text(XSS_SCRIPT)
    assert page.evaluate("window.__xss") is None

    page.goto("/insights/alerts/")
    expect(page.locator(f"#alert-{alert.pk}")).to_be_visible()
    assert page.evaluate("window.__xss") is None

    page.goto(f"/insights/alerts/{alert.pk}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text(XSS_SCRIPT)
    expect(page.get_by_label("Triggering event JSON")).to_contain_text(XSS_IMAGE)
    assert page.evaluate("window.__xss") is None

"""Accessibility of every console page (README "Accessibility"): Debian's Chromium opens each page
(as an admin; the sign-in page anonymously, a viewer's read-only pages as a viewer), runs axe-core
on it at a desktop size (1400x1000), then on the same page shrunk to a phone size (390x844), then
on its menus and disclosures opened; it fails on any serious or critical violation, on a page
wider than the window, on a console error and on a Content-Security-Policy violation. One live
server, one browser and one context per user serve all the pages.

The pages come from the URL conf: every `console-*` route is either a page here (with the seeded
objects its URL needs) or named in NOT_PAGES with the reason (a POST action, an htmx fragment, a
CSV). A new route fails `test_every_console_route_is_a_page_here_or_said_not_to_be` until it is
placed, so no page can be missed. axe-core is test data (tests/browser/vendor/README.md), added
as a Playwright init script, which the page's CSP does not govern; the console never serves it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from playwright.sync_api import Browser, Page

from alerts.models import Alert, MaintenanceWindow
from alerts.services.maintenance import window_create
from channels.models import Channel, Delivery
from channels.services import channel_create
from events.models import AuditEvent
from events.sources.services import source_create
from rules.models import Rule
from rules.services import rule_update
from tests.browser import test_console_flow as flow
from tests.browser.conftest import HERE, TIMEOUT_MS, login_as, screenshot
from tests.browser.test_content_security_policy import CSP_LISTENER
from tests.conftest import PASSWORD
from tests.test_console_urls import console_route_names

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

rules_and_channels = flow.rules_and_channels
console_data = flow.console_data

AXE_VERSION = "4.14.1"
AXE = HERE / "vendor" / "axe.min.js"
VIEWPORTS = {"desktop": {"width": 1400, "height": 1000}, "phone": {"width": 390, "height": 844}}
FAILING_IMPACTS = {"serious", "critical"}
# Forms sent empty, to check the page that shows the server's errors: (URL, its submit button).
FAILED_SAVES = [
    ("/insights/alerts/rules/new/", "Save"),
    ("/settings/notification-channels/new/webhook/", "Create"),
    ("/settings/data-sources/new/", "Add source"),
    ("/settings/maintenance-windows/new/", "Add window"),
]
PHONE_SCREENSHOTS = {"/": "home-phone", "/insights/alerts/": "alerts-phone"}


@dataclass(frozen=True)
class Seeded:
    """The objects whose pages have an id in their URL: one of each, from a lived-in console."""

    alert: Alert
    rule: Rule
    channels: dict[str, Channel]
    source: Any
    window: MaintenanceWindow
    event: AuditEvent
    admin: Any
    viewer: Any


# Every console route and the URLs to open for it (query strings give the page's other states).
PAGES: dict[str, Callable[[Seeded], list[str]]] = {
    "home": lambda s: ["/"],
    "console-alerts": lambda s: [
        "/insights/alerts/",
        "/insights/alerts/?status=resolved&priority=high&range=24h&search=nothing-matches",
    ],
    "console-alert-detail": lambda s: [f"/insights/alerts/{s.alert.pk}/"],
    "console-alert-metrics": lambda s: ["/insights/alerts/metrics/"],
    "console-rules": lambda s: ["/insights/alerts/rules/"],
    "console-rule-templates": lambda s: ["/insights/alerts/rules/templates/"],
    "console-rule-new": lambda s: [
        "/insights/alerts/rules/new/",
        f"/insights/alerts/rules/new/?template=event_based&from_event={s.event.event_id}",
    ],
    "console-rule-edit": lambda s: [f"/insights/alerts/rules/{s.rule.pk}/edit/"],
    "console-rule-delete": lambda s: [f"/insights/alerts/rules/{s.rule.pk}/delete/"],
    "console-rule-history": lambda s: [f"/insights/alerts/rules/{s.rule.pk}/history/"],
    "console-channels": lambda s: [
        f"/settings/notification-channels/?tab={tab}" for tab in ("email", "webhooks", "slack", "teams", "pagerduty")
    ],
    "console-channel-new": lambda s: [f"/settings/notification-channels/new/{kind}/" for kind in s.channels],
    "console-channel-edit": lambda s: [f"/settings/notification-channels/{c.pk}/edit/" for c in s.channels.values()],
    "console-channel-deliveries": lambda s: [f"/settings/notification-channels/{s.channels['email'].pk}/deliveries/"],
    "console-events": lambda s: ["/insights/events/", "/insights/events/?event_type=user_login_attempt"],
    "console-sources": lambda s: ["/settings/data-sources/"],
    "console-source-new": lambda s: ["/settings/data-sources/new/"],
    "console-source-edit": lambda s: [f"/settings/data-sources/{s.source.pk}/edit/"],
    "console-maintenance": lambda s: ["/settings/maintenance-windows/"],
    "console-maintenance-new": lambda s: ["/settings/maintenance-windows/new/"],
    "console-maintenance-edit": lambda s: [f"/settings/maintenance-windows/{s.window.pk}/edit/"],
}

# Routes that are no page of their own, why, and a URL to prove that a GET gets no page from them.
NOT_PAGES: dict[str, tuple[str, Callable[[Seeded], str]]] = {
    "console-bell": ("htmx fragment of every page's top bar", lambda s: "/bell/"),
    "console-alerts-new-rows": ("htmx fragment of the alerts table", lambda s: "/insights/alerts/new-rows/"),
    "console-alert-metrics-csv": ("CSV download", lambda s: "/insights/alerts/metrics/csv/alerts-per-day/"),
    "console-alerts-bulk": ("POST action", lambda s: "/insights/alerts/bulk/"),
    "console-alert-action": ("POST action", lambda s: f"/insights/alerts/{s.alert.pk}/acknowledge/"),
    "console-rule-preview": ("POST htmx fragment of the rule form", lambda s: "/insights/alerts/rules/preview/"),
    "console-rule-toggle": ("POST action", lambda s: f"/insights/alerts/rules/{s.rule.pk}/enabled/"),
    "console-rule-duplicate": ("POST action", lambda s: f"/insights/alerts/rules/{s.rule.pk}/duplicate/"),
    "console-rule-snooze": ("POST action", lambda s: f"/insights/alerts/rules/{s.rule.pk}/snooze/"),
    "console-rule-unsnooze": ("POST action", lambda s: f"/insights/alerts/rules/{s.rule.pk}/unsnooze/"),
    "console-rule-preview-change": (
        "POST htmx fragment of the rule form",
        lambda s: f"/insights/alerts/rules/{s.rule.pk}/preview-change/",
    ),
    "console-rule-restore": ("POST action", lambda s: f"/insights/alerts/rules/{s.rule.pk}/history/1/restore/"),
    "console-channel-delete": (
        "POST action",
        lambda s: f"/settings/notification-channels/{s.channels['email'].pk}/delete/",
    ),
    "console-channel-test": (
        "POST action",
        lambda s: f"/settings/notification-channels/{s.channels['email'].pk}/test/",
    ),
    "console-channel-preview": ("POST htmx fragment", lambda s: "/settings/notification-channels/preview/webhook/"),
    "console-channel-resume": (
        "POST action",
        lambda s: f"/settings/notification-channels/{s.channels['email'].pk}/resume/",
    ),
    "console-delivery-retry": ("POST action", lambda s: f"/settings/deliveries/{Delivery.objects.first().pk}/retry/"),  # type: ignore[union-attr]
    "console-source-delete": ("POST action", lambda s: f"/settings/data-sources/{s.source.pk}/delete/"),
    "console-source-test": ("POST action", lambda s: f"/settings/data-sources/{s.source.pk}/test/"),
    "console-source-poll": ("POST action", lambda s: f"/settings/data-sources/{s.source.pk}/poll/"),
    "console-source-pause": ("POST action", lambda s: f"/settings/data-sources/{s.source.pk}/pause/"),
    "console-maintenance-preview": ("POST htmx fragment", lambda s: "/settings/maintenance-windows/preview/"),
    "console-maintenance-delete": ("POST action", lambda s: f"/settings/maintenance-windows/{s.window.pk}/delete/"),
}

AXE_RUN = """async (selector) => {
  // The whole page, or only what `selector` matches (the disclosures just opened).
  const context = selector ? { include: [...document.querySelectorAll(selector)].map((el) => [el]) } : document;
  // Only the rules that can fail the test: a rule whose impact is fixed below serious (region,
  // heading-order, the landmark rules, ...) is not run, which spares a third of axe's time.
  const rules = Object.fromEntries(axe._audit.rules
    .filter((rule) => rule.impact === "minor" || rule.impact === "moderate")
    .map((rule) => [rule.id, { enabled: false }]));
  const result = await axe.run(context, { resultTypes: ["violations"], rules });
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.map((n) => n.target.join(" ")).slice(0, 5),
  }));
}"""
OPEN_DETAILS = """() => {
  // Menus and disclosures (the user menu, snooze, "Show the numbers", an event's JSON) opened.
  const closed = [...document.querySelectorAll("details:not([open])")];
  closed.forEach((el) => { el.open = true; el.setAttribute("data-a11y-opened", ""); });
  return closed.length;
}"""
OVERFLOW = """() => {
  // The outermost elements that stick out past the window's right edge, outside any scrolling box.
  const width = window.innerWidth, root = document.documentElement;
  if (root.scrollWidth <= width) return null;
  const clips = (el) => getComputedStyle(el).overflowX !== "visible";
  const outside = (el) => el.getBoundingClientRect().right > width + 1;
  const culprits = [...document.body.querySelectorAll("*")].filter((el) => {
    if (!outside(el)) return false;
    for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
      if (clips(up) || outside(up)) return false;
    }
    return true;
  });
  const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
    + (typeof el.className === "string" && el.className.trim() ? "." + el.className.trim().split(/\\s+/).join(".") : "");
  return `scrollWidth ${root.scrollWidth} > ${width}: ${culprits.slice(0, 4).map(name).join(", ")}`;
}"""


@pytest.fixture
def seeded(console_data: dict[str, Any], make_user: Callable[..., Any]) -> Seeded:
    """console_data (rules, an e-mail and a webhook channel, events, alerts) plus one object of every
    other kind a page needs: chat and PagerDuty channels, a data source, a maintenance window, and a
    second version of a rule so its history has something to compare."""
    channels = {
        "email": console_data["email"],
        "webhook": console_data["webhook"],
        "slack": channel_create(
            data={"kind": "slack", "name": "SOC Slack", "config": {"webhook_url": "http://127.0.0.1:9/slack"}},
            actor=None,
        ),
        "teams": channel_create(
            data={"kind": "teams", "name": "SOC Teams", "config": {"webhook_url": "http://127.0.0.1:9/teams"}},
            actor=None,
        ),
        "pagerduty": channel_create(
            data={
                "kind": "pagerduty",
                "name": "On-call",
                "config": {"routing_key": "R0UT1NGKEY0123456789abcdefABCDEF", "events_url": "http://127.0.0.1:9/pd"},
            },
            actor=None,
        ),
    }
    rule = Rule.objects.get(name="Admin TOTP disabled")
    rule_update(rule=rule, data={"priority": "medium"}, actor=None, comment="Less urgent at night")
    now = datetime.now(UTC)
    window = window_create(
        data={
            "name": "Nightly patching",
            "timezone": "UTC",
            "starts_at": (now + timedelta(hours=2)).isoformat(),
            "ends_at": (now + timedelta(hours=4)).isoformat(),
            "recurrence": "RRULE:FREQ=DAILY",
        },
        actor=None,
        rules_known=None,
    )
    source = source_create(
        data={"name": "Acme", "config": {"base_url": "http://127.0.0.1:9", "api_key": "k"}}, actor=None
    )
    alert = Alert.objects.order_by("pk").first()
    event = AuditEvent.objects.filter(event_type="user_login_attempt").order_by("pk").first()
    assert alert is not None and event is not None
    return Seeded(
        alert=alert,
        rule=rule,
        channels=channels,
        source=source,
        window=window,
        event=event,
        admin=make_user("admin", username="a11y-admin"),
        viewer=make_user("viewer", username="a11y-viewer"),
    )


def page_urls(seeded: Seeded) -> list[str]:
    return [url for build in PAGES.values() for url in build(seeded)]


@pytest.fixture(scope="module")
def axe_source() -> str:
    text = AXE.read_text()
    assert text.startswith(f"/*! axe v{AXE_VERSION}"), "tests/browser/vendor/axe.min.js is not the version in README"
    return text


@dataclass
class Audit:
    """One browser context (one signed-in user) that opens pages with axe loaded and notes, page by
    page, what is wrong: CSP violations, console errors and uncaught exceptions arrive as events."""

    page: Page
    problems: list[str]

    @classmethod
    def open(cls, browser: Browser, base_url: str, axe_source: str) -> Audit:
        context = browser.new_context(viewport=VIEWPORTS["desktop"], base_url=base_url)
        context.set_default_timeout(TIMEOUT_MS)
        problems: list[str] = []
        context.expose_function("__cspViolation", lambda text: problems.append(f"CSP violation: {text}"))
        context.add_init_script(CSP_LISTENER)
        context.add_init_script(axe_source)  # an init script runs whatever the page's CSP says
        page = context.new_page()
        page.on("console", lambda msg: msg.type == "error" and problems.append(f"console error: {msg.text}"))
        page.on("pageerror", lambda error: problems.append(f"uncaught exception: {error}"))
        return cls(page, problems)

    def close(self) -> None:
        self.page.context.close()

    def check(self, url: str, submit: str | None = None) -> list[str]:
        """Open `url` at the desktop size (and, given `submit`, send its form empty past the
        browser's own checks, to show the server's errors), check it, shrink the window to the
        phone size, check it again, then open its menus and disclosures and check those (and the
        width) once more."""
        page = self.page
        page.set_viewport_size(VIEWPORTS["desktop"])
        response = page.goto(url)
        if response is None or response.status != 200:
            return [f"answered {response and response.status}"]
        if submit:
            page.evaluate("document.querySelectorAll('form').forEach((form) => { form.noValidate = true; })")
            with page.expect_navigation():
                page.get_by_role("button", name=submit, exact=True).click()
        if page.locator("[hx-trigger^='load']").count():
            page.wait_for_load_state("networkidle")  # a fragment the page asks for once loaded (the rule preview)
        found = self.inspect("desktop")
        page.set_viewport_size(VIEWPORTS["phone"])
        found += self.inspect("phone")
        if url in PHONE_SCREENSHOTS:
            screenshot(page, PHONE_SCREENSHOTS[url])  # README pictures, with ALERTSITE_SCREENSHOTS=1
        if page.evaluate(OPEN_DETAILS):
            if page.locator("[hx-trigger*='toggle']").count():
                # Some disclosures fetch their content when opened (the message template preview):
                # let the toggle events fire, their htmx requests end and the swaps settle.
                page.wait_for_timeout(50)
                page.wait_for_function("() => !document.querySelector('.htmx-request')")
                page.wait_for_timeout(50)
            found += self.inspect("phone, menus and disclosures open", within="[data-a11y-opened]")
        # A form sent with errors comes back as a 400, which Chromium logs as a failed load.
        found += [problem for problem in self.problems if not (submit and "status of 400" in problem)]
        self.problems.clear()
        return found

    def inspect(self, state: str, within: str | None = None) -> list[str]:
        found = [
            f"{state}: axe {v['impact']} {v['id']} ({v['help']}): {'; '.join(v['targets'])}"
            for v in self.page.evaluate(AXE_RUN, within)
            if v["impact"] in FAILING_IMPACTS
        ]
        overflow = self.page.evaluate(OVERFLOW)
        if overflow:
            found.append(f"{state}: wider than the window: {overflow}")
        return found


@pytest.fixture
def audit_as(browser: Browser, base_url: str, axe_source: str) -> Iterator[Callable[[Any], Audit]]:
    """``audit_as(user)``: an Audit signed in as that user (None: anonymous); closed after the test."""
    opened: list[Audit] = []

    def make(user: Any) -> Audit:
        audit = Audit.open(browser, base_url, axe_source)
        opened.append(audit)
        if user is not None:
            login_as(audit.page, user)
        return audit

    yield make
    for audit in opened:
        audit.close()


def test_the_checks_fail_on_what_they_look_for(audit_as: Callable[[Any], Audit], make_user: Callable[..., Any]) -> None:
    """A nameless button, faint text, a too-wide box and an inline style attribute are each reported."""
    audit = audit_as(make_user("admin"))
    assert audit.check("/") == []
    audit.page.evaluate(
        """() => {
      const main = document.querySelector("main");
      main.appendChild(document.createElement("button")).className = "icon";
      const faint = main.appendChild(document.createElement("p"));
      faint.textContent = "Faint"; faint.style.color = "#bbbbbb";
      const wide = main.appendChild(document.createElement("div"));
      wide.style.width = "2000px"; wide.textContent = "Wide";
      main.insertAdjacentHTML("beforeend", '<p style="color: red">inline</p>');
    }"""
    )
    found = "\n".join(audit.inspect("desktop")) + "\n" + "\n".join(audit.problems)
    assert "axe critical button-name" in found
    assert "axe serious color-contrast" in found
    assert "wider than the window" in found
    assert "CSP violation: style-src" in found


def test_every_console_route_is_a_page_here_or_said_not_to_be() -> None:
    routes = set(console_route_names()) | {"home"}
    assert set(PAGES) | set(NOT_PAGES) == routes, "place each new console route in PAGES or NOT_PAGES"
    assert not set(PAGES) & set(NOT_PAGES)


def test_no_route_said_not_to_be_a_page_answers_a_get_with_one(seeded: Seeded) -> None:
    client = Client()
    assert client.login(username="a11y-admin", password=PASSWORD)
    pages = []
    for name, (_reason, build) in NOT_PAGES.items():
        response = client.get(build(seeded))
        if response.status_code == 200 and b"<html" in response.content[:500].lower():
            pages.append(name)
    assert not pages, f"these routes answer a GET with a whole page, so belong in PAGES: {pages}"


def test_every_console_page_is_accessible_and_fits_desktop_and_phone(
    seeded: Seeded, audit_as: Callable[[Any], Audit]
) -> None:
    visits: list[tuple[Any, str, str | None]] = [(None, "/accounts/login/", None)]
    visits += [(seeded.admin, url, None) for url in page_urls(seeded)]
    visits += [(seeded.admin, url, submit) for url, submit in FAILED_SAVES]
    # A viewer's pages differ where they may change nothing: the rule read as words, no buttons.
    viewer_urls = [f"/insights/alerts/rules/{seeded.rule.pk}/edit/", f"/insights/alerts/{seeded.alert.pk}/"]
    visits += [(seeded.viewer, url, None) for url in [*viewer_urls, "/settings/maintenance-windows/"]]
    audits: dict[Any, Audit] = {}
    report: dict[str, list[str]] = {}
    for user, url, submit in visits:
        if user not in audits:
            audits[user] = audit_as(user)
        found = audits[user].check(url, submit)
        if found:
            report[f"{url}{' after a failed save' if submit else ''} (as {user or 'anonymous'})"] = found
    if report:
        lines = [f"{url}\n    " + "\n    ".join(found) for url, found in report.items()]
        pytest.fail(f"{len(report)} of {len(visits)} pages fail:\n" + "\n".join(lines))

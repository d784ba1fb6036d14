"""No page breaks the Content-Security-Policy (README "Security headers"): the console, the Django admin
and /api/docs/ run in Chromium under the enforced policy, which has no 'unsafe-inline', and nothing is
blocked, whether the page is loaded or used (filters, htmx swaps, dialogs, confirmations, live rows).

Every violation is caught twice: a `securitypolicyviolation` listener added before any script of the
page runs, and Chromium's console message ("... violates the following Content Security Policy ...").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib import admin
from django.urls import NoReverseMatch, reverse
from playwright.sync_api import Page, expect

from alerts.models import Alert
from channels.models import Channel
from events.sources.services import source_create
from rules.models import Rule
from tests.browser import test_console_flow as flow
from tests.browser.test_console_flow import failed_login

# The lived-in console of the flow tests (rules of every priority, an e-mail and a webhook channel,
# simulated events, alerts), used here with @pytest.mark.usefixtures("console_data").
rules_and_channels = flow.rules_and_channels
console_data = flow.console_data

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

LIVE_TIMEOUT_MS = 20_000  # the alerts table polls every 5 s
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolation(`${e.effectiveDirective} blocked ${e.blockedURI || "inline"}`
    + ` at ${e.sourceFile || "?"}:${e.lineNumber} (${e.sample || ""})`);
});
"""


@pytest.fixture
def violations(page: Page) -> list[str]:
    """Every CSP violation on any page this test's browser context opens, with the page's URL."""
    found: list[str] = []
    page.context.expose_function("__cspViolation", lambda text: found.append(f"{page.url}: {text}"))
    page.context.add_init_script(CSP_LISTENER)
    page.on(
        "console",
        lambda message: (
            found.append(f"{page.url}: console: {message.text}") if "Content Security Policy" in message.text else None
        ),
    )
    return found


@pytest.fixture
def source(db: None) -> Any:
    return source_create(
        data={"name": "Acme", "config": {"base_url": "http://127.0.0.1:9", "api_key": "k"}}, actor=None
    )


@pytest.fixture
def signed_in_admin(page: Page, login: Callable[..., None], make_user: Callable[..., Any]) -> Page:
    login(page, make_user("admin", username="admin"))
    return page


def visit(page: Page, url: str) -> None:
    """Open `url`, check that it answered 200, and let its scripts (htmx, the editors) start."""
    response = page.goto(url)
    assert response is not None and response.status == 200, f"{url}: {response and response.status}"
    page.wait_for_load_state("load")


def assert_no_violation(page: Page, violations: list[str]) -> None:
    """Give late reports (they arrive asynchronously) a moment, then fail listing each one."""
    page.wait_for_timeout(300)
    if violations:
        pytest.fail("Content-Security-Policy violations:\n" + "\n".join(violations))


def test_the_listener_catches_an_inline_style(signed_in_admin: Page, violations: list[str]) -> None:
    """The check below can fail: an inline style attribute added by a script is reported."""
    page = signed_in_admin
    visit(page, "/")
    page.evaluate("document.body.insertAdjacentHTML('beforeend', '<p style=\"color: red\">x</p>')")
    page.wait_for_timeout(300)
    assert any("style-src" in text for text in violations), violations


@pytest.mark.usefixtures("console_data")
def test_every_console_page_loads_without_a_violation(
    signed_in_admin: Page, violations: list[str], source: Any
) -> None:
    page = signed_in_admin
    alert = Alert.objects.order_by("pk").first()
    rule = Rule.objects.get(name="Admin TOTP disabled")
    email, webhook = Channel.objects.get(name="Security team"), Channel.objects.get(name="SOC webhook")
    assert alert is not None
    urls = [
        "/",
        "/insights/alerts/",
        "/insights/alerts/?status=open&status=acknowledged&status=resolved&priority=high&range=24h",
        f"/insights/alerts/{alert.pk}/",
        "/insights/alerts/rules/",
        "/insights/alerts/rules/?priority=high&search=Admin",
        "/insights/alerts/metrics/",
        "/insights/alerts/metrics/?days=90",
        "/insights/alerts/rules/templates/",
        "/insights/alerts/rules/new/",
        f"/insights/alerts/rules/{rule.pk}/edit/",
        f"/insights/alerts/rules/{rule.pk}/delete/",
        "/insights/events/",
        "/insights/events/?event_type=user_login_attempt",
        "/settings/notification-channels/?tab=email",
        "/settings/notification-channels/?tab=webhooks",
        "/settings/notification-channels/new/email/",
        "/settings/notification-channels/new/webhook/",
        f"/settings/notification-channels/{email.pk}/edit/",
        f"/settings/notification-channels/{webhook.pk}/edit/",
        f"/settings/notification-channels/{email.pk}/deliveries/",
        "/settings/data-sources/",
        "/settings/data-sources/new/",
        f"/settings/data-sources/{source.pk}/edit/",
    ]
    for url in urls:
        visit(page, url)
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert_no_violation(page, violations)


@pytest.mark.usefixtures("console_data")
def test_the_rule_editor_and_its_live_preview_run_without_a_violation(
    signed_in_admin: Page, violations: list[str]
) -> None:
    page = signed_in_admin
    visit(page, "/insights/alerts/rules/templates/")
    page.get_by_role("searchbox").first.fill("login")  # the template search (htmx)
    page.wait_for_load_state("networkidle")
    visit(page, "/insights/alerts/rules/new/")
    search = page.get_by_label("Search events")
    events = page.locator("#conditions")
    search.fill("user_login_attempt")
    login_entry = events.locator("li[data-entry='user_login_attempt']")
    login_entry.get_by_role("checkbox").check()
    search.fill("admin_totp_disable")
    totp_entry = events.locator("li[data-entry='admin_totp_disable']")
    totp_entry.get_by_role("checkbox").check()
    search.fill("")
    page.get_by_label("Show Selected Events").check()
    login_entry.get_by_role("button", name="+ Add", exact=True).click()
    login_entry.get_by_role("button", name="+Add", exact=True).click()
    first = login_entry.get_by_role("group", name="Filter 1", exact=True)
    first.get_by_label("Select Key").select_option("success")
    totp_entry.get_by_role("button", name="+ Add", exact=True).click()
    totp_entry.get_by_role("button", name="Switch to Expression Language").click()
    dialog = page.get_by_role("dialog", name="Switch to Expression Language?")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Switch", exact=True).click()
    totp_entry.get_by_label("Expression").fill("resource.type == 'admin'")
    expect(page.get_by_test_id("preview-summary")).to_contain_text("Would have matched")
    page.get_by_label("Send Notifications").check()
    page.locator("details.advanced summary").first.click()
    page.get_by_label("Rule Name").fill("")
    page.get_by_role("button", name="Save", exact=True).click()  # errors come back on the page
    expect(page.get_by_role("alert").first).to_be_visible()
    assert_no_violation(page, violations)


@pytest.mark.usefixtures("console_data")
def test_acting_on_alerts_and_live_rows_run_without_a_violation(
    signed_in_admin: Page,
    violations: list[str],
    ingest: Callable[[Any], dict[str, Any]],
) -> None:
    page = signed_in_admin
    visit(page, "/insights/alerts/")
    page.get_by_label("Priority").select_option("high")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_load_state("load")
    page.clock.install()  # the page's own timers, which run on unless moved on below
    visit(page, "/insights/alerts/")
    ingest(failed_login("csp-live-1", email="live.row@example.com"))
    live = Alert.objects.get(event__event_id="csp-live-1")
    page.clock.fast_forward(5_000)  # the table's next poll comes due now, not in up to 5 s
    expect(page.get_by_role("link", name=live.reference, exact=True)).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    page.get_by_role("row").filter(has_text=live.reference).get_by_role("checkbox").check()
    page.get_by_role("button", name="Acknowledge", exact=True).first.click()
    page.wait_for_load_state("load")
    page.get_by_role("link", name=live.reference, exact=True).click()
    page.get_by_role("button", name="Resolve", exact=True).click()
    page.wait_for_load_state("load")
    expect(page.get_by_role("button", name="Reopen", exact=True)).to_be_visible()
    visit(page, "/insights/alerts/rules/")
    switch = page.get_by_role("row").filter(has_text="Admin TOTP disabled").get_by_role("switch")
    switch.click()  # htmx swaps the row
    expect(switch).to_have_attribute("aria-checked", "false")
    assert_no_violation(page, violations)


@pytest.mark.usefixtures("console_data")
def test_tests_and_confirmations_on_channels_and_sources_run_without_a_violation(
    signed_in_admin: Page, violations: list[str], source: Any
) -> None:
    page = signed_in_admin
    visit(page, "/settings/notification-channels/?tab=webhooks")
    row = page.get_by_role("row").filter(has_text="SOC webhook")
    row.get_by_role("button", name="Test", exact=True).click()  # htmx: the outcome appears in the row
    expect(row.get_by_role("status")).not_to_be_empty()
    # Delete asks first (console.js, not onsubmit=""): Cancel keeps the channel.
    questions: list[str] = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
    row.get_by_role("button", name="Delete", exact=True).click()
    expect(row).to_be_visible()
    assert questions == ["Delete the channel SOC webhook?"]
    visit(page, "/settings/data-sources/")
    source_row = page.get_by_role("row").filter(has_text="Acme")
    source_row.get_by_role("button", name="Test", exact=True).click()
    expect(source_row.get_by_role("status")).not_to_be_empty()
    page.once("dialog", lambda dialog: dialog.accept())
    source_row.get_by_role("button", name="Delete", exact=True).click()
    expect(page.get_by_role("row").filter(has_text="Acme")).to_have_count(0)
    assert_no_violation(page, violations)


@pytest.mark.usefixtures("console_data")
def test_a_viewer_reads_rules_and_alerts_without_a_violation(
    page: Page, login: Callable[..., None], make_user: Callable[..., Any], violations: list[str]
) -> None:
    login(page, make_user("viewer"))
    rule = Rule.objects.get(name="Admin TOTP disabled")
    alert = Alert.objects.order_by("pk").first()
    assert alert is not None
    for url in ["/", "/insights/alerts/", f"/insights/alerts/{alert.pk}/", f"/insights/alerts/rules/{rule.pk}/edit/"]:
        visit(page, url)
    expect(page.get_by_test_id("rule-read-only")).to_be_visible()
    assert_no_violation(page, violations)


def test_signing_in_runs_without_a_violation(page: Page, make_user: Callable[..., Any], violations: list[str]) -> None:
    user = make_user("admin")
    visit(page, "/accounts/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    assert_no_violation(page, violations)


def admin_urls() -> list[str]:
    """The admin's index, every registered model's list and add page, and each app's index."""
    urls = ["/admin/"]
    for model in admin.site._registry:
        opts = model._meta
        for view in ("changelist", "add"):
            try:
                urls.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}"))
            except NoReverseMatch:
                continue
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            urls.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[first.pk]))
    return urls


@pytest.mark.usefixtures("console_data")
def test_every_admin_page_runs_without_a_violation(signed_in_admin: Page, violations: list[str], source: Any) -> None:
    page = signed_in_admin
    for url in admin_urls():
        response = page.goto(url)
        assert response is not None and response.status in (200, 403), f"{url}: {response and response.status}"
        page.wait_for_load_state("load")
    # The actions bar and the select-all box (admin/js/actions.js) on a list with rows.
    visit(page, reverse("admin:alerts_alert_changelist"))
    page.locator("#action-toggle").check()
    expect(page.locator(".action-counter")).to_contain_text(re.compile(r"\d+ of \d+ selected"))
    assert_no_violation(page, violations)


def test_the_api_docs_run_without_a_violation(signed_in_admin: Page, violations: list[str]) -> None:
    page = signed_in_admin
    visit(page, "/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("alertsite API")
    page.locator(".opblock-summary").first.click()  # open one operation
    expect(page.locator(".opblock-body").first).to_be_visible()
    assert_no_violation(page, violations)

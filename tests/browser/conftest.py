"""Browser tests: Debian's headless Chromium drives the console served by pytest-django's live server.

Every module here starts with

    pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

The live server answers from another thread, so the test data must be committed (`transaction=True`);
the flush after each test would also empty the event-type catalog and the role groups that the
migrations load, so `serialized_rollback=True` puts them back before the next test.

The tests are skipped when /usr/bin/chromium (or the playwright package) is missing; no browser is
ever downloaded. Screenshots for the README are written to docs/screenshots/ only when
ALERTSITE_SCREENSHOTS=1, so a normal run leaves the tree clean.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.request import Request, urlopen

import orjson
import pytest

from rules.services import rule_create
from tests.conftest import PASSWORD

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from playwright.sync_api import Browser, Page

    from rules.models import Rule

# Playwright's sync API keeps an asyncio loop running in this thread; Django refuses ORM calls from a
# thread with a running loop (SynchronousOnlyOperation) unless told that this is deliberate. Tests only.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SCREENSHOTS = ROOT / "docs" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORT = {"width": 1366, "height": 900}
TIMEOUT_MS = 10_000

try:
    import playwright.sync_api  # noqa: F401
except ImportError:  # pragma: no cover - the dev requirements install it
    MISSING = "the playwright package is not installed"
else:
    MISSING = "" if CHROMIUM.exists() else f"{CHROMIUM} is missing (apt-get install chromium)"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip this directory's tests before any fixture (database, live server) is set up."""
    if not MISSING:
        return
    skip = pytest.mark.skip(reason=f"browser tests need Chromium: {MISSING}")
    for item in items:
        if HERE in Path(str(item.path)).parents:
            item.add_marker(skip)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    """Keep each phase's report on the item, so the page fixture knows whether the test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if MISSING:
        pytest.skip(f"browser tests need Chromium: {MISSING}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def base_url(live_server) -> str:
    return live_server.url


@pytest.fixture
def page(browser: Browser, base_url: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Page]:
    """A fresh context per test (no cookies carried over), 1366x900, 10 s timeouts, relative URLs.

    Uncaught JavaScript errors fail the test; on failure a screenshot lands in the test's tmp_path.
    """
    context = browser.new_context(viewport=VIEWPORT, base_url=base_url)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
    try:
        yield page
        report = getattr(request.node, "report_call", None)
        if report is not None and report.failed:
            shot = tmp_path / "failure.png"
            page.screenshot(path=str(shot))
            print(f"screenshot of the failure: {shot} (at {page.url})")
        if errors:
            pytest.fail("JavaScript errors on the page:\n" + "\n".join(errors))
    finally:
        context.close()


def login_as(page: Page, user: User, password: str = PASSWORD) -> None:
    """Sign in through the real /accounts/login/ form and land on the console."""
    from playwright.sync_api import expect

    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).not_to_have_url(re.compile(r"/accounts/login/"))


@pytest.fixture
def login() -> Callable[..., None]:
    """``login(page, user)``: sign in with the login form (users from make_user have its PASSWORD)."""
    return login_as


def post_events(base_url: str, token: str, events: Any) -> dict[str, Any]:
    """POST events to /api/v1/events over real HTTP with a token; return the 202 body."""
    request = Request(
        f"{base_url}/api/v1/events",
        data=orjson.dumps(events),
        method="POST",
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
    )
    with urlopen(request, timeout=30) as response:
        assert response.status == 202, response.status
        return orjson.loads(response.read())


@pytest.fixture
def ingest(base_url: str, make_user: Callable[..., User]) -> Callable[[Any], dict[str, Any]]:
    """``ingest(event_or_events)``: send events through the API as an `ingest` user with a token."""
    from rest_framework.authtoken.models import Token

    token, _ = Token.objects.get_or_create(user=make_user("ingest"))
    return lambda events: post_events(base_url, token.key, events)


@pytest.fixture
def failed_logins_rule(db: None) -> Rule:
    """A high-priority rule on failed user portal logins ("Failed user logins")."""
    return rule_create(
        data={
            "name": "Failed user logins",
            "description": "Any failed user portal login",
            "priority": "high",
            "conditions": [
                {"event_type": "user_login_attempt", "filters": [{"key": "success", "operator": "eq", "value": False}]}
            ],
        },
        actor=None,
    )


def screenshot(page: Page, name: str) -> None:
    """Save the viewport (1366x900) as docs/screenshots/<name>.png when ALERTSITE_SCREENSHOTS=1."""
    if os.environ.get("ALERTSITE_SCREENSHOTS") != "1":
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.mouse.move(0, 0)  # no hover effects in the picture
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), animations="disabled", caret="hide")


@pytest.fixture(autouse=True)
def event_catalog(db: None) -> None:
    """Whatever the previous transactional test left, start with the whole event catalog and
    the built-in rule templates.

    A flush after a serialized-rollback test skips post_migrate, and the restore does
    not always come back in time for fixtures that build rules from the catalog.
    """
    from django.apps import apps

    from events.apps import catalog_ensure
    from rules.apps import builtin_templates_ensure

    catalog_ensure(apps.get_app_config("events"))
    builtin_templates_ensure(apps.get_app_config("rules"))

"""Console routes answer with and without a trailing slash (api.md, top); the admin shows the bell (§7)."""

from __future__ import annotations

import orjson
import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse

from alerts import views as alert_views
from alerts.models import Alert
from alertsite.urlhelpers import slash_optional
from channels.models import Channel
from rules import views as rule_views
from rules.models import Rule
from rules.services import rule_create
from tests.factories import make_event

pytestmark = pytest.mark.django_db

# Every console route name and the URL reverse() gave for it before routes became slash-optional.
CANONICAL = {
    ("home", ()): "/",
    ("console-bell", ()): "/bell/",
    ("console-alerts", ()): "/insights/alerts/",
    ("console-alerts-new-rows", ()): "/insights/alerts/new-rows/",
    ("console-alert-metrics", ()): "/insights/alerts/metrics/",
    ("console-alert-metrics-csv", ("alerts-per-day",)): "/insights/alerts/metrics/csv/alerts-per-day/",
    ("console-alerts-bulk", ()): "/insights/alerts/bulk/",
    ("console-alert-detail", (3,)): "/insights/alerts/3/",
    ("console-alert-action", (3, "acknowledge")): "/insights/alerts/3/acknowledge/",
    ("console-rules", ()): "/insights/alerts/rules/",
    ("console-rule-templates", ()): "/insights/alerts/rules/templates/",
    ("console-rule-new", ()): "/insights/alerts/rules/new/",
    ("console-rule-preview", ()): "/insights/alerts/rules/preview/",
    ("console-rule-edit", (4,)): "/insights/alerts/rules/4/edit/",
    ("console-rule-toggle", (4,)): "/insights/alerts/rules/4/enabled/",
    ("console-rule-duplicate", (4,)): "/insights/alerts/rules/4/duplicate/",
    ("console-rule-snooze", (4,)): "/insights/alerts/rules/4/snooze/",
    ("console-rule-unsnooze", (4,)): "/insights/alerts/rules/4/unsnooze/",
    ("console-rule-delete", (4,)): "/insights/alerts/rules/4/delete/",
    ("console-rule-history", (4,)): "/insights/alerts/rules/4/history/",
    ("console-rule-preview-change", (4,)): "/insights/alerts/rules/4/preview-change/",
    ("console-rule-restore", (4, 2)): "/insights/alerts/rules/4/history/2/restore/",
    ("console-channels", ()): "/settings/notification-channels/",
    ("console-channel-new", ("email",)): "/settings/notification-channels/new/email/",
    ("console-channel-edit", (5,)): "/settings/notification-channels/5/edit/",
    ("console-channel-delete", (5,)): "/settings/notification-channels/5/delete/",
    ("console-channel-test", (5,)): "/settings/notification-channels/5/test/",
    ("console-channel-preview", ("webhook",)): "/settings/notification-channels/preview/webhook/",
    ("console-channel-resume", (5,)): "/settings/notification-channels/5/resume/",
    ("console-channel-deliveries", (5,)): "/settings/notification-channels/5/deliveries/",
    ("console-delivery-retry", (6,)): "/settings/deliveries/6/retry/",
    ("console-events", ()): "/insights/events/",
    ("console-sources", ()): "/settings/data-sources/",
    ("console-source-new", ()): "/settings/data-sources/new/",
    ("console-source-edit", (7,)): "/settings/data-sources/7/edit/",
    ("console-source-delete", (7,)): "/settings/data-sources/7/delete/",
    ("console-source-test", (7,)): "/settings/data-sources/7/test/",
    ("console-source-poll", (7,)): "/settings/data-sources/7/poll/",
    ("console-source-pause", (7,)): "/settings/data-sources/7/pause/",
    ("console-maintenance", ()): "/settings/maintenance-windows/",
    ("console-maintenance-new", ()): "/settings/maintenance-windows/new/",
    ("console-maintenance-preview", ()): "/settings/maintenance-windows/preview/",
    ("console-maintenance-edit", (8,)): "/settings/maintenance-windows/8/edit/",
    ("console-maintenance-delete", (8,)): "/settings/maintenance-windows/8/delete/",
}


@pytest.fixture
def alert(auth_client, django_capture_on_commit_callbacks) -> Alert:
    rule_create(
        data={"name": "Failed logins", "priority": "high", "conditions": [{"event_type": "user_login_attempt"}]},
        actor=None,
    )
    with django_capture_on_commit_callbacks(execute=True):
        auth_client("admin").post("/api/v1/events", data=orjson.dumps([make_event()]), content_type="application/json")
    return Alert.objects.get()


@pytest.fixture
def rule() -> Rule:
    return rule_create(
        data={"name": "Failed admin logins", "priority": "high", "conditions": [{"event_type": "admin_login_attempt"}]},
        actor=None,
    )


@pytest.fixture
def channel() -> Channel:
    return Channel.objects.create(kind="webhook", name="SOC webhook", config={"url": "http://127.0.0.1:9/hook"})


def console_route_names() -> list[str]:
    names: list[str] = []

    def walk(patterns) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns)
            elif isinstance(pattern, URLPattern) and (pattern.name or "").startswith("console-"):
                names.append(pattern.name)

    walk(get_resolver().url_patterns)
    return names


# -- reverse() and {% url %} keep the slashed canonical URLs ---------------------------------------


@pytest.mark.parametrize(("name", "args", "url"), [(name, args, url) for (name, args), url in CANONICAL.items()])
def test_reverse_by_name_still_gives_the_slashed_url(name, args, url):
    assert reverse(name, args=args) == url


def test_reverse_by_view_still_gives_the_slashed_url():
    assert reverse(alert_views.alert_list) == "/insights/alerts/"
    assert reverse(alert_views.alert_detail, args=[3]) == "/insights/alerts/3/"
    assert reverse(rule_views.rule_toggle, args=[4]) == "/insights/alerts/rules/4/enabled/"


def test_every_console_route_is_listed_here():
    assert set(console_route_names()) == {name for name, _ in CANONICAL} - {"home"}


def test_console_links_in_pages_keep_the_slash(login):
    page = login("admin").get("/insights/alerts").content.decode()
    assert 'href="/insights/alerts/"' in page
    assert 'href="/insights/events/"' in page
    assert 'hx-get="/bell/"' in page


# -- every console route resolves without its slash -------------------------------------------------


@pytest.mark.parametrize(("name", "args", "url"), [(name, args, url) for (name, args), url in CANONICAL.items()])
def test_every_console_route_resolves_without_the_slash_to_the_same_view(name, args, url):
    slashed = resolve(url)
    bare = resolve(url.rstrip("/") or "/")
    assert bare.func is slashed.func
    assert bare.kwargs == slashed.kwargs  # converters kept: pk stays an int


def test_a_slashless_path_that_is_no_route_is_still_404(login):
    assert login("admin").get("/insights/nothing-here").status_code == 404


# -- GET without the slash: 200, not a 301 to the slashed URL ---------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/bell",
        "/insights/alerts",
        "/insights/alerts/new-rows",
        "/insights/alerts/metrics",
        "/insights/alerts/metrics/csv/noisiest-rules",
        "/insights/alerts/rules",
        "/insights/alerts/rules/templates",
        "/insights/alerts/rules/new",
        "/insights/events",
        "/settings/notification-channels",
        "/settings/notification-channels/new/webhooks",
        "/settings/maintenance-windows",
        "/settings/maintenance-windows/new",
    ],
)
def test_console_page_without_the_slash_answers_200_not_301(login, url):
    response = login("admin").get(url)
    assert response.status_code == 200, response.get("Location")


def test_pages_with_an_id_answer_200_without_the_slash(login, alert, rule, channel):
    client = login("admin")
    for url in (
        f"/insights/alerts/{alert.pk}",
        f"/insights/alerts/rules/{rule.pk}/edit",
        f"/insights/alerts/rules/{rule.pk}/delete",
        f"/insights/alerts/rules/{rule.pk}/history",
        f"/settings/notification-channels/{channel.pk}/edit",
        f"/settings/notification-channels/{channel.pk}/deliveries",
    ):
        assert client.get(url).status_code == 200, url


def test_slashless_get_keeps_the_query_string(login, alert):
    page = login("viewer").get(f"/insights/alerts?search={alert.reference}").content.decode()
    assert alert.reference in page


def test_slashless_console_page_still_asks_anonymous_users_to_log_in():
    response = Client().get("/insights/alerts")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login")


# -- POST without the slash works like the slashed one ----------------------------------------------


def test_acknowledging_an_alert_without_the_slash_acknowledges_it(login, alert):
    response = login("responder").post(f"/insights/alerts/{alert.pk}/acknowledge", {"note": "looking"})
    assert response.status_code == 302
    assert response["Location"] == f"/insights/alerts/{alert.pk}/"
    alert.refresh_from_db()
    assert alert.status == "acknowledged"


def test_resolving_an_alert_without_the_slash_resolves_it(login, alert):
    login("responder").post(f"/insights/alerts/{alert.pk}/resolve", {"note": "fixed"})
    alert.refresh_from_db()
    assert alert.status == "resolved"


def test_bulk_acknowledge_without_the_slash_moves_the_alerts(login, alert):
    login("responder").post("/insights/alerts/bulk", {"ids": [alert.pk], "action": "acknowledge"})
    alert.refresh_from_db()
    assert alert.status == "acknowledged"


def test_toggling_a_rule_without_the_slash_disables_it(login, rule):
    response = login("admin").post(f"/insights/alerts/rules/{rule.pk}/enabled", {"enabled": "false"})
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.enabled is False


def test_toggling_a_rule_with_htmx_without_the_slash_returns_the_row(login, rule):
    response = login("admin").post(
        f"/insights/alerts/rules/{rule.pk}/enabled", {"enabled": "false"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith(f'<tr id="rule-row-{rule.pk}"')


def test_slashless_post_under_debug_is_not_an_append_slash_error(login, rule, settings):
    settings.DEBUG = True  # CommonMiddleware raises RuntimeError for an unrouted slashless POST under DEBUG
    response = login("admin").post(f"/insights/alerts/rules/{rule.pk}/enabled", {"enabled": "false"})
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.enabled is False


def test_slashless_post_keeps_the_role_check(login, alert):
    response = login("viewer").post(f"/insights/alerts/{alert.pk}/acknowledge", {"note": "x"})
    assert response.status_code == 403
    alert.refresh_from_db()
    assert alert.status == "open"


# -- the helper -------------------------------------------------------------------------------------


def test_slash_optional_refuses_a_route_without_a_trailing_slash():
    with pytest.raises(ValueError, match="ending in '/'"):
        slash_optional("insights/alerts", alert_views.alert_list)


def test_slash_optional_names_only_the_slashed_pattern():
    bare, slashed = slash_optional("x/<int:pk>/", alert_views.alert_detail, name="x")
    assert (bare.name, slashed.name) == (None, "x")
    assert str(bare.pattern) == "x/<int:pk>" and str(slashed.pattern) == "x/<int:pk>/"


# -- the bell in the Django admin -------------------------------------------------------------------


def test_admin_index_shows_the_bell_with_the_open_alert_count(login, alert):
    page = login("admin").get("/admin/").content.decode()
    assert 'id="bell"' in page
    assert 'hx-get="/bell/"' in page
    assert 'data-testid="bell-count">1</span>' in page


def test_admin_pages_load_htmx_so_the_bell_polls(login):
    page = login("admin").get("/admin/").content.decode()
    assert "vendor/htmx-2.0.11.min.js" in page


def test_admin_change_list_shows_the_bell(login):
    page = login("admin").get("/admin/auth/group/").content.decode()
    assert 'id="bell"' in page


def test_admin_keeps_its_site_header_and_user_tools(login):
    page = login("admin").get("/admin/").content.decode()
    assert 'id="site-name"' in page and "Django administration" in page
    assert 'id="logout-form"' in page


def test_admin_login_page_shows_no_bell_to_anonymous_users():
    response = Client().get("/admin/login/")
    assert response.status_code == 200
    assert 'id="bell"' not in response.content.decode()
    assert "htmx" not in response.content.decode()


def test_admin_shows_no_bell_to_an_ingest_account_the_bell_would_refuse(login):
    page = login("ingest").get("/admin/login/").content.decode()
    assert 'id="bell"' not in page

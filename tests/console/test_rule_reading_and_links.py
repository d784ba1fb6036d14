"""Readers read rules; dashboards cross-link (spec 1.8, 6.2, api.md sections 2 and 7).

- Responders and viewers "read everything": the rule page shows them the rule in words.
- The Rules dashboard links each rule's Alerts count to its alerts in every status, names the
  template each rule came from and filters by event type.
- The alert detail links its rule for every reader, and each grouped event to the event log.
- "Last 15 days" is a time range of the console's lists.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
import pytest
from django.urls import reverse
from django.utils import timezone

from alerts.models import Alert
from alertsite.timeranges import TIME_RANGE_CHOICES, TIME_RANGES
from channels.models import Channel
from events.models import AuditEvent
from rules.models import Rule
from rules.services import rule_create
from tests.factories import make_event

pytestmark = pytest.mark.django_db

RULES = "/insights/alerts/rules/"
FAILED_LOGIN = {
    "event_type": "user_login_attempt",
    "match": "all",
    "filters": [
        {"key": "success", "operator": "eq", "value": False},
        {"key": "geoip.country_code", "operator": "in", "value": ["KP", "IR"]},
    ],
}


def stored_rule(name: str = "Failed logins", **overrides: Any) -> Rule:
    data: dict[str, Any] = {"name": name, "priority": "high", "conditions": [FAILED_LOGIN], **overrides}
    return rule_create(data=data, actor=None)


def html(response) -> str:
    return response.content.decode()


def text_of(page: str) -> str:
    """The page's text with tags stripped and whitespace collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", page).split())


@pytest.fixture
def raise_alerts(auth_client, django_capture_on_commit_callbacks):
    """``raise_alerts(rule, events)``: ingest events through the API; return the alerts they opened."""

    def make(events: list[dict[str, Any]]) -> list[Alert]:
        before = set(Alert.objects.values_list("pk", flat=True))
        with django_capture_on_commit_callbacks(execute=True):
            response = auth_client("ingest").post(
                "/api/v1/events", data=orjson.dumps(events), content_type="application/json"
            )
        assert response.status_code == 202, response.content
        return list(Alert.objects.exclude(pk__in=before).order_by("pk"))

    return make


# -- the rule page for readers ------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["viewer", "responder"])
def test_a_reader_opens_a_rule_and_reads_what_it_does(login, role):
    channel = Channel.objects.create(kind="webhook", name="SOC webhook", config={"url": "http://127.0.0.1:9/h"})
    rule = stored_rule(
        description="Failed user logins from watched countries",
        conditions=[
            FAILED_LOGIN,
            {"event_type": "admin_totp_disable", "expression": "initiated_by.email endsWith '@example.com'"},
            {"event_type": "user_lockout"},
        ],
        send_notifications=True,
        channels=[channel.pk],
        notify_on_resolve=True,
        group_by=["initiated_by.email"],
        group_window_minutes=60,
    )
    response = login(role).get(reverse("console-rule-edit", args=[rule.pk]))
    assert response.status_code == 200
    page = html(response)
    words = text_of(page)
    assert "Rule: Failed logins" in words
    assert "Failed user logins from watched countries" in words
    assert 'class="badge high"' in page
    assert "Enabled Enabled" in words  # the label, then the state
    assert "All of these filters must match: success equals false geoip.country_code is one of KP, IR" in words
    assert "Matches when this expression is true: initiated_by.email endsWith &#x27;@example.com&#x27;" in words
    assert "Every user_lockout event matches." in words
    assert "2 filters, All" in words and "Expression" in words and "No filters" in words  # the chips
    assert "Send Notifications On" in words and "SOC webhook" in words and "Alert Resolution On" in words
    assert "Grouped by initiated_by.email within 60 minutes" in words
    assert "Rule For Event Based Alerts (Insights)" in words


@pytest.mark.parametrize("role", ["viewer", "responder"])
def test_the_readers_rule_page_has_nothing_to_change(login, role):
    rule = stored_rule()
    page = html(login(role).get(reverse("console-rule-edit", args=[rule.pk])))
    assert 'data-testid="rule-read-only"' in page
    assert 'id="rule-form"' not in page and "<input" not in page.split("<main", 1)[1].split("</main>")[0]
    assert ">Save<" not in page and reverse("console-rule-delete", args=[rule.pk]) not in page


@pytest.mark.parametrize("role", ["viewer", "responder"])
def test_a_reader_still_cannot_change_a_rule_by_posting(login, role):
    rule = stored_rule()
    response = login(role).post(reverse("console-rule-edit", args=[rule.pk]), {"name": "Sneaky", "priority": "low"})
    assert response.status_code == 403
    rule.refresh_from_db()
    assert (rule.name, rule.priority) == ("Failed logins", "high")


def test_the_rule_page_names_an_association_action_by_its_own_words(login):
    rule = stored_rule(conditions=[{"event_type": "association_change", "action": "user_added_to_user_group"}])
    words = text_of(html(login("viewer").get(reverse("console-rule-edit", args=[rule.pk]))))
    assert "A user is added to a user group association_change No filters" in words


def test_admins_still_get_the_rule_form(login):
    rule = stored_rule()
    page = html(login("admin").get(reverse("console-rule-edit", args=[rule.pk])))
    assert 'id="rule-form"' in page and 'data-testid="rule-read-only"' not in page


def test_the_rule_page_links_to_the_rules_alerts_for_admins_and_readers(login):
    rule = stored_rule()
    for role in ("admin", "viewer"):
        page = html(login(role).get(reverse("console-rule-edit", args=[rule.pk])))
        assert f'href="/insights/alerts/?rule={rule.pk}&amp;status=open' in page


def test_a_missing_rule_is_404_for_readers(login):
    assert login("viewer").get(reverse("console-rule-edit", args=[999])).status_code == 404


# -- Rules dashboard -----------------------------------------------------------------------------------


def test_dashboard_links_each_rule_name_for_every_reader(login):
    rule = stored_rule()
    for role in ("viewer", "responder", "admin"):
        page = html(login(role).get(RULES))
        assert f'<a href="{reverse("console-rule-edit", args=[rule.pk])}">Failed logins</a>' in page


def test_dashboard_alerts_count_links_to_the_rules_alerts_in_every_status(login):
    rule = stored_rule()
    Rule.objects.filter(pk=rule.pk).update(alert_count=3)
    page = html(login("viewer").get(RULES))
    link = re.search(r'<a href="([^"]+)"[^>]*data-testid="rule-alerts-link">3</a>', page)
    assert link is not None
    url = urlsplit(link[1].replace("&amp;", "&"))
    assert url.path == "/insights/alerts/"
    assert parse_qs(url.query) == {"rule": [str(rule.pk)], "status": ["open", "acknowledged", "resolved"]}


def test_the_alerts_link_lists_resolved_alerts_of_that_rule_too(login, raise_alerts):
    stored_rule(conditions=[{"event_type": "user_login_attempt"}])
    stored_rule("Lockouts", conditions=[{"event_type": "user_lockout"}])
    first, second = raise_alerts([make_event(id="e1"), make_event(id="e2")])
    (other,) = raise_alerts([make_event(id="e3", event_type="user_lockout")])
    Alert.objects.filter(pk=first.pk).update(status="resolved")
    client = login("viewer")
    url = re.search(r'href="([^"]+)"[^>]*data-testid="rule-alerts-link"', html(client.get(RULES)))[1]
    page = html(client.get(url.replace("&amp;", "&")))
    assert first.reference in page and second.reference in page
    assert other.reference not in page


def test_dashboard_shows_the_template_each_rule_came_from(login):
    stored_rule("Blank one")
    rule_create(data={"name": "Brute force", "template": "brute_force_user_logins", "priority": "high"}, actor=None)
    stored_rule("No template", template=None, conditions=[{"event_type": "sso_auth"}])
    page = html(login("viewer").get(RULES))
    assert ">Template</th>" in page
    rows = {
        name: text_of(row)
        for name, row in re.findall(r'<tr id="rule-row-\d+"[^>]*>\s*<td>\s*<a [^>]*>([^<]+)</a>(.*?)</tr>', page, re.S)
    }
    assert "Rule For Event Based Alerts" in rows["Blank one"]  # the vendor's name, not "Blank"
    assert "Brute-force user logins" in rows["Brute force"]
    assert "None" in rows["No template"]


def test_dashboard_filters_by_event_type(login):
    stored_rule("Logins")
    stored_rule("Lockouts", conditions=[{"event_type": "user_lockout"}, {"event_type": "admin_lockout"}])
    stored_rule("Memberships", conditions=[{"event_type": "association_change", "action": "user_added_to_user_group"}])
    client = login("viewer")
    page = html(client.get(RULES, {"event_type": "admin_lockout"}))
    assert "Lockouts" in page and "Logins" not in page and "Memberships" not in page
    assert "1 of 3 rules match" in text_of(page)
    page = html(client.get(RULES, {"event_type": "association_change"}))
    assert "Memberships" in page and "Lockouts" not in page


def test_the_event_type_filter_offers_the_types_rules_select(login):
    stored_rule("Logins")
    stored_rule("Lockouts", conditions=[{"event_type": "user_lockout"}])
    page = html(login("viewer").get(RULES))
    select = re.search(r'<select id="rules-event-type" name="event_type"[^>]*>(.*?)</select>', page, re.S)[1]
    assert re.findall(r'<option value="([^"]*)"', select) == ["", "user_lockout", "user_login_attempt"]
    assert "All event types" in select


def test_the_event_type_filter_keeps_its_value_in_sorting_links(login):
    stored_rule("Lockouts", conditions=[{"event_type": "user_lockout"}])
    page = html(login("viewer").get(RULES, {"event_type": "user_lockout"}))
    assert '<option value="user_lockout" selected>' in page
    assert "event_type=user_lockout" in re.search(r'<th scope="col"[^>]*><a href="([^"]+)">Priority', page)[1]


def test_dashboard_switch_says_enabled_or_disabled(login):
    stored_rule("On one")
    stored_rule("Off one", enabled=False, conditions=[{"event_type": "user_lockout"}])
    page = html(login("admin").get(RULES))
    states = re.findall(r'<span class="state-text" aria-hidden="true">([^<]+)</span>', page)
    assert states == ["Disabled", "Enabled"]  # by name: "Off one", then "On one"
    assert ">On<" not in page and ">Off<" not in page


# -- alert detail --------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["viewer", "responder", "admin"])
def test_alert_detail_links_its_rule_for_every_reader(login, raise_alerts, role):
    rule = stored_rule(conditions=[{"event_type": "user_login_attempt"}])
    (alert,) = raise_alerts([make_event(id="e1")])
    page = html(login(role).get(f"/insights/alerts/{alert.pk}/"))
    assert f'<a href="{reverse("console-rule-edit", args=[rule.pk])}" data-testid="alert-rule-link">' in page


def test_alert_detail_event_rows_link_to_the_event_log_filtered_to_that_event(login, raise_alerts):
    stored_rule(
        conditions=[{"event_type": "user_login_attempt"}], group_by=["initiated_by.email"], group_window_minutes=60
    )
    (alert,) = raise_alerts([make_event(id="evt-one"), make_event(id="evt-two", timestamp="2025-03-02T09:17:00Z")])
    client = login("viewer")
    page = html(client.get(f"/insights/alerts/{alert.pk}/"))
    links = sorted(re.findall(r'<a href="([^"]+)"[^>]*data-testid="event-log-link">', page))
    assert links == [
        "/insights/events/?event_type=user_login_attempt&amp;search=evt-one",
        "/insights/events/?event_type=user_login_attempt&amp;search=evt-two",
    ]
    log = html(client.get(links[0].replace("&amp;", "&")))
    assert "evt-one" in log and "evt-two" not in log  # exactly the linked event


# -- "Last 15 days" ------------------------------------------------------------------------------------


def test_last_15_days_is_a_time_range_between_7_and_30_days():
    assert ("15d", "Last 15 days") in TIME_RANGE_CHOICES
    assert [key for key, _ in TIME_RANGE_CHOICES] == list(TIME_RANGES)
    assert TIME_RANGES["15d"] == timedelta(days=15)
    assert [TIME_RANGES[key] for key, _ in TIME_RANGE_CHOICES] == sorted(TIME_RANGES.values())


def test_last_15_days_filters_the_event_log(login):
    now = timezone.now()
    for event_id, age in (("ten-days", 10), ("twenty-days", 20)):
        AuditEvent.objects.create(
            event_id=event_id,
            event_type="user_login_attempt",
            timestamp=now - timedelta(days=age),
            received_at=now,
            initiator=f"{event_id}@example.com",
            payload={"id": event_id, "event_type": "user_login_attempt"},
        )
    client = login("viewer")
    page = html(client.get("/insights/events/", {"range": "15d"}))
    assert "ten-days" in page and "twenty-days" not in page
    assert '<option value="15d" selected>Last 15 days</option>' in page


def test_last_15_days_is_offered_on_the_alerts_dashboard(login):
    page = html(login("viewer").get("/insights/alerts/", {"range": "15d"}))
    assert re.search(r'<option value="15d"\s+selected>Last 15 days</option>', page)


# -- the filter editor knows enumerations --------------------------------------------------------------


def test_the_rule_form_offers_known_values_of_enumerated_keys(login):
    page = html(login("admin").get("/insights/alerts/rules/new/", {"template": "event_based"}))
    data = json.loads(re.search(r'<script id="rule-editor-data" type="application/json">(.*?)</script>', page, re.S)[1])
    enums = data["enum_values"]
    assert enums["association.op"] == ["add", "remove", "update"]
    assert {"user", "user_group", "system", "system_group"} <= set(enums["association.connection.to.type"])
    assert enums["mfa_meta.type"] == ["totp", "duo", "webauthn", "push", "none"]
    assert enums["application.sso_type"] == ["saml", "oidc"]
    assert "systemuser" in enums["initiated_by.type"]

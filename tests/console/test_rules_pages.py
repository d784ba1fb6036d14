"""Console pages for rules: the Rules dashboard, Rule Management and the rule form (api.md section 7)."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import orjson
import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from channels.models import Channel
from events.models import AuditEvent
from rules.models import Rule
from rules.services import rule_create
from tests.factories import make_event

pytestmark = pytest.mark.django_db

RULES = "/insights/alerts/rules/"
TEMPLATES = "/insights/alerts/rules/templates/"
NEW = "/insights/alerts/rules/new/"
FAILED_LOGIN = {
    "event_type": "admin_login_attempt",
    "match": "all",
    "filters": [{"key": "success", "operator": "eq", "value": False}],
}
VENDOR_LABELS = (
    "Enabled",
    "Rule Name",
    "Description",
    "Priority",
    "Generate Alerts",
    "Send Notifications",
    "Alert Acknowledgement",
    "Alert Resolution",
    "Search events",
    "Show Selected Events",
)


def stored_rule(name: str = "Failed admin logins", **overrides: Any) -> Rule:
    data: dict[str, Any] = {"name": name, "priority": "high", "conditions": [FAILED_LOGIN], **overrides}
    return rule_create(data=data, actor=None)


def webhook(name: str = "SOC webhook") -> Channel:
    return Channel.objects.create(kind="webhook", name=name, config={"url": "http://127.0.0.1:9/hook"})


def html(response) -> str:
    return response.content.decode()


def label_texts(page: str) -> set[str]:
    """The visible text of every <label>, tags stripped and whitespace collapsed."""
    return {
        " ".join(re.sub(r"<[^>]+>", " ", text).split()) for text in re.findall(r"<label[^>]*>(.*?)</label>", page, re.S)
    }


def form_post(**overrides: Any) -> dict[str, Any]:
    """A complete rule form as the browser sends it (checkboxes present only when on)."""
    data: dict[str, Any] = {
        "name": "Failed admin logins",
        "description": "Any failed admin console login",
        "enabled": "on",
        "priority": "high",
        "conditions": json.dumps(
            [
                FAILED_LOGIN,
                {"event_type": "admin_totp_disable", "expression": "initiated_by.email endsWith '@example.com'"},
            ]
        ),
        "generate_alerts": "on",
        "group_by": "",
        "group_window_minutes": "0",
        "threshold_count": "",
        "threshold_window_minutes": "",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


@pytest.fixture
def admin(login) -> Client:
    return login("admin")


@pytest.fixture
def viewer(login) -> Client:
    return login("viewer")


# -- Rules dashboard --------------------------------------------------------------------------------


def test_dashboard_lists_rules_with_priority_event_types_and_channels(admin):
    channel = webhook()
    stored_rule(send_notifications=True, channels=[channel.pk])
    page = html(admin.get(RULES))
    assert "Failed admin logins" in page
    assert 'class="badge high"' in page
    assert "admin_login_attempt" in page
    assert "SOC webhook" in page
    assert ">+Rule<" in page
    assert f'href="{reverse("console-alerts")}"' in page  # the Alerts | Rules tabs
    assert 'aria-current="page">Rules<' in page


def test_dashboard_names_association_actions_by_their_own_words(admin):
    stored_rule(conditions=[{"event_type": "association_change", "action": "user_added_to_user_group"}])
    assert "A user is added to a user group" in html(admin.get(RULES))


def test_viewer_and_responder_see_the_dashboard_without_actions(login):
    rule = stored_rule()
    for role in ("viewer", "responder"):
        page = html(login(role).get(RULES))
        assert "Failed admin logins" in page
        assert "+Rule" not in page
        assert f'aria-label="Edit {rule.name}"' not in page  # the name opens the read-only page
        assert reverse("console-rule-toggle", args=[rule.pk]) not in page
        assert reverse("console-rule-delete", args=[rule.pk]) not in page
        assert "Duplicate" not in page


def test_empty_dashboard_links_to_add_a_rule(admin):
    response = admin.get(RULES)
    assert 'data-testid="rules-empty"' in html(response)
    assert reverse("console-rule-templates") in html(response)


def test_dashboard_search_matches_name_or_description(admin):
    stored_rule("Failed admin logins")
    stored_rule(
        "Lockouts", description="User accounts locked after failures", conditions=[{"event_type": "user_lockout"}]
    )
    stored_rule("SSO", conditions=[{"event_type": "sso_auth"}])
    page = html(admin.get(RULES, {"search": "locked"}))
    assert "Lockouts" in page and "Failed admin logins" not in page and ">SSO<" not in page
    page = html(admin.get(RULES, {"search": "FAILED"}))
    assert "Failed admin logins" in page and "Lockouts" not in page


def test_dashboard_filters_by_priority_and_enabled(admin):
    stored_rule("High one", priority="high")
    stored_rule("Low one", priority="low", conditions=[{"event_type": "user_lockout"}])
    stored_rule("Disabled one", priority="low", enabled=False, conditions=[{"event_type": "sso_auth"}])
    page = html(admin.get(RULES, {"priority": "low"}))
    assert "Low one" in page and "Disabled one" in page and "High one" not in page
    page = html(admin.get(RULES, {"enabled": "false"}))
    assert "Disabled one" in page and "Low one" not in page and "High one" not in page


def test_dashboard_sorts_by_priority_last_triggered_and_alert_count(admin):
    low = stored_rule("A low", priority="low")
    high = stored_rule("B high", priority="high", conditions=[{"event_type": "user_lockout"}])
    medium = stored_rule("C medium", priority="medium", conditions=[{"event_type": "sso_auth"}])
    now = timezone.now()
    Rule.objects.filter(pk=low.pk).update(alert_count=5, last_triggered_at=now - timedelta(hours=3))
    Rule.objects.filter(pk=high.pk).update(alert_count=1, last_triggered_at=now)
    Rule.objects.filter(pk=medium.pk).update(alert_count=9)

    def order(ordering: str) -> list[str]:
        page = html(admin.get(RULES, {"ordering": ordering}))
        return [name for name in re.findall(r">([ABC] \w+)</a>", page)]

    assert order("name") == ["A low", "B high", "C medium"]
    assert order("-priority") == ["B high", "C medium", "A low"]
    assert order("priority") == ["A low", "C medium", "B high"]
    assert order("-last_triggered_at") == ["B high", "A low", "C medium"]  # never triggered last
    assert order("-alert_count") == ["C medium", "A low", "B high"]
    assert 'aria-sort="descending"' in html(admin.get(RULES, {"ordering": "-alert_count"}))


def test_dashboard_pages_by_fifty(admin):
    for number in range(55):
        stored_rule(f"Rule {number:02d}", conditions=[{"event_type": "user_lockout"}])
    first = html(admin.get(RULES))
    assert first.count('data-testid="rule-enabled-toggle"') == 50
    assert "Page 1 of 2" in first and 'rel="next"' in first
    second = html(admin.get(RULES, {"page": 2}))
    assert second.count('data-testid="rule-enabled-toggle"') == 5
    assert "Rule 54" in second and "Rule 00" not in second


def test_dashboard_answers_htmx_filtering_with_the_results_only(admin):
    stored_rule()
    response = admin.get(RULES, {"search": "admin"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="rules-results")
    page = html(response)
    assert page.lstrip().startswith('<div id="rules-results">')
    assert "Failed admin logins" in page and "<html" not in page


def test_dashboard_query_count_does_not_grow_with_the_rules(admin, django_assert_max_num_queries):
    channel = webhook()
    for number in range(3):
        stored_rule(f"Rule {number}", send_notifications=True, channels=[channel.pk])
    with django_assert_max_num_queries(10) as few:
        admin.get(RULES)
    for number in range(3, 30):
        stored_rule(f"Rule {number}", send_notifications=True, channels=[channel.pk])
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = html(admin.get(RULES))
    assert page.count("SOC webhook") == 30


# -- enable / disable in place ------------------------------------------------------------------------


def test_admin_toggles_a_rule_in_place_and_gets_the_row_back(admin):
    rule = stored_rule()
    url = reverse("console-rule-toggle", args=[rule.pk])
    response = admin.post(url, {"enabled": "false"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    row = html(response)
    assert row.lstrip().startswith(f'<tr id="rule-row-{rule.pk}"')
    assert 'aria-checked="false"' in row
    rule.refresh_from_db()
    assert rule.enabled is False
    response = admin.post(url, {"enabled": "true"}, HTTP_HX_REQUEST="true")
    assert 'aria-checked="true"' in html(response)
    rule.refresh_from_db()
    assert rule.enabled is True


def test_toggle_without_htmx_redirects_back(admin):
    rule = stored_rule()
    response = admin.post(
        reverse("console-rule-toggle", args=[rule.pk]), {"enabled": "false", "next": f"{RULES}?search=admin"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"{RULES}?search=admin"
    rule.refresh_from_db()
    assert rule.enabled is False


def test_toggle_ignores_a_next_url_on_another_host(admin):
    rule = stored_rule()
    response = admin.post(
        reverse("console-rule-toggle", args=[rule.pk]), {"enabled": "false", "next": "https://evil.example/"}
    )
    assert response["Location"] == RULES


def test_viewer_and_responder_cannot_toggle(login):
    rule = stored_rule()
    for role in ("viewer", "responder"):
        response = login(role).post(reverse("console-rule-toggle", args=[rule.pk]), {"enabled": "false"})
        assert response.status_code == 403
    rule.refresh_from_db()
    assert rule.enabled is True


def test_toggle_needs_post(admin):
    rule = stored_rule()
    assert admin.get(reverse("console-rule-toggle", args=[rule.pk])).status_code == 405


# -- duplicate and delete ---------------------------------------------------------------------------


def test_duplicate_creates_a_disabled_copy_and_opens_it(admin):
    channel = webhook()
    rule = stored_rule(send_notifications=True, channels=[channel.pk], group_by=["initiated_by.email"])
    response = admin.post(reverse("console-rule-duplicate", args=[rule.pk]))
    copy = Rule.objects.get(name="Copy of Failed admin logins")
    assert response.status_code == 302
    assert response["Location"] == reverse("console-rule-edit", args=[copy.pk])
    assert copy.enabled is False
    assert copy.conditions == rule.conditions
    assert copy.group_by == ["initiated_by.email"]
    assert list(copy.channels.values_list("pk", flat=True)) == [channel.pk]
    admin.post(reverse("console-rule-duplicate", args=[rule.pk]))
    assert Rule.objects.filter(name="Copy of Failed admin logins (2)").exists()


def test_viewer_cannot_duplicate(viewer):
    rule = stored_rule()
    assert viewer.post(reverse("console-rule-duplicate", args=[rule.pk])).status_code == 403
    assert Rule.objects.count() == 1


def test_delete_asks_first_then_deletes_on_post(admin):
    rule = stored_rule()
    url = reverse("console-rule-delete", args=[rule.pk])
    confirmation = admin.get(url)
    assert confirmation.status_code == 200
    assert "Delete the rule <strong>Failed admin logins</strong>?" in html(confirmation)
    assert Rule.objects.filter(pk=rule.pk).exists()
    response = admin.post(url)
    assert response.status_code == 302 and response["Location"] == RULES
    assert not Rule.objects.filter(pk=rule.pk).exists()


def test_delete_returns_to_the_filtered_dashboard_it_came_from(admin):
    rule = stored_rule()
    url = reverse("console-rule-delete", args=[rule.pk])
    assert f'name="next" value="{RULES}?search=admin"' in html(admin.get(url, {"next": f"{RULES}?search=admin"}))
    response = admin.post(url, {"next": f"{RULES}?search=admin"})
    assert response["Location"] == f"{RULES}?search=admin"


def test_viewer_cannot_delete(viewer):
    rule = stored_rule()
    url = reverse("console-rule-delete", args=[rule.pk])
    assert viewer.get(url).status_code == 403
    assert viewer.post(url).status_code == 403
    assert Rule.objects.filter(pk=rule.pk).exists()


# -- Rule Management --------------------------------------------------------------------------------


def test_rule_management_shows_the_insights_tab_with_the_event_based_template(admin):
    page = html(admin.get(TEMPLATES))
    assert 'aria-current="page">Insights' in page
    assert "Rule For Event Based Alerts" in page
    assert f"{NEW}?template=event_based" in page
    assert "Device deleted" not in page  # a Devices tab template


def test_rule_management_tabs_switch_the_templates(admin):
    page = html(admin.get(TEMPLATES, {"tab": "devices"}))
    assert 'aria-current="page">Devices' in page
    assert "Device deleted" in page
    assert 'data-template="event_based"' not in page


def test_rule_management_search_filters_templates_by_name(admin):
    page = html(admin.get(TEMPLATES, {"q": "event based"}))
    assert 'data-template="event_based"' in page
    assert "Failed admin logins" not in page
    live = admin.get(TEMPLATES, {"q": "lockout"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="template-results")
    assert html(live).lstrip().startswith('<div id="template-results">')
    assert "User lockout" in html(live) and 'data-template="event_based"' not in html(live)


def test_rule_management_is_for_admins(login):
    for role in ("viewer", "responder"):
        assert login(role).get(TEMPLATES).status_code == 403


# -- the rule form ----------------------------------------------------------------------------------


def test_new_rule_form_shows_every_vendor_label_in_order(admin):
    response = admin.get(NEW, {"template": "event_based"})
    assert response.status_code == 200
    page = html(response)
    assert set(VENDOR_LABELS) <= label_texts(page)
    for text in ("Rule Details", "Conditions", "Alert Actions", "Existing Conditions", ">Advanced<", ">Save<"):
        assert text in page
    assert "Switch to Expression Language" in page and ">Switch<" in page
    # The vendor's order: Enabled, Rule Details, Conditions, Priority, Alert Actions, Save.
    positions = [
        page.index(marker)
        for marker in (
            'id="id_enabled"',
            'id="id_name"',
            'id="conditions"',
            'id="id_priority"',
            'id="id_generate_alerts"',
            ">Save<",
        )
    ]
    assert positions == sorted(positions)
    assert re.search(r'<input type="checkbox" role="switch" id="id_enabled" name="enabled"[^>]*checked', page)


def test_new_rule_form_offers_the_catalog_with_association_actions_and_operators(admin):
    page = html(admin.get(NEW, {"template": "event_based"}))
    data = json.loads(re.search(r'<script id="rule-editor-data" type="application/json">(.*?)</script>', page, re.S)[1])
    entries = {entry["label"]: entry for entry in data["catalog"]}
    assert entries["user_login_attempt"]["description"] == "A user attempted to login"
    action = entries["A user is added to a user group"]
    assert action["event_type"] == "association_change" and action["action"] == "user_added_to_user_group"
    assert sum(1 for entry in data["catalog"] if entry["action"]) == 30
    assert "success" in data["key_sets"][entries["user_login_attempt"]["keys"]]
    operators = {operator["key"]: operator for operator in data["operators"]}
    assert operators["in"]["label"] == "is one of" and operators["in"]["input"] == "list"
    assert operators["exists"]["input"] == "none"


def test_a_template_prefills_the_form(admin):
    page = html(admin.get(NEW, {"template": "brute_force_user_logins"}))
    assert 'value="Brute-force user logins"' in page
    assert "user_login_attempt" in page
    assert 'name="threshold_count" value="5"' in page


def test_unknown_template_goes_back_to_rule_management(admin):
    response = admin.get(NEW, {"template": "nope"})
    assert response.status_code == 302 and response["Location"] == TEMPLATES


def test_posting_a_valid_rule_creates_it_and_returns_to_the_dashboard(admin):
    channel = webhook()
    response = admin.post(
        f"{NEW}?template=event_based",
        form_post(
            send_notifications="on",
            channels=[str(channel.pk)],
            notify_on_resolve="on",
            group_by="initiated_by.email, client_ip",
            group_window_minutes="60",
            threshold_count="5",
            threshold_window_minutes="10",
            existing_conditions="on",
        ),
    )
    assert response.status_code == 302 and response["Location"] == RULES
    rule = Rule.objects.get(name="Failed admin logins")
    assert rule.enabled is True and rule.priority == "high" and rule.template == "event_based"
    assert rule.conditions == [
        FAILED_LOGIN,
        {"event_type": "admin_totp_disable", "expression": "initiated_by.email endsWith '@example.com'"},
    ]
    assert rule.send_notifications and list(rule.channels.values_list("pk", flat=True)) == [channel.pk]
    assert rule.notify_on_resolve is True and rule.notify_on_acknowledge is False
    assert rule.group_by == ["initiated_by.email", "client_ip"] and rule.group_window_minutes == 60
    assert rule.threshold == {"count": 5, "window_minutes": 10}
    assert rule.existing_conditions is True
    assert rule.created_by is not None


def test_posting_without_enabled_saves_a_disabled_rule(admin):
    admin.post(f"{NEW}?template=event_based", form_post(enabled=None))
    assert Rule.objects.get().enabled is False


def test_the_json_fallback_wins_when_posted(admin):
    conditions = json.dumps([{"event_type": "user_lockout"}])
    admin.post(f"{NEW}?template=event_based", form_post(conditions="[]", conditions_json=conditions))
    assert Rule.objects.get().conditions == [{"event_type": "user_lockout", "match": "all", "filters": []}]


def test_an_invalid_rule_shows_errors_next_to_fields_and_keeps_what_was_typed(admin):
    stored_rule("Taken")
    conditions = json.dumps(
        [
            {
                "event_type": "user_login_attempt",
                "match": "all",
                "filters": [{"key": "success", "operator": "eq", "value": False}, {"key": "mfa", "operator": "nope"}],
            },
            {"event_type": "admin_totp_disable", "expression": "initiated_by.email ==="},
        ]
    )
    response = admin.post(
        f"{NEW}?template=event_based",
        form_post(
            name="taken",
            description="Typed by hand",
            priority="low",
            conditions=conditions,
            generate_alerts=None,
            send_notifications="on",
            group_window_minutes="soon",
        ),
    )
    assert response.status_code == 400
    page = html(response)
    assert 'id="name-error">A rule named' in page
    assert 'value="taken"' in page and "Typed by hand" in page
    assert re.search(r'<option value="low" selected>', page)
    assert 'id="channels-error">Select at least one channel' in page
    assert 'id="group-window-error">Must be a whole number' in page
    assert 'value="soon"' in page
    assert 'aria-invalid="true"' in page
    assert 'id="error-summary"' in page
    assert "Conditions: user_login_attempt, filter 2, Operator" in page  # the summary names the row
    data = json.loads(re.search(r'<script id="rule-editor-data" type="application/json">(.*?)</script>', page, re.S)[1])
    assert "conditions[0].filters[1].operator" in data["errors"]
    assert re.match(r"line 1, column \d+: ", data["errors"]["conditions[1].expression"])
    hidden = re.search(r'name="conditions" id="id_conditions" value="([^"]*)"', page)[1]
    assert json.loads(hidden.replace("&quot;", '"').replace("&#x27;", "'").replace("&amp;", "&")) == json.loads(
        conditions
    )
    assert Rule.objects.count() == 1


def test_invalid_conditions_json_is_reported_with_its_position(admin):
    response = admin.post(f"{NEW}?template=event_based", form_post(conditions_json='[{"event_type": }]'))
    assert response.status_code == 400
    page = html(response)
    assert 'id="conditions-error" role="alert">Conditions are not valid JSON (line 1, column 17)' in page
    assert "[{&quot;event_type&quot;: }]" in page  # kept as typed


def test_no_events_selected_is_an_error_at_conditions(admin):
    page = html(admin.post(f"{NEW}?template=event_based", form_post(conditions="[]")))
    assert 'id="conditions-error" role="alert">Select at least one event.' in page


def test_edit_shows_the_rule_and_updates_it(admin):
    channel = webhook()
    rule = stored_rule(description="Old", group_by=["initiated_by.email"], group_window_minutes=30)
    url = reverse("console-rule-edit", args=[rule.pk])
    page = html(admin.get(url))
    assert 'value="Failed admin logins"' in page and ">Old</textarea>" in page
    assert 'name="group_by" value="initiated_by.email"' in page
    response = admin.post(
        url,
        form_post(
            name="Failed admin logins (all)",
            description="New",
            priority="medium",
            enabled=None,
            send_notifications="on",
            channels=[str(channel.pk)],
            conditions=json.dumps([FAILED_LOGIN]),
        ),
    )
    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.name, rule.description, rule.priority, rule.enabled) == (
        "Failed admin logins (all)",
        "New",
        "medium",
        False,
    )
    assert rule.group_by == [] and rule.group_window_minutes == 0
    assert list(rule.channels.values_list("pk", flat=True)) == [channel.pk]
    assert rule.updated_by is not None


def test_edit_with_errors_keeps_the_rule_unchanged(admin):
    rule = stored_rule()
    response = admin.post(reverse("console-rule-edit", args=[rule.pk]), form_post(name=""))
    assert response.status_code == 400
    assert 'id="name-error">Rule Name is required.' in html(response)
    rule.refresh_from_db()
    assert rule.name == "Failed admin logins"


def test_create_rule_from_an_event_prefills_its_type_and_initiator(admin, auth_client):
    event = make_event(id="evt-login-1", event_type="user_login_attempt")
    ingest = auth_client("ingest")
    response = ingest.post("/api/v1/events", data=orjson.dumps([event]), content_type="application/json")
    assert response.status_code == 202
    page = html(admin.get(NEW, {"from_event": "evt-login-1"}))
    assert 'data-testid="from-event"' in page
    hidden = re.search(r'name="conditions" id="id_conditions" value="([^"]*)"', page)[1]
    conditions = json.loads(hidden.replace("&quot;", '"'))
    assert conditions == [
        {
            "event_type": "user_login_attempt",
            "match": "all",
            "filters": [{"key": "initiated_by.email", "operator": "eq", "value": "bob.smith@example.com"}],
        }
    ]


def test_create_rule_from_an_association_event_picks_its_action(admin):
    payload = {
        "event_type": "association_change",
        "association": {"op": "add", "connection": {"from": {"type": "user"}, "to": {"type": "user_group"}}},
    }
    AuditEvent.objects.create(
        event_id="evt-assoc",
        event_type="association_change",
        timestamp=timezone.now(),
        received_at=timezone.now(),
        payload=payload,
    )
    page = html(admin.get(NEW, {"from_event": "evt-assoc"}))
    assert "user_added_to_user_group" in page


def test_an_unknown_event_id_starts_a_blank_rule(admin):
    response = admin.get(NEW, {"from_event": "missing"})
    assert response.status_code == 200
    assert "No stored event has the id" in html(response)


@pytest.mark.parametrize("role", ["viewer", "responder"])
def test_form_pages_are_for_admins_only(login, role):
    rule = stored_rule()
    client = login(role)
    assert client.get(NEW, {"template": "event_based"}).status_code == 403
    assert client.post(f"{NEW}?template=event_based", form_post(name="Sneaky")).status_code == 403
    assert 'id="rule-form"' not in html(client.get(reverse("console-rule-edit", args=[rule.pk])))  # read-only
    assert client.post(reverse("console-rule-edit", args=[rule.pk]), form_post(name="Sneaky")).status_code == 403
    assert client.post(reverse("console-rule-preview"), form_post()).status_code == 403
    assert not Rule.objects.filter(name="Sneaky").exists()


def test_anonymous_users_are_sent_to_log_in(client):
    response = client.get(RULES)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# -- live preview -----------------------------------------------------------------------------------


def test_preview_counts_matches_and_alerts_over_the_last_seven_days(admin, auth_client):
    now = timezone.now()
    events = [
        make_event(
            id=f"evt-{number}",
            event_type="admin_login_attempt",
            success=number != 2,
            timestamp=(now - timedelta(hours=number)).isoformat().replace("+00:00", "Z"),
        )
        for number in range(1, 4)
    ]
    events.append(
        make_event(id="evt-old", event_type="admin_login_attempt", success=False, timestamp="2020-01-01T00:00:00Z")
    )
    ingest = auth_client("ingest")
    assert ingest.post("/api/v1/events", data=orjson.dumps(events), content_type="application/json").status_code == 202
    conditions = json.dumps(
        [
            {
                "event_type": "admin_login_attempt",
                "match": "all",
                "filters": [{"key": "success", "operator": "eq", "value": True}],
            }
        ]
    )
    response = admin.post(reverse("console-rule-preview"), form_post(conditions=conditions))
    page = html(response)
    assert "Would have matched <strong>2</strong> events in the last 7 days, opening <strong>2</strong> alerts." in page
    assert page.count("<li><time") == 2
    grouped = admin.post(
        reverse("console-rule-preview"),
        form_post(conditions=conditions, group_by="initiated_by.email", group_window_minutes="600"),
    )
    assert "opening <strong>1</strong> alert." in html(grouped)


def test_preview_explains_what_to_fix(admin):
    empty = html(admin.post(reverse("console-rule-preview"), form_post(conditions="[]")))
    assert 'data-testid="preview-empty"' in empty
    bad = json.dumps([{"event_type": "user_login_attempt", "filters": [{"key": "success", "operator": "nope"}]}])
    page = html(admin.post(reverse("console-rule-preview"), form_post(conditions=bad)))
    assert "Conditions: user_login_attempt, filter 1, Operator" in page

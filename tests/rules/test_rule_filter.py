"""RuleFilter: one FilterSet behind `GET /api/v1/rules` and the console's Rules dashboard.

The same filter names give the same rules in the same order in both; the console still reads the old
names of bookmarks (`q`, `sort`); a bad value is a 400 naming the filter in the API and is ignored by
the console.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from channels.models import Channel
from rules.models import Rule
from rules.services import rule_create

pytestmark = pytest.mark.django_db

API = "/api/v1/rules"
DASHBOARD = "/insights/alerts/rules/"


def stored_rule(name: str, event_type: str = "admin_login_attempt", **overrides: Any) -> Rule:
    return rule_create(
        data={"name": name, "priority": "high", "conditions": [{"event_type": event_type}], **overrides}, actor=None
    )


@pytest.fixture
def rules() -> dict[str, Rule]:
    """Four rules that differ in priority, state, event types, channels, triggers and alert counts."""
    channel = Channel.objects.create(kind="webhook", name="SOC", config={"url": "http://127.0.0.1:9/hook"})
    made = {
        "admin": stored_rule("Admin logins", description="Failed admin console logins"),
        "lockout": stored_rule(
            "lockouts", "user_lockout", priority="low", send_notifications=True, channels=[channel.pk]
        ),
        "sso": stored_rule("SSO failures", "sso_auth", priority="medium", enabled=False),
        "totp": stored_rule("TOTP off", "admin_totp_disable", priority="low", description="Locked out of TOTP"),
    }
    now = timezone.now()
    Rule.objects.filter(pk=made["admin"].pk).update(alert_count=4, last_triggered_at=now - timedelta(hours=1))
    Rule.objects.filter(pk=made["lockout"].pk).update(alert_count=9, last_triggered_at=now)
    Rule.objects.filter(pk=made["totp"].pk).update(alert_count=1)
    return made


def api_ids(client, query: dict) -> list[int]:
    response = client.get(API, query)
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["results"]]


def console_ids(client, query: dict | str) -> list[int]:
    response = client.get(f"{DASHBOARD}?{query if isinstance(query, str) else urlencode(query)}")
    assert response.status_code == 200
    return [int(pk) for pk in re.findall(r'<tr id="rule-row-(\d+)"', response.content.decode())]


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"search": "lock"},
        {"search": "ADMIN"},
        {"priority": "low"},
        {"priority": "low,medium"},
        {"enabled": "false"},
        {"enabled": "true"},
        {"event_type": "user_lockout"},
        {"ordering": "-name"},
        {"ordering": "priority"},
        {"ordering": "-priority"},
        {"ordering": "-last_triggered_at"},
        {"ordering": "last_triggered_at"},
        {"ordering": "-alert_count"},
        {"priority": "low", "ordering": "-alert_count"},
    ],
    ids=lambda query: urlencode(query) or "no-filter",
)
def test_console_and_api_give_the_same_rules_for_the_same_filter(rules, auth_client, login, query):
    expected = api_ids(auth_client("viewer"), query)
    assert expected, "the query should find something"
    assert console_ids(login("viewer"), query) == expected


def test_console_and_api_filter_by_channel_alike(rules, auth_client, login):
    query = {"channel": Channel.objects.get().pk}
    assert api_ids(auth_client("viewer"), query) == [rules["lockout"].pk]
    assert console_ids(login("viewer"), query) == [rules["lockout"].pk]


def test_rules_that_never_fired_come_last_newest_trigger_first(rules, auth_client):
    ids = api_ids(auth_client("viewer"), {"ordering": "-last_triggered_at"})
    assert ids[:2] == [rules["lockout"].pk, rules["admin"].pk]


def test_names_sort_ignoring_case_in_both(rules, auth_client, login):
    expected = [rules[key].pk for key in ("admin", "lockout", "sso", "totp")]  # "lockouts" is lower-case
    assert api_ids(auth_client("viewer"), {}) == expected
    assert console_ids(login("viewer"), {}) == expected


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("q=lock", "search=lock"),
        ("sort=-last_triggered", "ordering=-last_triggered_at"),
        ("sort=last_triggered", "ordering=last_triggered_at"),
        ("sort=-alert_count", "ordering=-alert_count"),
        ("sort=-priority&q=o", "ordering=-priority&search=o"),
    ],
)
def test_console_still_reads_the_old_query_names_of_bookmarks(rules, login, old, new):
    client = login("viewer")
    assert console_ids(client, old) == console_ids(client, new)


def test_console_links_and_form_use_the_filter_names(rules, login):
    page = login("viewer").get(DASHBOARD, {"sort": "-last_triggered", "q": "o"}).content.decode()
    assert 'name="search" value="o"' in page
    assert '<input type="hidden" name="ordering" value="-last_triggered_at">' in page
    assert re.search(r'<th scope="col" aria-sort="descending"><a href="[^"]*ordering=last_triggered_at', page)
    alerts_link = re.search(r'<th scope="col"><a href="([^"]+)">Alerts', page)[1].replace("&amp;", "&")
    assert "search=o" in alerts_link and "ordering=-alert_count" in alerts_link
    for old in ("sort=", "q="):
        assert f"?{old}" not in page and f"&amp;{old}" not in page


@pytest.mark.parametrize(
    "bad",
    [{"priority": "urgent"}, {"channel": "soc"}, {"ordering": "title"}],
    ids=lambda query: urlencode(query),
)
def test_api_answers_400_naming_the_bad_filter(rules, auth_client, bad):
    response = auth_client("viewer").get(API, bad)
    assert response.status_code == 400
    assert list(response.json()) == list(bad)


@pytest.mark.parametrize(
    "bad",
    [{"priority": "urgent"}, {"channel": "soc"}, {"ordering": "title"}, {"sort": "title"}, {"enabled": "maybe"}],
    ids=lambda query: urlencode(query),
)
def test_console_ignores_a_bad_filter_value(rules, login, bad):
    client = login("viewer")
    page = client.get(DASHBOARD, bad).content.decode()
    assert console_ids(client, bad) == console_ids(client, {})
    assert "4 rules" in page  # not "x of 4 rules match": nothing was filtered

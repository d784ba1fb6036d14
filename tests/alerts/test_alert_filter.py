"""AlertFilter: one FilterSet behind `GET /api/v1/alerts` and the console's alerts dashboard.

The same filter names give the same rows in the same order in both; the console still reads the old
names of bookmarks (`q`, `rule_q`, `sort`/`dir`); a bad value is a 400 naming the filter in the API and
is ignored by the console.
"""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from alerts.models import Alert
from alerts.services import alert_assign
from tests.factories import make_event

pytestmark = pytest.mark.django_db

URL = "/api/v1/alerts"
DASHBOARD = "/insights/alerts/"


@pytest.fixture
def alerts(raise_alert, make_user) -> dict[str, Alert]:
    """Four alerts that differ in status, priority, category, source, age, assignee and event count."""
    login = raise_alert(make_event())
    admin = raise_alert(make_event(event_type="admin_login_attempt", initiated_by={"type": "admin", "id": "a1"}))
    lockout = raise_alert(make_event(event_type="user_lockout"))
    sso = raise_alert(make_event(event_type="sso_auth", service="sso", system={"id": "device-1"}))
    now = timezone.now()
    Alert.objects.filter(pk=login.pk).update(priority="high", event_count=3, created_at=now - timedelta(minutes=5))
    Alert.objects.filter(pk=admin.pk).update(
        status="acknowledged", priority="medium", created_at=now - timedelta(hours=2)
    )
    Alert.objects.filter(pk=lockout.pk).update(
        status="resolved", priority="low", event_count=7, created_at=now - timedelta(days=3)
    )
    Alert.objects.filter(pk=sso.pk).update(priority="low", created_at=now - timedelta(days=40))
    alert_assign(alert=admin, assignee=make_user("responder"), actor=None)
    return {"login": login, "admin": admin, "lockout": lockout, "sso": sso}


def api_ids(client, query: dict) -> list[int]:
    response = client.get(URL, query)
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["results"]]


def console_ids(client, query: dict | str) -> list[int]:
    response = client.get(f"{DASHBOARD}?{query if isinstance(query, str) else urlencode(query)}")
    assert response.status_code == 200
    return [int(pk) for pk in re.findall(r'<tr id="alert-(\d+)"', response.content.decode())]


@pytest.mark.parametrize(
    "query",
    [
        {"status": "open"},
        {"status": "open,acknowledged,resolved"},
        {"status": "", "priority": "low"},
        {"status": "", "priority": "high,medium"},
        {"status": "", "category": "sso"},
        {"status": "", "source_type": "device"},
        {"status": "", "rule_name": "lockout"},
        {"status": "", "range": "24h"},
        {"status": "", "range": "7d"},
        {"status": "", "assignee": "none"},
        {"status": "", "search": "Any admin_login_attempt"},
        {"status": "", "ordering": "priority"},
        {"status": "", "ordering": "-priority"},
        {"status": "", "ordering": "-event_count"},
        {"status": "", "ordering": "status"},
        {"status": "", "ordering": "created_at"},
    ],
    ids=lambda query: urlencode(query),
)
def test_console_and_api_give_the_same_rows_for_the_same_filter(alerts, auth_client, login, query):
    expected = api_ids(auth_client("viewer"), query)
    assert expected, "the query should find something"
    assert console_ids(login("viewer"), query) == expected


def test_console_and_api_filter_by_rule_alike(alerts, auth_client, login):
    query = {"status": "", "rule": alerts["lockout"].rule_id}
    assert api_ids(auth_client("viewer"), query) == [alerts["lockout"].pk]
    assert console_ids(login("viewer"), query) == [alerts["lockout"].pk]


def test_console_shows_open_and_acknowledged_alerts_when_the_query_names_no_status(alerts, auth_client, login):
    unresolved = api_ids(auth_client("viewer"), {"status": "open,acknowledged"})
    assert console_ids(login("viewer"), {}) == unresolved
    assert alerts["lockout"].pk not in unresolved


def test_api_lists_every_status_when_the_query_names_none(alerts, auth_client):
    assert len(api_ids(auth_client("viewer"), {})) == 4


def test_status_may_be_repeated_or_comma_separated_in_both(alerts, auth_client, login):
    repeated = "status=open&status=resolved"
    expected = api_ids(auth_client("viewer"), {"status": "open,resolved"})
    assert [item["id"] for item in auth_client("viewer").get(f"{URL}?{repeated}").json()["results"]] == expected
    assert console_ids(login("viewer"), repeated) == expected


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("status=&q=Any+admin_login_attempt", "status=&search=Any+admin_login_attempt"),
        ("status=&rule_q=lockout", "status=&rule_name=lockout"),
        ("status=&sort=priority&dir=asc", "status=&ordering=priority"),
        ("status=&sort=priority&dir=desc", "status=&ordering=-priority"),
        ("status=&sort=events", "status=&ordering=-event_count"),
        ("status=&sort=status&dir=asc", "status=&ordering=status"),
        ("status=&sort=created&dir=asc", "status=&ordering=created_at"),
        ("status=&sort=nonsense", "status=&ordering=-created_at"),
    ],
)
def test_console_still_reads_the_old_query_names_of_bookmarks(alerts, login, old, new):
    client = login("viewer")
    assert console_ids(client, old) == console_ids(client, new)


def test_console_links_and_form_use_the_filter_names(alerts, login):
    page = login("viewer").get(DASHBOARD, {"status": "", "search": "Any", "ordering": "-priority"}).content.decode()
    assert 'name="search" value="Any"' in page
    assert '<input type="hidden" name="ordering" value="-priority">' in page
    priority_link = re.search(r'<a href="\?([^"]+)">Priority</a>', page)[1].replace("&amp;", "&")
    assert "ordering=priority" in priority_link and "search=Any" in priority_link and "status=" in priority_link
    for old in ("q=", "sort=", "dir=", "rule_q="):
        assert f"&amp;{old}" not in page and f"?{old}" not in page


@pytest.mark.parametrize(
    "bad",
    [
        {"status": "closed"},
        {"priority": "urgent"},
        {"category": "System"},
        {"source_type": "robot"},
        {"rule": "twelve"},
        {"rule": "1.5"},
        {"range": "2d"},
        {"assignee": "bob"},
        {"ordering": "title"},
        {"since": "yesterday"},
    ],
    ids=lambda query: urlencode(query),
)
def test_api_answers_400_naming_the_bad_filter(alerts, auth_client, bad):
    response = auth_client("viewer").get(URL, bad)
    assert response.status_code == 400
    assert list(response.json()) == list(bad)


@pytest.mark.parametrize(
    "bad",
    [
        {"priority": "urgent"},
        {"category": "System"},
        {"source_type": "robot"},
        {"rule": "twelve"},
        {"range": "2d"},
        {"assignee": "bob"},
        {"ordering": "title"},
    ],
    ids=lambda query: urlencode(query),
)
def test_console_ignores_a_bad_filter_value(alerts, login, bad):
    client = login("viewer")
    assert console_ids(client, bad) == console_ids(client, {})


def test_console_ignores_only_the_unknown_items_of_a_list(alerts, auth_client, login):
    expected = api_ids(auth_client("viewer"), {"status": "open"})
    assert console_ids(login("viewer"), {"status": "open,closed"}) == expected


def test_new_rows_fragment_reads_the_filter_names_and_the_old_ones(alerts, login):
    client = login("viewer")
    for query in ("priority=low", "status=&priority=low"):
        fragment = client.get(f"{DASHBOARD}new-rows/?{query}&after=0").content.decode()
        assert alerts["sso"].reference in fragment and alerts["login"].reference not in fragment
    fragment = client.get(f"{DASHBOARD}new-rows/?status=&q={alerts['lockout'].reference}&after=0").content.decode()
    assert alerts["lockout"].reference in fragment and alerts["sso"].reference not in fragment


def test_api_ordering_by_priority_pages_through_every_alert_once(alerts, auth_client):
    client = auth_client("viewer")
    everything = api_ids(client, {"ordering": "-priority"})
    seen, url = [], f"{URL}?ordering=-priority&page_size=1"
    while url:
        body = client.get(url).json()
        seen += [item["id"] for item in body["results"]]
        url = body["next"]
    assert seen == everything
    priorities = dict(Alert.objects.values_list("pk", "priority"))
    assert [priorities[pk] for pk in seen] == ["high", "medium", "low", "low"]


def test_api_export_follows_the_list_ordering(alerts, auth_client):
    response = auth_client("viewer").get(f"{URL}/export", {"ordering": "priority"})
    references = [line.split(",")[0] for line in b"".join(response.streaming_content).decode().splitlines()[1:]]
    expected = [Alert.objects.get(pk=pk).reference for pk in api_ids(auth_client("viewer"), {"ordering": "priority"})]
    assert references == expected

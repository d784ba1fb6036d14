"""AuditEventFilter: one FilterSet behind `GET /api/v1/events` and the console's event log.

The same filter names give the same events in both; the console still reads the old names of
bookmarks (`type`, `q`); a bad value is a 400 naming the filter in the API and is ignored by the console.
"""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from events.models import AuditEvent

pytestmark = pytest.mark.django_db

API = "/api/v1/events"
LOG = "/insights/events/"


@pytest.fixture
def events() -> None:
    """Events of several types, services, outcomes and ages."""
    now = timezone.now()
    rows = [
        ("login-ok", "user_login_attempt", "directory", True, "alice@example.com", timedelta(minutes=5)),
        ("login-bad", "user_login_attempt", "directory", False, "bob@example.com", timedelta(hours=3)),
        ("sso-bad", "sso_auth", "sso", False, "carol@example.com", timedelta(days=2)),
        ("lockout", "user_lockout", "directory", None, "bob@example.com", timedelta(days=20)),
    ]
    for event_id, event_type, service, success, initiator, age in rows:
        AuditEvent.objects.create(
            event_id=event_id,
            event_type=event_type,
            service=service,
            success=success,
            initiator=initiator,
            timestamp=now - age,
            received_at=now,
            payload={"id": event_id, "event_type": event_type},
        )


def api_ids(client, query: dict) -> list[str]:
    response = client.get(API, query)
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["results"]]


def console_ids(client, query: dict | str) -> list[str]:
    """The events the log lists, by the "Create rule from this event" link an admin sees on each."""
    response = client.get(f"{LOG}?{query if isinstance(query, str) else urlencode(query)}")
    assert response.status_code == 200
    return re.findall(r"from_event=([^\"&]+)\"", response.content.decode())


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"event_type": "user_login_attempt"},
        {"service": "sso"},
        {"success": "false"},
        {"success": "true"},
        {"range": "24h"},
        {"range": "7d"},
        {"search": "bob@"},
        {"search": "lockout"},
        {"search": "sso-bad"},
        {"event_type": "user_login_attempt", "success": "false"},
    ],
    ids=lambda query: urlencode(query) or "no-filter",
)
def test_console_and_api_give_the_same_events_for_the_same_filter(events, auth_client, login, query):
    expected = api_ids(auth_client("viewer"), query)
    assert expected, "the query should find something"
    assert console_ids(login("admin"), query) == expected


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("type=user_login_attempt", "event_type=user_login_attempt"),
        ("q=bob%40", "search=bob%40"),
        ("type=user_login_attempt&q=login-bad", "event_type=user_login_attempt&search=login-bad"),
    ],
)
def test_console_still_reads_the_old_query_names_of_bookmarks(events, login, old, new):
    client = login("admin")
    assert console_ids(client, old) == console_ids(client, new)
    assert console_ids(client, new)


def test_console_form_uses_the_filter_names(events, login):
    page = login("viewer").get(LOG, {"type": "sso_auth", "q": "carol"}).content.decode()
    assert re.search(r'<select name="event_type">.*<option value="sso_auth" selected>', page, re.S)
    assert 'name="search" value="carol"' in page


def test_older_link_keeps_the_filters_by_their_names(events, login):
    now = timezone.now()
    AuditEvent.objects.bulk_create(
        AuditEvent(
            event_id=f"many-{n}",
            event_type="user_login_attempt",
            service="directory",
            timestamp=now - timedelta(seconds=n),
            received_at=now,
            payload={},
        )
        for n in range(60)
    )
    page = login("viewer").get(LOG, {"type": "user_login_attempt", "service": "directory"}).content.decode()
    older = re.search(r'<a class="button" href="\?([^"]+)">Older', page)[1].replace("&amp;", "&")
    assert older.startswith("event_type=user_login_attempt&service=directory&before_ts=")
    assert len(console_ids(login("admin"), older)) == 12  # 60 + 2 login events, 50 a page


@pytest.mark.parametrize(
    "bad", [{"since": "yesterday"}, {"until": "2025-13-01T00:00:00Z"}, {"range": "2d"}], ids=lambda q: urlencode(q)
)
def test_api_answers_400_naming_the_bad_filter(events, auth_client, bad):
    response = auth_client("viewer").get(API, bad)
    assert response.status_code == 400
    assert list(response.json()) == list(bad)


@pytest.mark.parametrize(
    "bad",
    [{"since": "yesterday"}, {"range": "2d"}, {"success": "maybe"}, {"before_ts": "2025-13-01T00:00:00Z"}],
    ids=lambda q: urlencode(q),
)
def test_console_ignores_a_bad_filter_value(events, login, bad):
    client = login("admin")
    assert console_ids(client, {**bad, "before_id": "1"}) == console_ids(client, {})

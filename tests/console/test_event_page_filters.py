"""The console's event log answers the API's filter names (`GET /api/v1/events`: `event_type`, `service`,
`since`, `until`, `search`, and the `type` / `q` spellings), and shows every filter a link applied."""

from __future__ import annotations

import orjson
import pytest

from tests.factories import make_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def events_page(client, make_user, auth_client):
    events = [
        make_event(id="login-old", timestamp="2025-03-01T08:00:00Z"),
        make_event(id="login-new", timestamp="2025-03-02T08:00:00Z"),
        make_event(id="sso-new", event_type="sso_auth", service="sso", timestamp="2025-03-02T09:00:00Z"),
        make_event(id="ldap-new", event_type="ldap_bind", service="ldap", timestamp="2025-03-02T10:00:00Z"),
    ]
    response = auth_client("admin").post("/api/v1/events", data=orjson.dumps(events), content_type="application/json")
    assert response.status_code == 202
    client.force_login(make_user("viewer"))
    return lambda query: client.get(f"/insights/events/?{query}").content.decode()


def shown(page: str) -> set[str]:
    return {event_id for event_id in ("login-old", "login-new", "sso-new", "ldap-new") if f"{event_id}" in page}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("event_type=sso_auth", {"sso-new"}),
        ("type=sso_auth", {"sso-new"}),
        ("event_type=sso_auth,ldap_bind", {"sso-new", "ldap-new"}),
        ("service=ldap", {"ldap-new"}),
        ("since=2025-03-02T00:00:00Z&event_type=user_login_attempt", {"login-new"}),
        ("until=2025-03-02T00:00:00Z", {"login-old"}),
        ("search=ldap-new", {"ldap-new"}),
        ("q=ldap-new", {"ldap-new"}),
    ],
)
def test_the_events_page_accepts_the_apis_filter_names(events_page, query, expected):
    assert shown(events_page(query)) == expected


def test_a_type_list_from_a_link_stays_selected_in_the_form(events_page):
    page = events_page("event_type=sso_auth,ldap_bind")
    assert '<option value="sso_auth,ldap_bind" selected>' in page


def test_since_and_until_from_a_link_are_shown_and_kept_by_apply(events_page):
    page = events_page("since=2025-03-02T00:00:00Z&until=2025-03-03T00:00:00Z")
    assert "Also filtered: since 2025-03-02T00:00:00Z, until 2025-03-03T00:00:00Z" in page
    assert '<input type="hidden" name="since" value="2025-03-02T00:00:00Z">' in page
    assert '<input type="hidden" name="until" value="2025-03-03T00:00:00Z">' in page

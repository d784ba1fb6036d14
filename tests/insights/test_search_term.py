"""search_term: and / or / not of field-value maps, dotted names, lists as any-of (api.md section 9)."""

from __future__ import annotations

import pytest

from tests.insights.conftest import ids, query

pytestmark = pytest.mark.django_db


@pytest.fixture
def logins(store, event):
    store(
        event(1, success=True, initiated_by={"type": "user", "username": "alice"}, geoip={"country_code": "DE"}),
        event(2, success=False, initiated_by={"type": "user", "username": "bob"}, geoip={"country_code": "US"}),
        event(3, event_type="admin_login_attempt", success=False, initiated_by={"type": "admin", "username": "root"}),
        event(4, event_type="sso_auth", service="sso", success=True, initiated_by={"type": "user", "username": "bob"}),
    )


def search(client, search_term):
    response = client.post("/events", query(search_term=search_term))
    assert response.status_code == 200, response.content
    return sorted(ids(response))


def test_and_requires_every_pair(viewer, logins):
    assert search(viewer, {"and": {"event_type": "user_login_attempt", "success": False}}) == ["evt-000002"]


def test_or_requires_one_pair(viewer, logins):
    assert search(viewer, {"or": {"event_type": "sso_auth", "initiated_by.username": "alice"}}) == [
        "evt-000001",
        "evt-000004",
    ]


def test_not_excludes_every_pair_and_keeps_events_without_the_field(viewer, logins):
    assert search(viewer, {"not": {"geoip.country_code": "US", "service": "sso"}}) == ["evt-000001", "evt-000003"]


def test_dotted_names_reach_into_objects(viewer, logins):
    assert search(viewer, {"and": {"initiated_by.username": "bob"}}) == ["evt-000002", "evt-000004"]


def test_a_list_value_means_any_of_them(viewer, logins):
    assert search(viewer, {"and": {"initiated_by.username": ["alice", "root"]}}) == ["evt-000001", "evt-000003"]


def test_conjunctions_nest(viewer, logins):
    term = {"and": {"success": False, "or": {"initiated_by.type": "admin", "geoip.country_code": "US"}}}
    assert search(viewer, term) == ["evt-000002", "evt-000003"]


def test_not_nested_inside_and(viewer, logins):
    term = {"and": {"initiated_by.type": "user", "not": {"initiated_by.username": "bob"}}}
    assert search(viewer, term) == ["evt-000001"]


def test_top_level_conjunctions_all_apply(viewer, logins):
    term = {"and": {"success": False}, "not": {"event_type": "admin_login_attempt"}}
    assert search(viewer, term) == ["evt-000002"]


def test_empty_conjunctions_ask_for_nothing(viewer, logins):
    # The vendor's own code samples send {"and": {}, "not": {}, "or": {}}.
    assert len(search(viewer, {"and": {}, "not": {}, "or": {}})) == 4


def test_a_string_true_or_false_matches_the_boolean_as_the_vendor_coerces(viewer, logins):
    assert search(viewer, {"and": {"success": "false"}}) == ["evt-000002", "evt-000003"]


def test_values_compare_as_json_so_a_number_is_not_its_string(viewer, store, event):
    store(event(1, attempts=3), event(2, attempts="3"))
    assert search(viewer, {"and": {"attempts": 3}}) == ["evt-000001"]


def test_search_term_filters_count_too(viewer, logins):
    body = query(search_term={"and": {"initiated_by.username": "bob"}})
    assert viewer.post("/events/count", body).json() == {"count": 2}

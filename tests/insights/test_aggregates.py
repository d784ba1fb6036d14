"""/events/count, /events/distinct and /events/interval, computed in SQL (api.md section 9)."""

from __future__ import annotations

import pytest

from tests.insights.conftest import query

pytestmark = pytest.mark.django_db


@pytest.fixture
def day(store, event):
    store(
        event(1, timestamp="2025-03-02T09:00:00Z", event_type="user_login_attempt", geoip={"country_code": "DE"}),
        event(2, timestamp="2025-03-02T09:59:59.999Z", event_type="user_login_attempt", success=True, geoip=...),
        event(3, timestamp="2025-03-02T10:30:00Z", event_type="sso_auth", service="sso", geoip=...),
        event(4, timestamp="2025-03-02T13:15:00Z", event_type="user_login_attempt", geoip={"country_code": "US"}),
        event(5, timestamp="2025-03-03T02:00:00Z", event_type="admin_login_attempt", organization="org-a", geoip=...),
    )


def test_count_counts_the_matching_events(viewer, day):
    assert viewer.post("/events/count", query()).json() == {"count": 5}
    assert viewer.post("/events/count", query(service=["sso"])).json() == {"count": 1}
    assert viewer.post("/events/count", query(end_time="2025-03-02T10:00:00Z")).json() == {"count": 2}


def test_count_honours_x_org_id(viewer, day):
    assert viewer.post("/events/count", query(), **{"x-org-id": "org-a"}).json() == {"count": 1}


def test_distinct_buckets_the_values_most_frequent_first(viewer, day):
    response = viewer.post("/events/distinct", query(field="event_type"))
    assert response.status_code == 200
    assert response.json() == {
        "buckets": [
            {"key": "user_login_attempt", "doc_count": 3},
            {"key": "admin_login_attempt", "doc_count": 1},
            {"key": "sso_auth", "doc_count": 1},
        ],
        "doc_count_error_upper_bound": 0,
        "sum_other_doc_count": 0,
    }


def test_distinct_on_a_dotted_payload_field_leaves_out_events_without_it(viewer, day):
    buckets = viewer.post("/events/distinct", query(field="geoip.country_code")).json()["buckets"]
    assert buckets == [{"key": "DE", "doc_count": 1}, {"key": "US", "doc_count": 1}]


def test_distinct_keys_of_booleans_are_their_json_spelling(viewer, day):
    buckets = viewer.post("/events/distinct", query(field="success")).json()["buckets"]
    assert buckets == [{"key": "false", "doc_count": 4}, {"key": "true", "doc_count": 1}]


def test_distinct_applies_the_search_term(viewer, day):
    body = query(field="event_type", search_term={"not": {"event_type": "user_login_attempt"}})
    keys = [bucket["key"] for bucket in viewer.post("/events/distinct", body).json()["buckets"]]
    assert keys == ["admin_login_attempt", "sso_auth"]


def test_interval_counts_events_by_hour_with_epoch_ms_keys(viewer, day):
    body = query(interval_unit="h", interval_value="1", end_time="2025-03-03T00:00:00Z")
    assert viewer.post("/events/interval", body).json() == {
        "buckets": [
            {"key": 1740906000000, "key_as_string": "2025-03-02T09:00:00.000Z", "doc_count": 2},
            {"key": 1740909600000, "key_as_string": "2025-03-02T10:00:00.000Z", "doc_count": 1},
            {"key": 1740921300000 - 15 * 60_000, "key_as_string": "2025-03-02T13:00:00.000Z", "doc_count": 1},
        ]
    }


def test_interval_value_widens_the_buckets(viewer, day):
    body = query(interval_unit="h", interval_value="4")
    buckets = viewer.post("/events/interval", body).json()["buckets"]
    assert [(b["key_as_string"], b["doc_count"]) for b in buckets] == [
        ("2025-03-02T08:00:00.000Z", 3),
        ("2025-03-02T12:00:00.000Z", 1),
        ("2025-03-03T00:00:00.000Z", 1),
    ]


def test_interval_value_defaults_to_one(viewer, day):
    buckets = viewer.post("/events/interval", query(interval_unit="d")).json()["buckets"]
    assert [(b["key_as_string"], b["doc_count"]) for b in buckets] == [
        ("2025-03-02T00:00:00.000Z", 4),
        ("2025-03-03T00:00:00.000Z", 1),
    ]


def test_interval_days_start_at_midnight_of_the_timezone(viewer, day):
    buckets = viewer.post("/events/interval", query(interval_unit="d", timezone="-0500")).json()["buckets"]
    # 2025-03-03T02:00Z is 21:00 on 2025-03-02 in UTC-5: every event falls on that local day.
    assert buckets == [{"key": 1740891600000, "key_as_string": "2025-03-02T00:00:00.000-05:00", "doc_count": 5}]


def test_interval_weeks_start_on_monday(viewer, day):
    buckets = viewer.post("/events/interval", query(interval_unit="w")).json()["buckets"]
    # 2025-03-02 is a Sunday, 2025-03-03 a Monday.
    assert [(b["key_as_string"], b["doc_count"]) for b in buckets] == [
        ("2025-02-24T00:00:00.000Z", 4),
        ("2025-03-03T00:00:00.000Z", 1),
    ]


def test_interval_by_minutes_and_seconds(viewer, day):
    body = query(interval_unit="m", interval_value="30", end_time="2025-03-02T11:00:00Z")
    buckets = viewer.post("/events/interval", body).json()["buckets"]
    assert [(b["key_as_string"], b["doc_count"]) for b in buckets] == [
        ("2025-03-02T09:00:00.000Z", 1),
        ("2025-03-02T09:30:00.000Z", 1),
        ("2025-03-02T10:30:00.000Z", 1),
    ]
    body = query(interval_unit="s", end_time="2025-03-02T10:00:00Z")
    keys = [b["key_as_string"] for b in viewer.post("/events/interval", body).json()["buckets"]]
    assert keys == ["2025-03-02T09:00:00.000Z", "2025-03-02T09:59:59.000Z"]

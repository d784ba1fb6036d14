"""POST /insights/directory/v1/events: filters, sort, projection and headers (api.md section 9)."""

from __future__ import annotations

import orjson
import pytest

from tests.insights.conftest import ids, query

pytestmark = pytest.mark.django_db


def test_events_answer_the_stored_events_oldest_first_with_the_paging_headers(viewer, store, event):
    store(
        event(2, timestamp="2025-03-02T10:00:00Z"),
        event(1, timestamp="2025-03-02T09:00:00Z", extra={"kept": [1, "as sent"]}),
    )
    response = viewer.post("/events", query())
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = orjson.loads(response.content)
    assert [item["id"] for item in body] == ["evt-000001", "evt-000002"]
    assert body[0]["extra"] == {"kept": [1, "as sent"]}
    assert response["X-Result-Count"] == "2"
    assert response["X-Limit"] == "1000"
    assert response["X-Sort"] == "ASC"
    assert len(orjson.loads(response["X-Search_after"])) == 2
    assert response["X-Request-Id"]


def test_paths_answer_with_and_without_a_trailing_slash(viewer, store, event):
    store(event(1))
    assert viewer.post("/events/", query()).status_code == 200
    assert viewer.post("/events/count/", query()).json() == {"count": 1}


def test_sort_desc_in_any_case_answers_newest_first(viewer, store, event):
    store(event(1, timestamp="2025-03-02T09:00:00Z"), event(2, timestamp="2025-03-02T10:00:00Z"))
    response = viewer.post("/events", query(sort="desc"))
    assert ids(response) == ["evt-000002", "evt-000001"]
    assert response["X-Sort"] == "DESC"


@pytest.mark.parametrize("sort", ["sideways", 7, None, ""])
def test_any_other_sort_means_ascending(viewer, store, event, sort):
    store(event(1, timestamp="2025-03-02T09:00:00Z"), event(2, timestamp="2025-03-02T10:00:00Z"))
    response = viewer.post("/events", query(sort=sort))
    assert ids(response) == ["evt-000001", "evt-000002"]
    assert response["X-Sort"] == "ASC"


def test_start_time_is_inclusive_and_end_time_exclusive(viewer, store, event):
    store(
        event(1, timestamp="2025-03-02T08:59:59.999Z"),
        event(2, timestamp="2025-03-02T09:00:00Z"),
        event(3, timestamp="2025-03-02T09:59:59.999999Z"),
        event(4, timestamp="2025-03-02T10:00:00Z"),
    )
    response = viewer.post("/events", query(start_time="2025-03-02T09:00:00Z", end_time="2025-03-02T10:00:00Z"))
    assert ids(response) == ["evt-000002", "evt-000003"]


def test_service_list_keeps_only_those_services(viewer, store, event):
    store(event(1, service="directory"), event(2, service="sso"), event(3, service="radius"))
    response = viewer.post("/events", query(service=["sso", "radius"]))
    assert sorted(ids(response)) == ["evt-000002", "evt-000003"]


def test_limit_caps_the_page(viewer, store, event):
    store(*(event(n, timestamp=f"2025-03-02T09:00:0{n}Z") for n in range(5)))
    response = viewer.post("/events", query(limit=2))
    assert ids(response) == ["evt-000000", "evt-000001"]
    assert response["X-Limit"] == "2"
    assert response["X-Result-Count"] == "2"


@pytest.mark.parametrize("limit", [0, -5, 1.5, "10", True, 10_001, None])
def test_nonsensical_limit_returns_the_default_row_count(viewer, store, event, limit):
    store(*(event(n) for n in range(1_001)))
    response = viewer.post("/events", query(limit=limit))
    assert response.status_code == 200
    assert response["X-Limit"] == "1000"
    assert len(orjson.loads(response.content)) == 1_000


def test_fields_project_only_those_keys_dotted_paths_keeping_their_objects(viewer, store, event):
    store(event(1, initiated_by={"id": "u1", "type": "user", "username": "bob"}))
    response = viewer.post("/events", query(fields=["event_type", "initiated_by.username", "absent.key"]))
    assert orjson.loads(response.content) == [{"event_type": "user_login_attempt", "initiated_by": {"username": "bob"}}]
    assert len(orjson.loads(response["X-Search_after"])) == 2


def test_x_org_id_keeps_events_of_those_organizations(viewer, store, event):
    store(event(1, organization="org-a"), event(2, organization="org-b"), event(3), event(4, organization="org-c"))
    assert ids(viewer.post("/events", query(), **{"x-org-id": "org-a"})) == ["evt-000001"]
    assert sorted(ids(viewer.post("/events", query(), **{"x-org-id": "org-a, org-c"}))) == ["evt-000001", "evt-000004"]


def test_an_empty_page_answers_an_empty_array_and_the_cursor_it_was_sent(viewer):
    response = viewer.post("/events", query())
    assert response.content == b"[]"
    assert response["X-Result-Count"] == "0"
    assert response["X-Search_after"] == "[]"


def test_body_is_read_as_json_whatever_the_content_type(viewer, store, event):
    # curl -d without -H 'Content-Type: application/json' sends application/x-www-form-urlencoded.
    store(event(1))
    response = viewer.client.post(
        "/insights/directory/v1/events/count",
        data=orjson.dumps(query()),
        content_type="application/x-www-form-urlencoded",
        headers={"x-api-key": viewer.key},
    )
    assert response.json() == {"count": 1}

"""Paging with search_after: every event exactly once, in order, even when thousands share a timestamp."""

from __future__ import annotations

import orjson
import pytest

from tests.insights.conftest import query

pytestmark = pytest.mark.django_db

SHARED = "2025-03-02T09:00:00Z"


@pytest.fixture
def crowd(store, event):
    """2,500 events at one instant between one earlier and one later event."""
    store(event(0, timestamp="2025-03-02T08:00:00Z"))
    for start in range(1, 2_501, 500):
        store(*(event(n, timestamp=SHARED) for n in range(start, start + 500)))
    store(event(2_501, timestamp="2025-03-02T10:00:00Z"))


def page_through(client, **fields):
    """Page as a source does (api.md section 8): repeat the body with search_after until a short page."""
    body = query(limit=1_000, **fields)
    seen: list[str] = []
    while True:
        response = client.post("/events", body)
        assert response.status_code == 200, response.content
        seen += [item["id"] for item in orjson.loads(response.content)]
        if int(response["X-Result-Count"]) < int(response["X-Limit"]):
            return seen
        body["search_after"] = orjson.loads(response["X-Search_after"])


def test_ascending_pages_return_every_event_once_across_a_shared_timestamp(viewer, crowd):
    seen = page_through(viewer)
    assert len(seen) == 2_502
    assert len(set(seen)) == 2_502
    assert seen[0] == "evt-000000" and seen[-1] == "evt-002501"


def test_descending_pages_return_every_event_once_across_a_shared_timestamp(viewer, crowd):
    seen = page_through(viewer, sort="DESC")
    assert len(seen) == 2_502
    assert len(set(seen)) == 2_502
    assert seen[0] == "evt-002501" and seen[-1] == "evt-000000"


def test_ascending_and_descending_pages_are_mirror_images(viewer, crowd):
    assert page_through(viewer) == list(reversed(page_through(viewer, sort="DESC")))


def test_search_after_header_is_a_json_array_of_strings(viewer, store, event):
    store(event(1))
    cursor = orjson.loads(viewer.post("/events", query())["X-Search_after"])
    assert isinstance(cursor, list) and len(cursor) == 2
    assert all(isinstance(part, str) for part in cursor)


def test_page_after_the_last_event_is_empty_and_keeps_the_cursor(viewer, store, event):
    store(event(1))
    cursor = orjson.loads(viewer.post("/events", query())["X-Search_after"])
    response = viewer.post("/events", query(search_after=cursor))
    assert response.content == b"[]"
    assert orjson.loads(response["X-Search_after"]) == cursor


def test_search_after_with_a_numeric_id_is_accepted(viewer, store, event):
    store(event(1), event(2, timestamp="2025-03-02T09:16:42Z"))
    stamp, pk = orjson.loads(viewer.post("/events", query(limit=1))["X-Search_after"])
    response = viewer.post("/events", query(search_after=[stamp, int(pk)]))
    assert [item["id"] for item in orjson.loads(response.content)] == ["evt-000002"]

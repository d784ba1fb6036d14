"""The vendor stand-in itself: paging, auth, organisations and every fault kind, over real HTTP."""

from __future__ import annotations

import http.client
import json
import socket
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.sources.standin import FAULT_KINDS, VendorStandin

START = datetime(2026, 12, 1, tzinfo=UTC)
QUERY = {"service": ["all"], "start_time": "2026-12-01T00:00:00Z", "sort": "ASC", "limit": 1000}


class Response:
    def __init__(self, status: int, headers: Any, raw: bytes) -> None:
        self.status, self.headers, self.raw = status, headers, raw

    def json(self) -> Any:
        return json.loads(self.raw)


def post(
    standin: VendorStandin,
    body: dict[str, Any] | None = None,
    *,
    key: str | None = "test-key",
    headers: dict[str, str] | None = None,
    path: str = "/insights/directory/v1/events",
    timeout: float = 5,
) -> Response:
    sent = {"Content-Type": "application/json", **(headers or {})}
    if key is not None:
        sent["x-api-key"] = key
    data = json.dumps(QUERY if body is None else body).encode()
    request = urllib.request.Request(standin.url + path, data=data, headers=sent, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return Response(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        return Response(error.code, error.headers, error.read())


def page_all(standin: VendorStandin, body: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
    """Page like the poller: same body plus search_after until X-Result-Count < X-Limit."""
    rows: list[dict[str, Any]] = []
    query, pages = dict(body), 0
    while True:
        response = post(standin, query)
        assert response.status == 200
        page = response.json()
        pages += 1
        assert int(response.headers["X-Result-Count"]) == len(page)
        rows += page
        if len(page) < int(response.headers["X-Limit"]):
            return rows, pages
        query = {**body, "search_after": json.loads(response.headers["X-Search_after"])}


@pytest.mark.parametrize("sort", ["ASC", "desc"])
def test_paging_returns_every_event_once_across_a_crowded_timestamp(vendor_standin: VendorStandin, sort: str) -> None:
    crowd = vendor_standin.make_events(2500, start=START + timedelta(minutes=5), same_timestamp=True)
    before = vendor_standin.make_events(7, start=START, step=timedelta(seconds=13))
    after = vendor_standin.make_events(5, start=START + timedelta(minutes=6), step=timedelta(milliseconds=1))
    vendor_standin.add(crowd + before + after)

    rows, pages = page_all(vendor_standin, {**QUERY, "sort": sort, "limit": 700})

    assert pages == 4
    ids = [row["id"] for row in rows]
    assert len(ids) == len(set(ids)) == 2512
    keys = [(row["timestamp"], row["id"]) for row in rows]
    assert keys == sorted(keys, reverse=sort == "desc")
    assert {r.body["limit"] for r in vendor_standin.requests} == {700}
    assert vendor_standin.requests[0].response_headers["X-Sort"] == sort.upper()


def test_filters_headers_and_count(vendor_standin: VendorStandin) -> None:
    vendor_standin.add(vendor_standin.make_events(10, start=START, step=timedelta(minutes=1)))
    vendor_standin.add(vendor_standin.make_events(3, start=START, service="sso"))

    response = post(vendor_standin, {**QUERY, "service": ["directory"], "start_time": "2026-12-01T00:02:00Z", "end_time": "2026-12-01T00:05:00.000Z"})  # fmt: skip
    rows = response.json()
    assert [row["timestamp"] for row in rows] == [f"2026-12-01T00:0{m}:00.000Z" for m in (2, 3, 4)]
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["X-Result-Count"] == "3" and response.headers["X-Limit"] == "1000"
    last_ms = int(datetime(2026, 12, 1, 0, 4, tzinfo=UTC).timestamp() * 1000)
    assert json.loads(response.headers["X-Search_after"]) == [last_ms, rows[-1]["id"]]
    assert len(response.headers["X-Request-Id"]) == 36

    assert post(vendor_standin, {**QUERY, "limit": "many"}).headers["X-Limit"] == "1000"
    assert post(vendor_standin, {**QUERY, "limit": 50_000}).headers["X-Limit"] == "10000"
    assert post(vendor_standin, {**QUERY, "limit": 1}).headers["X-Result-Count"] == "1"
    count = post(vendor_standin, {**QUERY, "service": ["sso"]}, path="/insights/directory/v1/events/count")
    assert count.json() == {"count": 3}


def test_empty_page_echoes_or_omits_search_after(vendor_standin: VendorStandin) -> None:
    assert "X-Search_after" not in post(vendor_standin).headers
    echoed = post(vendor_standin, {**QUERY, "search_after": [1, "x"]})
    assert echoed.json() == [] and json.loads(echoed.headers["X-Search_after"]) == [1, "x"]
    vendor_standin.empty_page_search_after = "omit"
    assert "X-Search_after" not in post(vendor_standin, {**QUERY, "search_after": [1, "x"]}).headers


@pytest.mark.parametrize(
    "body",
    [
        {"start_time": "2026-12-01T00:00:00Z"},
        {"service": "all", "start_time": "2026-12-01T00:00:00Z"},
        {"service": ["nope"], "start_time": "2026-12-01T00:00:00Z"},
        {"service": ["all"]},
        {"service": ["all"], "start_time": "yesterday"},
        {"service": ["all"], "start_time": "2026-12-02T00:00:00Z", "end_time": "2026-12-01T00:00:00Z"},
        {"service": ["all"], "start_time": "2026-12-01T00:00:00Z", "search_after": "abc"},
    ],
)
def test_bad_bodies_answer_400_with_a_message(vendor_standin: VendorStandin, body: dict[str, Any]) -> None:
    response = post(vendor_standin, body)
    assert response.status == 400 and response.json()["message"]


def test_wrong_or_rotated_key_gets_401(vendor_standin: VendorStandin) -> None:
    assert post(vendor_standin, key="wrong").status == 401
    assert post(vendor_standin, key=None).json() == {"message": "unauthorized"}
    vendor_standin.rotate_key("new-key")
    assert post(vendor_standin).status == 401
    assert post(vendor_standin, key="new-key").status == 200
    assert [r.status for r in vendor_standin.requests] == [401, 401, 401, 200]
    assert vendor_standin.requests[0].headers["x-api-key"] == "wrong"


def test_x_org_id_selects_the_organisation(vendor_standin: VendorStandin) -> None:
    own = vendor_standin.make_events(2, start=START)
    other = vendor_standin.make_events(3, start=START, org="org-b")
    vendor_standin.add(own)
    vendor_standin.add(other, org="org-b")

    assert [r["id"] for r in post(vendor_standin).json()] == [e["id"] for e in vendor_standin.events()]
    rows = post(vendor_standin, headers={"x-org-id": "org-b"}).json()
    assert {r["organization"] for r in rows} == {"org-b"} and len(rows) == 3
    assert post(vendor_standin, headers={"x-org-id": "org-c"}).json() == []
    assert vendor_standin.requests[1].headers["x-org-id"] == "org-b"


@pytest.mark.parametrize(
    ("kind", "status", "retry_after"),
    [
        ("429", 429, "1"),
        ("429_no_retry_after", 429, None),
        ("500", 500, None),
        ("502", 502, None),
        ("503", 503, None),
        ("401", 401, None),
        ("403", 403, None),
    ],
)
def test_status_faults_answer_once_then_recover(
    vendor_standin: VendorStandin, kind: str, status: int, retry_after: str | None
) -> None:
    vendor_standin.add(vendor_standin.make_events(3, start=START))
    vendor_standin.fail_next(kind)
    failed = post(vendor_standin)
    assert failed.status == status and failed.json()["message"]
    assert failed.headers.get("Retry-After") == retry_after
    assert len(post(vendor_standin).json()) == 3
    assert [(r.fault, r.status) for r in vendor_standin.requests] == [(kind, status), (None, 200)]


def test_faults_are_consumed_in_order_with_options(vendor_standin: VendorStandin) -> None:
    vendor_standin.fail_next("429", retry_after=30)
    vendor_standin.fail_next("503", times=2)
    vendor_standin.fail_next("500", path="count")
    statuses = [post(vendor_standin) for _ in range(4)]
    assert [r.status for r in statuses] == [429, 503, 503, 200]
    assert statuses[0].headers["Retry-After"] == "30"
    assert vendor_standin.pending_faults == ["500"]
    assert post(vendor_standin, path="/insights/directory/v1/events/count").status == 500
    with pytest.raises(ValueError, match="unknown fault"):
        vendor_standin.fail_next("418")


def test_slow_trips_a_client_timeout_and_drop_sends_nothing(vendor_standin: VendorStandin) -> None:
    vendor_standin.fail_next("slow", seconds=0.6)
    with pytest.raises((TimeoutError, socket.timeout, urllib.error.URLError)):
        post(vendor_standin, timeout=0.2)
    vendor_standin.fail_next("slow", seconds=0.2)
    began = time.monotonic()
    assert post(vendor_standin).status == 200 and time.monotonic() - began >= 0.2

    vendor_standin.fail_next("drop")
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError, urllib.error.URLError)):
        post(vendor_standin)
    assert vendor_standin.wait_for(3)[-1].status is None
    assert post(vendor_standin).status == 200


def test_repeat_page_answers_the_previous_page_again(vendor_standin: VendorStandin) -> None:
    vendor_standin.add(vendor_standin.make_events(5, start=START))
    first = post(vendor_standin, {**QUERY, "limit": 2})
    vendor_standin.fail_next("repeat_page")
    second = post(vendor_standin, {**QUERY, "limit": 2, "search_after": json.loads(first.headers["X-Search_after"])})
    assert second.raw == first.raw
    assert second.headers["X-Search_after"] == first.headers["X-Search_after"]
    assert second.headers["X-Request-Id"] == first.headers["X-Request-Id"]


def test_malformed_answers(vendor_standin: VendorStandin) -> None:
    vendor_standin.add(vendor_standin.make_events(3, start=START))
    vendor_standin.fail_next("non_json")
    html = post(vendor_standin)
    assert html.status == 200 and html.headers["Content-Type"] == "text/html" and html.raw.startswith(b"<html>")
    with pytest.raises(ValueError):
        html.json()
    vendor_standin.fail_next("not_array")
    assert post(vendor_standin).json() == {"oops": 1}
    vendor_standin.fail_next("missing_search_after")
    bare = post(vendor_standin)
    assert len(bare.json()) == 3 and "X-Search_after" not in bare.headers
    vendor_standin.fail_next("rows_without_id")
    stripped = post(vendor_standin)
    assert len(stripped.json()) == 3 and not any("id" in row for row in stripped.json())
    assert "X-Search_after" in stripped.headers


def test_invalid_rows_come_in_addition_to_the_real_ones(vendor_standin: VendorStandin) -> None:
    events = vendor_standin.make_events(4, start=START)
    vendor_standin.add(events)
    vendor_standin.fail_next("invalid_rows", count=3)
    response = post(vendor_standin)
    rows = response.json()
    assert response.headers["X-Result-Count"] == "7" == str(len(rows))
    real = [row for row in rows if not row["id"].startswith("invalid-")]
    assert [row["id"] for row in real] == [event["id"] for event in events]
    broken = [row for row in rows if row["id"].startswith("invalid-")]
    assert "timestamp" not in broken[0] and broken[1]["timestamp"] == "not a date" and "event_type" not in broken[2]
    assert json.loads(response.headers["X-Search_after"])[1] == events[-1]["id"]
    assert vendor_standin.requests[0].rows == 7


def test_late_events_arrive_after_a_given_request(vendor_standin: VendorStandin) -> None:
    vendor_standin.add(vendor_standin.make_events(4, start=START + timedelta(minutes=10)))
    late = vendor_standin.make_events(2, start=START + timedelta(minutes=1))
    vendor_standin.after_request(1, lambda standin: standin.add_late(late))
    assert len(post(vendor_standin).json()) == 4
    rows = post(vendor_standin).json()
    assert [row["id"] for row in rows[:2]] == [event["id"] for event in late] and len(rows) == 6


def test_every_fault_kind_is_documented_and_close_is_quick() -> None:
    assert set(FAULT_KINDS) == {
        "429", "429_no_retry_after", "500", "502", "503", "slow", "drop", "repeat_page", "401", "403",
        "non_json", "not_array", "missing_search_after", "invalid_rows", "rows_without_id",
    }  # fmt: skip
    standin = VendorStandin(api_key="k").start()
    standin.fail_next("slow", seconds=30)
    connection = http.client.HTTPConnection("127.0.0.1", standin.port, timeout=5)
    connection.request("POST", "/insights/directory/v1/events", body=json.dumps(QUERY), headers={"x-api-key": "k"})
    standin.wait_for(0)
    time.sleep(0.1)
    began = time.monotonic()
    standin.close()
    assert time.monotonic() - began < 2
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError, TimeoutError)):
        connection.getresponse()
    connection.close()


def test_one_keep_alive_connection_serves_every_page(vendor_standin: VendorStandin) -> None:
    vendor_standin.add(vendor_standin.make_events(5, start=START))
    connection = http.client.HTTPConnection("127.0.0.1", vendor_standin.port, timeout=5)
    query: dict[str, Any] = {**QUERY, "limit": 2}
    seen = []
    for _ in range(3):
        connection.request("POST", "/insights/directory/v1/events", body=json.dumps(query), headers={"x-api-key": "test-key"})  # fmt: skip
        response = connection.getresponse()
        seen += [row["id"] for row in json.loads(response.read())]
        query["search_after"] = json.loads(response.headers["X-Search_after"])
    connection.close()
    assert seen == [event["id"] for event in vendor_standin.events()]

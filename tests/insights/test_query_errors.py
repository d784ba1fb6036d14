"""The compatible API answers a body it cannot answer with 400 `{"message", "field"}`, as the vendor does."""

from __future__ import annotations

import pytest

from tests.insights.conftest import query

pytestmark = pytest.mark.django_db

ENDPOINTS = ["/events", "/events/count", "/events/distinct", "/events/interval"]
VALID_EXTRAS = {"/events/distinct": {"field": "event_type"}, "/events/interval": {"interval_unit": "h"}}


def post(client, path, **fields):
    return client.post(path, query(**{**VALID_EXTRAS.get(path, {}), **fields}))


def assert_400(response, field):
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["message"]
    assert body.get("field") == field, body


@pytest.mark.parametrize("path", ENDPOINTS)
def test_missing_service_is_a_400(viewer, path):
    assert_400(post(viewer, path, service=...), "service")


@pytest.mark.parametrize("service", [[], "all", ["directory", 3], {"all": True}])
def test_service_that_is_not_a_list_of_names_is_a_400(viewer, service):
    assert_400(post(viewer, "/events", service=service), "service")


def test_unknown_service_name_is_a_400_naming_it(viewer):
    response = post(viewer, "/events", service=["directory", "printers"])
    assert_400(response, "service")
    assert "printers" in response.json()["message"]


@pytest.mark.parametrize("path", ENDPOINTS)
def test_missing_start_time_is_a_400(viewer, path):
    assert_400(post(viewer, path, start_time=...), "start_time")


@pytest.mark.parametrize(
    "value", ["yesterday", "2025-03-02", "2025-03-02T09:00:00", 1740906000, "2025-02-30T00:00:00Z"]
)
def test_bad_start_time_is_a_400(viewer, value):
    assert_400(post(viewer, "/events", start_time=value), "start_time")


def test_bad_end_time_is_a_400(viewer):
    assert_400(post(viewer, "/events", end_time="soon"), "end_time")


@pytest.mark.parametrize("path", ENDPOINTS)
def test_end_time_before_start_time_is_a_400(viewer, path):
    assert_400(post(viewer, path, end_time="2025-02-28T23:59:59Z"), "end_time")


@pytest.mark.parametrize("name, value", [("q", "bob"), ("exact_match", "bob"), ("skip", 10)])
def test_unsupported_vendor_fields_are_a_400_naming_them(viewer, name, value):
    response = post(viewer, "/events", **{name: value})
    assert_400(response, name)
    assert name in response.json()["message"]


@pytest.mark.parametrize("name, value", [("q", ""), ("exact_match", None), ("skip", 0)])
def test_empty_unsupported_vendor_fields_ask_for_nothing(viewer, name, value):
    assert post(viewer, "/events", **{name: value}).status_code == 200


def test_unknown_fields_are_a_400_naming_them(viewer):
    response = post(viewer, "/events", page_size=10, colour="red")
    assert_400(response, "colour")
    assert "colour, page_size" in response.json()["message"]


def test_vendor_fields_of_another_endpoint_are_ignored(viewer):
    # The vendor's own sample for /events/distinct sends "sort"; /count's sends "fields".
    assert post(viewer, "/events/distinct", sort="DESC").status_code == 200
    assert post(viewer, "/events/count", sort="DESC", fields=["timestamp"], limit=5).status_code == 200


@pytest.mark.parametrize(
    "search_after",
    ["abc", ["2025-03-02T09:00:00Z"], ["2025-03-02T09:00:00Z", "x"], [1740906000000, "12"], [{}], ["soon", "1"]],
)
def test_malformed_search_after_is_a_400(viewer, search_after):
    assert_400(post(viewer, "/events", search_after=search_after), "search_after")


@pytest.mark.parametrize("fields", ["event_type", [""], ["a..b"], [3]])
def test_malformed_fields_are_a_400(viewer, fields):
    assert_400(post(viewer, "/events", fields=fields), "fields")


@pytest.mark.parametrize(
    "search_term",
    [
        "event_type:x",
        {"must": {"event_type": "x"}},
        {"and": ["event_type", "x"]},
        {"and": {"event_type": {"eq": "x"}}},
        {"and": {"event_type": []}},
        {"or": {"geoip..country": "DE"}},
    ],
)
def test_malformed_search_term_is_a_400(viewer, search_term):
    assert_400(post(viewer, "/events", search_term=search_term), "search_term")


@pytest.mark.parametrize("raw", [b"", b"{not json", b"[1, 2]", b'"all"'])
def test_a_body_that_is_not_a_json_object_is_a_400(viewer, raw):
    response = viewer.post("/events", None, raw=raw)
    assert response.status_code == 400
    assert response.json()["message"]


def test_distinct_without_field_is_a_400(viewer):
    assert_400(viewer.post("/events/distinct", query()), "field")


@pytest.mark.parametrize("unit", [None, "y", "H", 1])
def test_interval_with_a_bad_unit_is_a_400(viewer, unit):
    assert_400(viewer.post("/events/interval", query(interval_unit=unit)), "interval_unit")


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5", 2.5])
def test_interval_with_a_bad_value_is_a_400(viewer, value):
    assert_400(viewer.post("/events/interval", query(interval_unit="h", interval_value=value)), "interval_value")


@pytest.mark.parametrize("tz", ["America/New_York", "-5", "+2500", 5])
def test_interval_with_a_timezone_that_is_not_an_offset_is_a_400(viewer, tz):
    assert_400(viewer.post("/events/interval", query(interval_unit="h", timezone=tz)), "timezone")


def test_get_is_a_405_in_the_vendor_error_shape(viewer):
    response = viewer.client.get("/insights/directory/v1/events", headers={"x-api-key": viewer.key})
    assert response.status_code == 405
    assert "message" in response.json()


def test_unknown_path_under_the_compatible_api_is_a_404_in_the_vendor_error_shape(viewer):
    response = viewer.post("/reports", query())
    assert response.status_code == 404
    assert set(response.json()) == {"message"}

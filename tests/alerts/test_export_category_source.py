"""GET /api/v1/alerts/export: category and source columns, and the category / source_type filters."""

from __future__ import annotations

import csv
import io

import pytest

from tests.factories import make_event

pytestmark = pytest.mark.django_db

URL = "/api/v1/alerts/export"
# The columns before category and source were added, in their order.
EARLIER_COLUMNS = [
    "reference",
    "status",
    "priority",
    "title",
    "rule",
    "event_type",
    "event_count",
    "created_at",
    "first_seen_at",
    "last_seen_at",
    "acknowledged_at",
    "acknowledged_by",
    "resolved_at",
    "resolved_by",
    "assignee",
]
USER_LOGIN_SYSTEMS = make_event(
    event_type="user_login",
    service="systems",
    initiated_by={"type": "systemuser", "id": "61c0ffee0000000000000a01", "username": "jane.doe"},
    system={"id": "63aa00000000000000000101", "hostname": "JDOE-MBP"},
)
RADIUS_AUTH = make_event(
    event_type="radius_auth_attempt", service="radius", initiated_by={"type": "user", "username": "bob.smith"}
)


@pytest.fixture
def viewer(auth_client):
    return auth_client("viewer")


def records(response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.content
    assert response.streaming
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def header(response) -> list[str]:
    return next(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_export_header_adds_category_and_source_after_rule_keeping_the_other_columns_in_order(viewer):
    columns = header(viewer.get(URL))
    assert columns[columns.index("rule") + 1 : columns.index("rule") + 4] == ["category", "source_type", "source_id"]
    assert [column for column in columns if column not in ("category", "source_type", "source_id")] == EARLIER_COLUMNS


def test_export_row_carries_the_alerts_category_and_source(viewer, raise_alert):
    alert = raise_alert(USER_LOGIN_SYSTEMS)
    (record,) = records(viewer.get(URL))
    assert record["reference"] == alert.reference
    assert (record["category"], record["source_type"], record["source_id"]) == (
        "devices",
        "device",
        "63aa00000000000000000101",
    )


def test_export_filters_by_category(viewer, raise_alert):
    directory = raise_alert(make_event())
    radius = raise_alert(RADIUS_AUTH)
    raise_alert(make_event(service="sso"))
    exported = records(viewer.get(URL, {"category": "directory,radius"}))
    assert [record["reference"] for record in exported] == [radius.reference, directory.reference]


def test_export_filters_by_source_type(viewer, raise_alert):
    raise_alert(make_event())
    device = raise_alert(USER_LOGIN_SYSTEMS)
    exported = records(viewer.get(URL, {"source_type": "device"}))
    assert [record["reference"] for record in exported] == [device.reference]


def test_export_with_an_unknown_category_is_400(viewer):
    response = viewer.get(URL, {"category": "System"})
    assert response.status_code == 400
    assert "category" in response.json()


def test_export_neutralises_a_source_id_that_starts_like_a_formula(viewer, raise_alert):
    raise_alert(
        make_event(
            event_type="radius_auth_attempt", service="radius", initiated_by={"type": "user", "username": "=1+2"}
        )
    )
    (record,) = records(viewer.get(URL))
    assert (record["source_type"], record["source_id"]) == ("user", "'=1+2")

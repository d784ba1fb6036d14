"""GET /api/v1/event-types: the catalog the rule editor offers (api.md sections 3 and 4)."""

from __future__ import annotations

import pytest

from events.catalog import ASSOCIATION_ACTIONS, EVENT_TYPES
from events.models import EventCategory
from events.services import event_batch_ingest
from events.validation import Limits, events_validate
from tests.factories import make_event

pytestmark = pytest.mark.django_db

URL = "/api/v1/event-types"


@pytest.fixture
def viewer(auth_client):
    return auth_client("viewer")


def by_name(response) -> dict[str, dict]:
    assert response.status_code == 200, response.content
    return {entry["name"]: entry for entry in response.json()}


def test_list_holds_the_whole_catalog_with_its_fields(viewer):
    catalog = by_name(viewer.get(URL))
    assert set(catalog) >= {spec.name for spec in EVENT_TYPES}
    login = catalog["user_login_attempt"]
    assert set(login) == {"name", "description", "category", "known", "keys"}
    assert login["known"] is True
    assert login["category"] in EventCategory.values
    assert login["description"]
    assert "initiated_by.email" in login["keys"]


def test_list_is_a_plain_array_sorted_by_name(viewer):
    names = [entry["name"] for entry in viewer.get(URL).json()]
    assert names == sorted(names)


def test_association_change_lists_its_30_actions(viewer):
    entry = viewer.get(f"{URL}/association_change").json()
    assert len(entry["actions"]) == 30 == len(ASSOCIATION_ACTIONS)
    for action in entry["actions"]:
        assert set(action) == {"slug", "description", "filters"}
        assert action["filters"][0] == {
            "key": "association.op",
            "operator": "eq",
            "value": action["filters"][0]["value"],
        }
        assert action["filters"][0]["value"] in ("add", "remove", "update")
    assert len({action["slug"] for action in entry["actions"]}) == 30


def test_only_association_change_carries_actions(viewer):
    catalog = by_name(viewer.get(URL))
    assert [name for name, entry in catalog.items() if "actions" in entry] == ["association_change"]


def test_known_false_lists_types_first_seen_at_ingest(viewer):
    assert viewer.get(URL, {"known": "false"}).json() == []
    records, _ = events_validate([make_event(event_type="brand_new_thing")], limits=Limits.from_settings())
    event_batch_ingest(records=records)
    unknown = viewer.get(URL, {"known": "false"}).json()
    assert [entry["name"] for entry in unknown] == ["brand_new_thing"]
    assert unknown[0]["known"] is False
    assert unknown[0]["category"] == "other"


def test_known_true_leaves_out_unknown_types(viewer):
    records, _ = events_validate([make_event(event_type="brand_new_thing")], limits=Limits.from_settings())
    event_batch_ingest(records=records)
    assert "brand_new_thing" not in by_name(viewer.get(URL, {"known": "true"}))


def test_category_parameter_filters_the_catalog(viewer):
    entries = viewer.get(URL, {"category": "alerts"}).json()
    assert entries
    assert {entry["category"] for entry in entries} == {"alerts"}


def test_one_type_is_fetched_by_name(viewer):
    response = viewer.get(f"{URL}/user_login_attempt")
    assert response.status_code == 200
    assert response.json()["name"] == "user_login_attempt"
    assert viewer.get(f"{URL}/user_login_attempt/").status_code == 200


def test_unknown_type_name_answers_404(viewer):
    assert viewer.get(f"{URL}/no_such_type").status_code == 404


def test_ingest_role_may_not_read_the_catalog(ingest_client):
    assert ingest_client.get(URL).status_code == 403
    assert ingest_client.get(f"{URL}/user_login_attempt").status_code == 403


def test_anonymous_request_answers_401(api_client):
    assert api_client.get(URL).status_code == 401


def test_catalog_cannot_be_written_through_the_api(auth_client):
    response = auth_client("admin").post(URL, {"name": "x"}, format="json")
    assert response.status_code == 405


def test_catalog_list_takes_a_fixed_number_of_queries(viewer, django_assert_max_num_queries):
    with django_assert_max_num_queries(3):
        response = viewer.get(URL)
    assert len(response.json()) >= len(EVENT_TYPES)

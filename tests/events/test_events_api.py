"""GET /api/v1/events and /api/v1/events/{id}: reading the log (api.md section 3)."""

from __future__ import annotations

import pytest

from events.services import event_batch_ingest
from events.validation import Limits, events_validate
from tests.factories import make_event

pytestmark = pytest.mark.django_db

URL = "/api/v1/events"


def store(*events: dict) -> None:
    records, errors = events_validate(list(events), limits=Limits.from_settings())
    assert not errors, errors
    event_batch_ingest(records=records)


def at(minute: int) -> str:
    return f"2025-03-02T09:{minute:02d}:00Z"


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["results"]]


@pytest.fixture
def viewer(auth_client):
    return auth_client("viewer")


# -- ordering and pagination ----------------------------------------------------------


def test_events_are_listed_newest_first_by_timestamp_not_by_arrival(viewer):
    store(make_event(id="middle", timestamp=at(20)), make_event(id="oldest", timestamp=at(10)))
    store(make_event(id="newest", timestamp=at(30)))
    assert ids(viewer.get(URL)) == ["newest", "middle", "oldest"]


def test_next_link_walks_every_event_exactly_once(viewer):
    store(*[make_event(id=f"e{n}", timestamp=at(n)) for n in range(5)])
    seen: list[str] = []
    url: str | None = URL + "?page_size=2"
    while url:
        response = viewer.get(url)
        seen += ids(response)
        assert len(response.json()["results"]) <= 2
        url = response.json()["next"]
    assert seen == ["e4", "e3", "e2", "e1", "e0"]


def test_events_with_the_same_timestamp_are_each_paged_once(viewer):
    store(*[make_event(id=f"same{n}", timestamp=at(0)) for n in range(5)])
    seen: list[str] = []
    url: str | None = URL + "?page_size=2"
    while url:
        response = viewer.get(url)
        seen += ids(response)
        url = response.json()["next"]
    assert sorted(seen) == [f"same{n}" for n in range(5)]
    assert len(seen) == 5


def test_page_size_parameter_limits_the_page_and_offers_a_next_link(viewer):
    store(*[make_event(id=f"e{n}", timestamp=at(n)) for n in range(3)])
    response = viewer.get(URL, {"page_size": 1})
    assert ids(response) == ["e2"]
    assert response.json()["next"]
    assert response.json()["previous"] is None


def test_last_page_has_no_next_link(viewer):
    store(make_event(id="only"))
    assert viewer.get(URL).json()["next"] is None


# -- filters --------------------------------------------------------------------------


def test_event_type_filter_takes_a_comma_separated_list(viewer):
    store(
        make_event(id="login", event_type="user_login_attempt", timestamp=at(1)),
        make_event(id="create", event_type="user_create", timestamp=at(2)),
        make_event(id="other", event_type="group_create", timestamp=at(3)),
    )
    assert ids(viewer.get(URL, {"event_type": "user_login_attempt"})) == ["login"]
    assert ids(viewer.get(URL, {"event_type": "user_login_attempt,user_create"})) == ["create", "login"]


def test_service_filter_keeps_only_that_service(viewer):
    store(make_event(id="sso", service="sso", timestamp=at(1)), make_event(id="dir", service="directory"))
    assert ids(viewer.get(URL, {"service": "sso"})) == ["sso"]


def test_success_filter_separates_failures_from_successes(viewer):
    store(make_event(id="failed", success=False, timestamp=at(1)), make_event(id="ok", success=True, timestamp=at(2)))
    assert ids(viewer.get(URL, {"success": "false"})) == ["failed"]
    assert ids(viewer.get(URL, {"success": "true"})) == ["ok"]


def test_since_is_inclusive_and_until_is_exclusive(viewer):
    store(*[make_event(id=f"m{n}", timestamp=at(n)) for n in (10, 20, 30)])
    response = viewer.get(URL, {"since": "2025-03-02T09:20:00Z", "until": "2025-03-02T09:30:00Z"})
    assert ids(response) == ["m20"]


def test_since_accepts_an_offset_other_than_utc(viewer):
    store(make_event(id="early", timestamp=at(10)), make_event(id="late", timestamp=at(30)))
    assert ids(viewer.get(URL, {"since": "2025-03-02T11:20:00+02:00"})) == ["late"]


def test_invalid_since_answers_400(viewer):
    assert viewer.get(URL, {"since": "yesterday"}).status_code == 400


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("alice@example", ["by-alice"]),
        ("203.0.113", ["from-203"]),
        ("65f0cafe00000000000000ff", ["65f0cafe00000000000000ff"]),
    ],
    ids=["initiator", "client_ip", "event_id"],
)
def test_search_finds_events_by_initiator_ip_or_id(viewer, term, expected):
    store(
        make_event(id="by-alice", initiated_by={"email": "alice@example.com"}, timestamp=at(1)),
        make_event(id="from-203", client_ip="203.0.113.9", timestamp=at(2)),
        make_event(id="65f0cafe00000000000000ff", timestamp=at(3)),
        make_event(id="noise", timestamp=at(4)),
    )
    assert ids(viewer.get(URL, {"search": term})) == expected


# -- one event ------------------------------------------------------------------------


def test_event_is_fetched_by_its_own_id_with_the_payload_as_sent(viewer):
    event = make_event(id="evt-42", extra={"nested": [1, {"b": None}], "text": "ünïcode"})
    store(event)
    response = viewer.get(f"{URL}/evt-42")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == "evt-42"
    assert body["event"] == event
    assert body["event_type"] == "user_login_attempt"
    assert body["initiator"] == "bob.smith@example.com"
    assert body["client_ip"] == "198.51.100.77"
    assert body["success"] is False
    assert body["causal_depth"] == 0


def test_list_items_have_the_same_shape_as_the_detail(viewer):
    store(make_event(id="shape"))
    item = viewer.get(URL).json()["results"][0]
    assert item == viewer.get(f"{URL}/shape").json()
    assert set(item) == {
        "id",
        "event_type",
        "service",
        "timestamp",
        "initiator",
        "resource",
        "client_ip",
        "success",
        "received_at",
        "causal_depth",
        "event",
    }


def test_event_without_an_id_is_fetched_by_its_derived_id(viewer):
    event = make_event(id=...)
    records, _ = events_validate([event], limits=Limits.from_settings())
    event_batch_ingest(records=records)
    response = viewer.get(f"{URL}/{records[0].event_id}")
    assert response.status_code == 200
    assert response.json()["event"] == event


def test_unknown_event_id_answers_404(viewer):
    assert viewer.get(f"{URL}/no-such-event").status_code == 404


def test_detail_answers_with_a_trailing_slash(viewer):
    store(make_event(id="slash"))
    assert viewer.get(f"{URL}/slash/").status_code == 200
    assert viewer.get(f"{URL}/").status_code == 200


# -- who may read ---------------------------------------------------------------------


@pytest.mark.parametrize("role", ["viewer", "responder", "admin"])
def test_reader_roles_may_list_and_fetch_events(auth_client, role):
    store(make_event(id="readable"))
    client = auth_client(role)
    assert ids(client.get(URL)) == ["readable"]
    assert client.get(f"{URL}/readable").status_code == 200


def test_ingest_role_may_not_read_events(ingest_client):
    store(make_event(id="secret"))
    assert ingest_client.get(URL).status_code == 403
    assert ingest_client.get(f"{URL}/secret").status_code == 403


def test_anonymous_request_answers_401(api_client):
    store(make_event(id="secret"))
    assert api_client.get(URL).status_code == 401
    assert api_client.get(f"{URL}/secret").status_code == 401


def test_viewer_may_not_change_or_delete_an_event(viewer):
    store(make_event(id="fixed"))
    assert viewer.delete(f"{URL}/fixed").status_code in (403, 405)
    assert viewer.put(f"{URL}/fixed", {}, format="json").status_code in (403, 405)


# -- cost -----------------------------------------------------------------------------


@pytest.mark.parametrize("page_size", [1, 100])
def test_list_query_count_does_not_grow_with_the_page_size(viewer, django_assert_max_num_queries, page_size):
    store(*[make_event(id=f"e{n}", timestamp=f"2025-03-02T09:{n // 60:02d}:{n % 60:02d}Z") for n in range(100)])
    with django_assert_max_num_queries(3):
        response = viewer.get(URL, {"page_size": page_size, "event_type": "user_login_attempt"})
    assert len(response.json()["results"]) == page_size

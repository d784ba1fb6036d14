"""POST /api/v1/events: the contract of api.md section 3, good input first, then every class of bad input."""

from __future__ import annotations

import json

import orjson
import pytest
from django.test import override_settings

from events import hooks
from events.models import AuditEvent, EventType, PendingEvaluation
from events.validation import INT_RANGE_MESSAGE, Limits, derive_event_id, event_validate
from tests.factories import make_event

pytestmark = pytest.mark.django_db

URL = "/api/v1/events"


def post_json(client, body, content_type="application/json"):
    data = body if isinstance(body, (bytes, str)) else orjson.dumps(body)
    return client.post(URL, data=data, content_type=content_type)


def ndjson(*events) -> bytes:
    return b"\n".join(orjson.dumps(event) for event in events) + b"\n"


# -- accepted input -------------------------------------------------------------------


def test_single_event_object_is_accepted_and_stored_as_sent(ingest_client):
    event = make_event(extra={"nested": [1, {"a": None}]})
    response = post_json(ingest_client, event)
    assert response.status_code == 202
    assert response.json() == {"accepted": 1, "duplicates": 0, "ids": [event["id"]]}
    stored = AuditEvent.objects.get()
    assert stored.payload == event
    assert stored.event_type == "user_login_attempt"
    assert stored.initiator == "bob.smith@example.com"
    assert stored.client_ip == "198.51.100.77"
    assert stored.success is False
    assert stored.service == "directory"


def test_json_array_is_accepted_with_ids_in_request_order(ingest_client):
    events = [make_event(id=f"evt-{n}") for n in (3, 1, 2)]
    response = post_json(ingest_client, events)
    assert response.status_code == 202
    assert response.json()["ids"] == ["evt-3", "evt-1", "evt-2"]
    assert AuditEvent.objects.count() == 3


def test_ndjson_is_accepted_and_blank_lines_are_ignored(ingest_client):
    body = orjson.dumps(make_event(id="a")) + b"\n\n" + orjson.dumps(make_event(id="b")) + b"\n"
    response = post_json(ingest_client, body, "application/x-ndjson")
    assert response.status_code == 202
    assert response.json()["accepted"] == 2


def test_duplicate_event_counts_as_duplicate_and_changes_nothing(ingest_client):
    post_json(ingest_client, make_event(id="dup", service="directory"))
    response = post_json(ingest_client, [make_event(id="dup", service="changed"), make_event(id="new")])
    assert response.json() == {"accepted": 1, "duplicates": 1, "ids": ["dup", "new"]}
    assert AuditEvent.objects.get(event_id="dup").service == "directory"


def test_same_id_twice_in_one_request_is_stored_once(ingest_client):
    response = post_json(ingest_client, [make_event(id="x"), make_event(id="x")])
    assert response.json() == {"accepted": 1, "duplicates": 1, "ids": ["x", "x"]}


def test_event_without_id_gets_the_sha256_of_its_canonical_json(ingest_client):
    event = make_event(id=...)
    response = post_json(ingest_client, event)
    expected = derive_event_id(event)
    assert response.json()["ids"] == [expected]
    assert len(expected) == 64
    assert AuditEvent.objects.get().event_id == expected


def test_retried_event_without_id_is_a_duplicate_even_with_other_key_order(ingest_client):
    event = make_event(id=...)
    post_json(ingest_client, event)
    reordered = dict(reversed(list(event.items())))
    response = post_json(ingest_client, reordered)
    assert response.json()["duplicates"] == 1


def test_unknown_well_formed_event_type_joins_the_catalog_as_unknown(ingest_client):
    post_json(ingest_client, make_event(event_type="brand_new_thing"))
    entry = EventType.objects.get(name="brand_new_thing")
    assert entry.known is False
    assert "initiated_by.email" in entry.keys


def test_known_event_type_stays_known_after_ingest(ingest_client):
    post_json(ingest_client, make_event())
    assert EventType.objects.get(name="user_login_attempt").known is True


def test_timestamp_with_nanoseconds_and_offset_is_accepted(ingest_client):
    response = post_json(ingest_client, make_event(timestamp="2023-06-15T14:21:10.34334445+02:00"))
    assert response.status_code == 202
    assert AuditEvent.objects.get().timestamp.isoformat() == "2023-06-15T12:21:10.343344+00:00"


def test_new_events_are_handed_to_listeners_after_commit(
    ingest_client, django_capture_on_commit_callbacks, evaluate_every_type
):
    heard: list[list[int]] = []
    hooks.ingest_listener_register(heard.append)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            post_json(ingest_client, [make_event(id="a"), make_event(id="b")])
        with django_capture_on_commit_callbacks(execute=True):
            post_json(ingest_client, [make_event(id="a")])
    finally:
        hooks.ingest_listener_unregister(heard.append)
    assert heard == [sorted(AuditEvent.objects.values_list("pk", flat=True))]


def test_events_no_rule_selects_are_stored_as_evaluated_and_cost_no_task(
    ingest_client, django_capture_on_commit_callbacks
):
    heard: list[list[int]] = []
    hooks.ingest_listener_register(heard.append)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            post_json(ingest_client, [make_event(id="a")])
    finally:
        hooks.ingest_listener_unregister(heard.append)
    assert heard == []
    assert not PendingEvaluation.objects.exists()


def test_admin_may_ingest_too(auth_client):
    assert post_json(auth_client("admin"), make_event()).status_code == 202


def test_path_answers_with_a_trailing_slash(ingest_client):
    response = ingest_client.post(URL + "/", data=orjson.dumps(make_event()), content_type="application/json")
    assert response.status_code == 202


# -- bad input: nothing is stored -----------------------------------------------------


def assert_rejected(response, status: int, *, field: str | None = None, index: int | None = None, text: str = ""):
    assert response.status_code == status, response.content
    errors = response.json()["errors"]
    assert any(
        (field is None or error["field"] == field)
        and (index is None or error["index"] == index)
        and text.lower() in error["message"].lower()
        for error in errors
    ), errors
    assert AuditEvent.objects.count() == 0


def test_malformed_json_answers_400_with_line_and_column(ingest_client):
    response = post_json(ingest_client, b'{"event_type": "x",\n  "timestamp": }')
    assert_rejected(response, 400, text="line 2, column")


def test_malformed_ndjson_line_answers_400_naming_the_line(ingest_client):
    body = orjson.dumps(make_event(id="a")) + b"\n{not json}\n"
    response = post_json(ingest_client, body, "application/x-ndjson")
    assert_rejected(response, 400, index=1, text="line 2")


def latin1(event: dict) -> bytes:
    return json.dumps(event, ensure_ascii=False, indent=1).encode("latin-1")


def test_latin1_event_answers_400_saying_the_body_is_not_utf8_and_where(ingest_client):
    body = latin1(make_event(id="a", name="José"))
    response = post_json(ingest_client, body)
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    line = body[: body.index(b"\xe9")].count(b"\n") + 1
    assert error["message"].startswith("The body is not UTF-8: byte 0xE9 at byte offset ")
    offset = body.index(b"\xe9")
    assert f"offset {offset} (line {line})" in error["message"]
    assert (error["index"], error["field"], error["line"]) == (None, None, line)


def test_latin1_event_in_an_array_answers_400_saying_the_body_is_not_utf8(ingest_client):
    body = b"[" + orjson.dumps(make_event(id="a")) + b",\n" + latin1(make_event(id="b", name="Zoë")) + b"]"
    offset = body.index(b"\xeb")
    assert_rejected(post_json(ingest_client, body), 400, text=f"not UTF-8: byte 0xEB at byte offset {offset}")


def test_latin1_ndjson_line_answers_400_naming_its_line_and_body_offset(ingest_client):
    second = orjson.dumps(make_event(id="b")).replace(b'"b"', b'"b", "name": "Jos\xe9"')
    body = ndjson(make_event(id="a")) + b"\n" + second + b"\n"
    offset = body.index(b"\xe9")
    response = post_json(ingest_client, body, "application/x-ndjson")
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["message"].startswith(f"Line 3 is not UTF-8: byte 0xE9 at byte offset {offset} (line 3)")
    assert (error["index"], error["line"]) == (1, 3)


def test_body_that_is_not_an_object_or_array_answers_400(ingest_client):
    assert_rejected(post_json(ingest_client, b'"hello"'), 400, text="got a string")


def test_array_element_that_is_not_an_object_answers_400_with_its_index(ingest_client):
    response = post_json(ingest_client, [make_event(id="a"), 42])
    assert_rejected(response, 400, index=1, text="must be a JSON object")


def test_empty_array_answers_400(ingest_client):
    assert_rejected(post_json(ingest_client, []), 400, text="no events")


def test_empty_body_answers_400(ingest_client):
    assert_rejected(post_json(ingest_client, b""), 400, text="empty")


def test_missing_event_type_answers_400(ingest_client):
    assert_rejected(post_json(ingest_client, make_event(event_type=...)), 400, field="event_type", text="required")


@pytest.mark.parametrize("bad", ["User_Login", "1login", "user-login", "", "a" * 101, 7])
def test_invalid_event_type_answers_400(ingest_client, bad):
    assert_rejected(post_json(ingest_client, make_event(event_type=bad)), 400, field="event_type", index=0)


def test_missing_timestamp_answers_400(ingest_client):
    assert_rejected(post_json(ingest_client, make_event(timestamp=...)), 400, field="timestamp", text="required")


@pytest.mark.parametrize(
    "bad", ["yesterday", "2025-03-02", "2025-03-02T09:16:41", "2025-13-02T09:16:41Z", 1709371001, None]
)
def test_invalid_timestamp_answers_400(ingest_client, bad):
    event = make_event(timestamp=bad)
    assert_rejected(post_json(ingest_client, event), 400, field="timestamp", index=0)


@pytest.mark.parametrize("bad", ["has space", "a" * 65, "", "semi;colon", 12345, ["x"]])
def test_invalid_id_answers_400(ingest_client, bad):
    assert_rejected(post_json(ingest_client, make_event(id=bad)), 400, field="id", index=0)


def test_id_with_a_trailing_newline_answers_400_naming_id(ingest_client):
    assert post_json(ingest_client, make_event(id="x")).status_code == 202
    response = post_json(ingest_client, make_event(id="x\n"))
    assert response.status_code == 400
    assert [(e["index"], e["field"]) for e in response.json()["errors"]] == [(0, "id")]
    assert list(AuditEvent.objects.values_list("event_id", flat=True)) == ["x"]


def test_event_type_with_a_trailing_newline_answers_400_naming_event_type(ingest_client):
    assert_rejected(
        post_json(ingest_client, make_event(event_type="user_login_attempt\n")), 400, field="event_type", index=0
    )
    assert not EventType.objects.filter(name="user_login_attempt\n").exists()


def test_timestamp_with_a_trailing_newline_answers_400_naming_timestamp(ingest_client):
    assert_rejected(post_json(ingest_client, make_event(timestamp="2025-03-02T09:14:03Z\n")), 400, field="timestamp")


def test_one_bad_event_in_a_batch_stores_none(ingest_client):
    events = [make_event(id="ok-1"), make_event(id="ok-2", timestamp="nope"), make_event(id="ok-3")]
    assert_rejected(post_json(ingest_client, events), 400, field="timestamp", index=1)


def test_every_bad_event_of_a_batch_is_reported(ingest_client):
    events = [make_event(id="a", timestamp="nope"), make_event(id="b", event_type=...)]
    response = post_json(ingest_client, events)
    assert [(e["index"], e["field"]) for e in response.json()["errors"]] == [(0, "timestamp"), (1, "event_type")]


def test_nul_character_answers_400_instead_of_failing_in_the_database(ingest_client):
    assert_rejected(post_json(ingest_client, make_event(message="a\u0000b")), 400, text="NUL")


BIG = 123456789012345678901234567890  # orjson alone would store 1.2345678901234568e+29


def test_integer_beyond_64_bits_answers_400_naming_its_path(ingest_client):
    events = [make_event(id="a"), make_event(id="b", details={"counts": [1, BIG]})]
    response = post_json(ingest_client, json.dumps(events))
    assert_rejected(response, 400, index=1, field="details.counts[1]", text="send it as a string")
    assert response.json()["errors"] == [{"index": 1, "field": "details.counts[1]", "message": INT_RANGE_MESSAGE}]


def test_negative_integer_beyond_64_bits_answers_400(ingest_client):
    assert_rejected(post_json(ingest_client, json.dumps(make_event(n=-(2**63) - 1))), 400, index=0, field="n")


def test_integer_beyond_64_bits_in_ndjson_answers_400_naming_the_line(ingest_client):
    body = ndjson(make_event(id="a")) + json.dumps(make_event(id="b", n=BIG)).encode() + b"\n"
    response = post_json(ingest_client, body, "application/x-ndjson")
    assert_rejected(response, 400, index=1, field="n", text="more than 64 bits")
    assert response.json()["errors"][0]["line"] == 2


def test_integers_at_the_64_bit_bounds_are_kept_exactly(ingest_client):
    event = make_event(low=-(2**63), high=2**64 - 1, nearly=1234567890123456789)
    assert post_json(ingest_client, json.dumps(event)).status_code == 202
    assert AuditEvent.objects.get().payload == event


def test_long_digit_strings_and_long_fractions_are_kept_as_sent(ingest_client):
    event = make_event(account=str(BIG), ratio=0.1234567890123456789012)
    assert post_json(ingest_client, json.dumps(event)).status_code == 202
    assert AuditEvent.objects.get().payload == event


def test_event_validate_reports_a_python_int_beyond_64_bits_instead_of_raising():
    limits = Limits(max_events=10, max_body_bytes=1 << 20, max_event_bytes=1 << 18, max_depth=32)
    errors = event_validate(make_event(n=BIG), index=3, limits=limits)
    assert [error.as_dict() for error in errors] == [{"index": 3, "field": "n", "message": INT_RANGE_MESSAGE}]


@override_settings(ALERTSITE_INGEST_MAX_EVENTS=3)
def test_too_many_events_answers_413(ingest_client):
    events = [make_event(id=f"e{n}") for n in range(4)]
    assert_rejected(post_json(ingest_client, events), 413, text="Too many events: 4")


@override_settings(ALERTSITE_INGEST_MAX_EVENTS=3)
def test_too_many_ndjson_lines_answers_413(ingest_client):
    body = ndjson(*[make_event(id=f"e{n}") for n in range(4)])
    assert_rejected(post_json(ingest_client, body, "application/x-ndjson"), 413, text="Too many events")


def test_more_than_1000_events_answers_413_by_default(ingest_client):
    events = [make_event(id=f"e{n}") for n in range(1001)]
    assert_rejected(post_json(ingest_client, events), 413, text="limit is 1000")


@override_settings(ALERTSITE_INGEST_MAX_BODY_BYTES=1000)
def test_too_large_body_answers_413(ingest_client):
    events = [make_event(id=f"e{n}") for n in range(10)]
    assert_rejected(post_json(ingest_client, events), 413, text="limit is 1,000 bytes")


@override_settings(ALERTSITE_INGEST_MAX_BODY_BYTES=1000)
@pytest.mark.parametrize("content_type", ["application/json", "application/x-ndjson"])
def test_too_large_body_has_null_index_and_field(ingest_client, content_type):
    body = ndjson(*[make_event(id=f"e{n}") for n in range(10)])
    response = post_json(ingest_client, body, content_type)
    assert response.status_code == 413
    assert response.json() == {
        "errors": [{"index": None, "field": None, "message": f"Body is {len(body):,} bytes; the limit is 1,000 bytes."}]
    }


def test_too_large_event_answers_413_naming_the_event(ingest_client):
    events = [make_event(id="small"), make_event(id="big", blob="x" * (256 * 1024))]
    assert_rejected(post_json(ingest_client, events), 413, index=1, text="limit is 262,144 bytes")


def test_too_deep_nesting_answers_413(ingest_client):
    deep: object = "leaf"
    for _ in range(40):
        deep = {"d": deep}
    assert_rejected(post_json(ingest_client, make_event(deep=deep)), 413, index=0, text="nested")


def test_nesting_at_the_limit_is_accepted(ingest_client):
    deep: object = 1
    for _ in range(31):  # the event object itself is level 1
        deep = {"d": deep}
    assert post_json(ingest_client, make_event(deep=deep)).status_code == 202


def test_wrong_content_type_answers_415(ingest_client):
    response = ingest_client.post(URL, data="event_type=x", content_type="text/plain")
    assert response.status_code == 415
    assert "text/plain" in response.json()["detail"]
    assert AuditEvent.objects.count() == 0


def test_unauthenticated_request_answers_401(api_client):
    response = post_json(api_client, make_event())
    assert response.status_code == 401
    assert AuditEvent.objects.count() == 0


def test_bad_token_answers_401(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert post_json(api_client, make_event()).status_code == 401


@pytest.mark.parametrize("role", ["viewer", "responder"])
def test_reader_roles_may_not_ingest(auth_client, role):
    response = post_json(auth_client(role), make_event())
    assert response.status_code == 403
    assert AuditEvent.objects.count() == 0

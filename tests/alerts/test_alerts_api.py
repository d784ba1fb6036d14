"""The alerts API (api.md section 6): list, filters, detail, lifecycle actions, notes, assignment,
bulk moves, summary, metrics, CSV export and who may do what."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from itertools import count

import orjson
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts.models import Alert, AlertNote, AlertTransition
from alerts.selectors import alert_summary
from alerts.services import alert_acknowledge, alert_assign, alert_resolve
from events.models import AuditEvent
from rules.services import rule_create
from tests.factories import make_event

pytestmark = pytest.mark.django_db

URL = "/api/v1/alerts"
FAILED_LOGINS = {
    "name": "Failed logins",
    "priority": "high",
    "conditions": [
        {"event_type": "user_login_attempt", "filters": [{"key": "success", "operator": "eq", "value": False}]}
    ],
}
TOTP_DISABLED = {
    "name": "TOTP disabled",
    "priority": "low",
    "conditions": [
        {"event_type": "admin_totp_disable", "filters": [{"key": "service", "operator": "eq", "value": "directory"}]}
    ],
}
_ids = count(1)


@pytest.fixture
def raise_alerts(ingest_client, django_capture_on_commit_callbacks):
    """Return a factory: ``raise_alerts(n, rule=..., email=...)`` raises n alerts the real way, oldest first."""
    rules = {}

    def make(n: int = 1, *, rule: dict = FAILED_LOGINS, email: str = "bob.smith@example.com") -> list[Alert]:
        if rule["name"] not in rules:
            rules[rule["name"]] = rule_create(data=rule, actor=None)
        event_type = rule["conditions"][0]["event_type"]
        events = [
            make_event(
                id=f"ev{next(_ids)}",
                event_type=event_type,
                initiated_by={"type": "user", "id": "61c0ffee", "email": email},
            )
            for _ in range(n)
        ]
        before = set(Alert.objects.values_list("pk", flat=True))
        with django_capture_on_commit_callbacks(execute=True):
            response = ingest_client.post("/api/v1/events", data=orjson.dumps(events), content_type="application/json")
        assert response.status_code == 202, response.content
        alerts = list(Alert.objects.exclude(pk__in=before).order_by("created_at", "pk"))
        assert len(alerts) == n
        return alerts

    make.rules = rules
    return make


@pytest.fixture
def admin(auth_client):
    return auth_client("admin")


@pytest.fixture
def responder(auth_client):
    return auth_client("responder")


@pytest.fixture
def viewer(auth_client):
    return auth_client("viewer")


def ids(response) -> list[int]:
    return [item["id"] for item in response.json()["results"]]


def csv_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


# -- list ---------------------------------------------------------------------------------------------


def test_list_shows_newest_first(viewer, raise_alerts):
    alerts = raise_alerts(3)
    response = viewer.get(URL)
    assert response.status_code == 200
    assert ids(response) == [a.pk for a in reversed(alerts)]


def test_list_items_follow_the_contract(viewer, raise_alerts):
    (alert,) = raise_alerts(1)
    item = viewer.get(URL).json()["results"][0]
    expected = {
        "id",
        "reference",
        "rule",
        "priority",
        "status",
        "title",
        "event_type",
        "event",
        "event_count",
        "group_key",
        "first_seen_at",
        "last_seen_at",
        "created_at",
        "acknowledged_at",
        "acknowledged_by",
        "resolved_at",
        "resolved_by",
        "assignee",
        "notes",
        "history",
    }
    assert expected <= set(item)
    assert (item["notes"], item["history"]) == ([], [])
    assert item["reference"] == alert.reference
    assert item["rule"] == {"id": alert.rule_id, "name": "Failed logins"}
    assert item["event"]["id"] == alert.event.event_id
    assert (item["status"], item["priority"], item["event_count"]) == ("open", "high", 1)


def test_list_items_have_the_shape_of_the_detail_with_notes_and_history(admin, raise_alerts):
    (alert,) = raise_alerts(1)
    admin.post(f"{URL}/{alert.pk}/notes", {"text": "Called the user"}, format="json")
    admin.post(f"{URL}/{alert.pk}/acknowledge", {"note": "On it"}, format="json")
    item = admin.get(URL).json()["results"][0]
    detail = admin.get(f"{URL}/{alert.pk}").json()
    assert set(detail) - set(item) == {"events"}  # the linked events are the detail's only addition
    assert item == {key: value for key, value in detail.items() if key != "events"}
    assert [note["text"] for note in item["notes"]] == ["Called the user"]
    assert item["notes"][0]["author"] == {"id": admin.user.pk, "username": admin.user.username}
    assert [(h["from_status"], h["to_status"], h["note"]) for h in item["history"]] == [
        ("open", "acknowledged", "On it")
    ]


def test_list_answers_with_and_without_a_trailing_slash(viewer, raise_alerts):
    raise_alerts(1)
    assert viewer.get(URL).status_code == viewer.get(URL + "/").status_code == 200


def test_list_pages_with_a_cursor_without_gaps_or_repeats(viewer, raise_alerts):
    alerts = raise_alerts(7)
    seen: list[int] = []
    response = viewer.get(URL, {"page_size": 3})
    pages = 0
    while True:
        body = response.json()
        assert set(body) >= {"next", "previous", "results"}
        assert "count" not in body
        seen += [item["id"] for item in body["results"]]
        pages += 1
        if not body["next"]:
            break
        response = viewer.get(body["next"])
    assert pages == 3
    assert seen == [a.pk for a in reversed(alerts)]


# -- filters ---------------------------------------------------------------------------------------


def test_status_filter_takes_a_comma_separated_list(viewer, raise_alerts):
    opened, acknowledged, resolved = raise_alerts(3)
    alert_acknowledge(alert=acknowledged, actor=None)
    alert_resolve(alert=resolved, actor=None)
    assert ids(viewer.get(URL, {"status": "open"})) == [opened.pk]
    assert ids(viewer.get(URL, {"status": "open,acknowledged"})) == [acknowledged.pk, opened.pk]
    assert ids(viewer.get(URL, {"status": "resolved"})) == [resolved.pk]


def test_empty_items_in_a_comma_list_are_ignored(viewer, raise_alerts):
    raise_alerts(1)
    assert viewer.get(URL, {"status": "open,"}).status_code == 200
    assert viewer.get(URL, {"status": ","}).status_code == 200


def test_acknowledge_with_a_list_for_a_body_is_a_400(responder, raise_alerts):
    (alert,) = raise_alerts(1)
    response = responder.post(f"{URL}/{alert.pk}/acknowledge", [], format="json")
    assert response.status_code == 400
    alert.refresh_from_db()
    assert alert.status == "open"


def test_unknown_status_is_a_400_naming_the_field(viewer, raise_alerts):
    raise_alerts(1)
    response = viewer.get(URL, {"status": "open,closed"})
    assert response.status_code == 400
    assert "status" in response.json()
    assert "closed" in str(response.json()["status"])


def test_priority_filter(viewer, raise_alerts):
    (high,) = raise_alerts(1)
    (low,) = raise_alerts(1, rule=TOTP_DISABLED)
    assert ids(viewer.get(URL, {"priority": "low"})) == [low.pk]
    assert ids(viewer.get(URL, {"priority": "high,low"})) == [low.pk, high.pk]
    assert viewer.get(URL, {"priority": "urgent"}).status_code == 400


def test_rule_filter(viewer, raise_alerts):
    raise_alerts(2)
    (low,) = raise_alerts(1, rule=TOTP_DISABLED)
    assert ids(viewer.get(URL, {"rule": low.rule_id})) == [low.pk]


def test_since_and_until_filter_on_creation_time(viewer, raise_alerts):
    old, middle, new = raise_alerts(3)
    now = timezone.now()
    Alert.objects.filter(pk=old.pk).update(created_at=now - timedelta(days=3))
    Alert.objects.filter(pk=middle.pk).update(created_at=now - timedelta(days=2))
    since = (now - timedelta(days=2, hours=1)).isoformat()
    until = (now - timedelta(days=1)).isoformat()
    assert ids(viewer.get(URL, {"since": since})) == [new.pk, middle.pk]
    assert ids(viewer.get(URL, {"until": until})) == [middle.pk, old.pk]
    assert ids(viewer.get(URL, {"since": since, "until": until})) == [middle.pk]


def test_assignee_filter_takes_an_id_me_or_none(auth_client, make_user, raise_alerts):
    rita = make_user("responder")
    other = make_user("responder")
    mine, theirs, nobodys = raise_alerts(3)
    alert_assign(alert=mine, assignee=rita, actor=None)
    alert_assign(alert=theirs, assignee=other, actor=None)
    client = auth_client(user=rita)
    assert ids(client.get(URL, {"assignee": rita.pk})) == [mine.pk]
    assert ids(client.get(URL, {"assignee": "me"})) == [mine.pk]
    assert ids(client.get(URL, {"assignee": "none"})) == [nobodys.pk]
    assert ids(client.get(URL, {"assignee": other.pk})) == [theirs.pk]


def test_unknown_assignee_is_a_400_naming_the_field(viewer, raise_alerts):
    raise_alerts(1)
    response = viewer.get(URL, {"assignee": "bob"})
    assert response.status_code == 400
    assert "assignee" in str(response.json())
    assert "'me' or 'none'" in str(response.json())


def test_search_finds_an_alert_by_reference(viewer, raise_alerts):
    alerts = raise_alerts(3)
    target = alerts[1]
    assert ids(viewer.get(URL, {"search": target.reference})) == [target.pk]
    assert ids(viewer.get(URL, {"search": target.reference.lower()})) == [target.pk]


def test_search_by_the_reference_number_alone_finds_the_alert(viewer, raise_alerts):
    alerts = raise_alerts(3)
    target = alerts[1]
    number = target.reference.removeprefix("ALR-")
    assert target.pk in ids(viewer.get(URL, {"search": number}))


def test_search_finds_alerts_by_title(viewer, raise_alerts):
    (bob,) = raise_alerts(1)
    (ana,) = raise_alerts(1, email="ana@example.com")
    assert ids(viewer.get(URL, {"search": "ana@example"})) == [ana.pk]
    assert ids(viewer.get(URL, {"search": "BOB.SMITH"})) == [bob.pk]


# -- detail ----------------------------------------------------------------------------------------


def test_detail_shows_notes_history_and_events(admin, raise_alerts):
    (alert,) = raise_alerts(1)
    assert admin.post(f"{URL}/{alert.pk}/notes", {"text": "Called the user"}, format="json").status_code == 201
    assert admin.post(f"{URL}/{alert.pk}/acknowledge", {"note": "On it"}, format="json").status_code == 200
    body = admin.get(f"{URL}/{alert.pk}").json()
    assert body["reference"] == alert.reference
    assert [note["text"] for note in body["notes"]] == ["Called the user"]
    assert body["notes"][0]["author"] == {"id": admin.user.pk, "username": admin.user.username}
    assert [(h["from_status"], h["to_status"], h["note"]) for h in body["history"]] == [
        ("open", "acknowledged", "On it")
    ]
    assert body["history"][0]["actor"] == {"id": admin.user.pk, "username": admin.user.username}
    assert [event["id"] for event in body["events"]] == [alert.event.event_id]
    assert body["acknowledged_by"] == {"id": admin.user.pk, "username": admin.user.username}


def test_unknown_alert_is_404(admin):
    assert admin.get(f"{URL}/999999").status_code == 404
    assert admin.post(f"{URL}/999999/acknowledge", {}, format="json").status_code == 404
    assert admin.post(f"{URL}/999999/notes", {"text": "x"}, format="json").status_code == 404


# -- lifecycle actions -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "action", "body", "after"),
    [
        ([], "acknowledge", {"note": "Checked with the user"}, "acknowledged"),
        ([], "acknowledge", {}, "acknowledged"),
        ([], "resolve", {"note": "False positive"}, "resolved"),
        (["acknowledge"], "resolve", {}, "resolved"),
        (["resolve"], "reopen", {"note": "Seen again"}, "open"),
        (["resolve"], "reopen", {}, "open"),
    ],
    ids=[
        "acknowledge-with-note",
        "acknowledge-without-note",
        "resolve-with-note",
        "resolve-acknowledged-without-note",
        "reopen-with-note",
        "reopen-without-note",
    ],
)
def test_lifecycle_action_moves_the_alert_and_records_it(responder, raise_alerts, before, action, body, after):
    (alert,) = raise_alerts(1)
    for step in before:
        assert responder.post(f"{URL}/{alert.pk}/{step}", {}, format="json").status_code == 200
    response = responder.post(f"{URL}/{alert.pk}/{action}", body, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == after
    alert.refresh_from_db()
    assert alert.status == after
    last = AlertTransition.objects.filter(alert=alert).last()
    assert (last.to_status, last.note, last.actor) == (after, body.get("note", ""), responder.user)
    assert response.json()["history"][-1]["note"] == body.get("note", "")


def test_action_without_a_body_is_accepted(responder, raise_alerts):
    (alert,) = raise_alerts(1)
    assert responder.post(f"{URL}/{alert.pk}/acknowledge").status_code == 200


@pytest.mark.parametrize(
    ("before", "action"),
    [(["acknowledge"], "acknowledge"), (["resolve"], "acknowledge"), (["acknowledge"], "reopen")],
    ids=["acknowledged-to-acknowledged", "resolved-to-acknowledged", "acknowledged-to-open"],
)
def test_illegal_move_is_409_with_a_message_and_changes_nothing(responder, raise_alerts, before, action):
    (alert,) = raise_alerts(1)
    for step in before:
        responder.post(f"{URL}/{alert.pk}/{step}", {}, format="json")
    alert.refresh_from_db()
    transitions = AlertTransition.objects.filter(alert=alert).count()
    response = responder.post(f"{URL}/{alert.pk}/{action}", {"note": "no"}, format="json")
    assert response.status_code == 409
    assert alert.reference in response.json()["detail"]
    status = alert.status
    alert.refresh_from_db()
    assert alert.status == status
    assert AlertTransition.objects.filter(alert=alert).count() == transitions


def test_reopening_into_a_group_that_has_an_unresolved_alert_is_409(responder, raise_alerts):
    grouped = {
        **FAILED_LOGINS,
        "name": "Grouped failed logins",
        "group_by": ["initiated_by.email"],
        "group_window_minutes": 60,
    }
    (first,) = raise_alerts(1, rule=grouped)
    alert_resolve(alert=first, actor=None)
    (second,) = raise_alerts(1, rule=grouped)  # the same user again: a new alert collects for the group
    assert second.group_key == first.group_key
    response = responder.post(f"{URL}/{first.pk}/reopen", {}, format="json")
    assert response.status_code == 409
    assert second.reference in response.json()["detail"]  # says which alert to go to instead
    first.refresh_from_db()
    assert first.status == "resolved"


def test_remark_over_4000_characters_is_400(responder, raise_alerts):
    (alert,) = raise_alerts(1)
    response = responder.post(f"{URL}/{alert.pk}/acknowledge", {"note": "x" * 4001}, format="json")
    assert response.status_code == 400
    assert "note" in response.json()
    alert.refresh_from_db()
    assert alert.status == "open"


# -- notes ---------------------------------------------------------------------------------------------


def test_note_is_added_with_its_author(responder, raise_alerts):
    (alert,) = raise_alerts(1)
    response = responder.post(f"{URL}/{alert.pk}/notes", {"text": "Reached the user by phone"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["text"] == "Reached the user by phone"
    assert body["author"] == {"id": responder.user.pk, "username": responder.user.username}
    assert AlertNote.objects.get(alert=alert).text == "Reached the user by phone"


def test_note_is_recorded_as_an_alert_updated_event_by_its_author(responder, raise_alerts):
    (alert,) = raise_alerts(1)
    responder.post(f"{URL}/{alert.pk}/notes", {"text": "Reached the user"}, format="json")
    payload = AuditEvent.objects.get(event_type="alert_updated").payload
    assert payload["resource"]["id"] == str(alert.pk)
    assert payload["changes"] == [{"field": "Note", "from": "", "to": "Reached the user"}]
    assert payload["initiated_by"]["id"] == str(responder.user.pk)


@pytest.mark.parametrize("text", ["", "   ", "x" * 4001], ids=["empty", "blank", "4001-chars"])
def test_bad_note_text_is_400_naming_text(responder, raise_alerts, text):
    (alert,) = raise_alerts(1)
    response = responder.post(f"{URL}/{alert.pk}/notes", {"text": text}, format="json")
    assert response.status_code == 400
    assert "text" in response.json()
    assert not AlertNote.objects.exists()


def test_note_of_4000_characters_is_accepted(responder, raise_alerts):
    (alert,) = raise_alerts(1)
    assert responder.post(f"{URL}/{alert.pk}/notes", {"text": "x" * 4000}, format="json").status_code == 201


# -- assignment ------------------------------------------------------------------------------------


def test_assigning_to_a_responder_is_200(admin, make_user, raise_alerts):
    (alert,) = raise_alerts(1)
    rita = make_user("responder")
    response = admin.post(f"{URL}/{alert.pk}/assign", {"user": rita.pk}, format="json")
    assert response.status_code == 200
    assert response.json()["assignee"] == {"id": rita.pk, "username": rita.username}
    alert.refresh_from_db()
    assert alert.assignee == rita


def test_assignment_is_recorded_as_an_alert_updated_event(admin, make_user, raise_alerts):
    (alert,) = raise_alerts(1)
    rita = make_user("responder", username="rita")
    admin.post(f"{URL}/{alert.pk}/assign", {"user": rita.pk}, format="json")
    admin.post(f"{URL}/{alert.pk}/assign", {"user": None}, format="json")
    changes = [e.payload["changes"] for e in AuditEvent.objects.filter(event_type="alert_updated").order_by("pk")]
    assert changes == [
        [{"field": "Assignee", "from": "", "to": "rita"}],
        [{"field": "Assignee", "from": "rita", "to": ""}],
    ]


def test_assigning_to_a_viewer_is_400(admin, make_user, raise_alerts):
    (alert,) = raise_alerts(1)
    response = admin.post(f"{URL}/{alert.pk}/assign", {"user": make_user("viewer").pk}, format="json")
    assert response.status_code == 400
    assert "user" in response.json()
    alert.refresh_from_db()
    assert alert.assignee is None


def test_assigning_to_an_unknown_user_is_400(admin, raise_alerts):
    (alert,) = raise_alerts(1)
    response = admin.post(f"{URL}/{alert.pk}/assign", {"user": 999999}, format="json")
    assert response.status_code == 400
    assert "user" in response.json()


def test_assigning_null_unassigns(admin, make_user, raise_alerts):
    (alert,) = raise_alerts(1)
    alert_assign(alert=alert, assignee=make_user("responder"), actor=None)
    response = admin.post(f"{URL}/{alert.pk}/assign", {"user": None}, format="json")
    assert response.status_code == 200
    assert response.json()["assignee"] is None
    alert.refresh_from_db()
    assert alert.assignee is None


# -- bulk ----------------------------------------------------------------------------------------------


def test_bulk_acknowledge_reports_each_id(responder, raise_alerts):
    first, second, done = raise_alerts(3)
    alert_resolve(alert=done, actor=None)
    response = responder.post(
        f"{URL}/bulk",
        {"action": "acknowledge", "ids": [first.pk, 999999, second.pk, first.pk, done.pk], "note": "batch"},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["updated"] == [first.pk, second.pk]
    assert [item["id"] for item in body["skipped"]] == [999999, first.pk, done.pk]
    assert all(item["reason"] for item in body["skipped"])
    assert set(Alert.objects.filter(pk__in=[first.pk, second.pk]).values_list("status", flat=True)) == {"acknowledged"}
    assert AlertTransition.objects.filter(alert=first).count() == 1
    assert AlertTransition.objects.filter(note="batch").count() == 2


def test_bulk_resolve(responder, raise_alerts):
    alerts = raise_alerts(2)
    response = responder.post(f"{URL}/bulk", {"action": "resolve", "ids": [a.pk for a in alerts]}, format="json")
    assert response.json() == {"updated": [a.pk for a in alerts], "skipped": []}
    assert set(Alert.objects.values_list("status", flat=True)) == {"resolved"}


def test_bulk_with_an_unknown_action_is_400(responder, raise_alerts):
    (alert,) = raise_alerts(1)
    response = responder.post(f"{URL}/bulk", {"action": "delete", "ids": [alert.pk]}, format="json")
    assert response.status_code == 400
    assert "action" in response.json()


# -- summary --------------------------------------------------------------------------------------------


@pytest.fixture
def mixed_alerts(raise_alerts):
    high = raise_alerts(3)
    low = raise_alerts(3, rule=TOTP_DISABLED)
    alert_acknowledge(alert=high[0], actor=None)
    alert_resolve(alert=low[0], actor=None)
    alert_resolve(alert=low[1], actor=None)
    Alert.objects.filter(pk=low[1].pk).update(resolved_at=timezone.now() - timedelta(hours=25))
    return high, low


def test_summary_counts_by_status_and_priority(viewer, mixed_alerts):
    response = viewer.get(f"{URL}/summary")
    assert response.status_code == 200
    assert response.json() == {
        "open": 3,
        "acknowledged": 1,
        "snoozed": 0,
        "resolved_24h": 1,
        "open_by_priority": {"high": 2, "medium": 0, "low": 1},
        "acknowledged_by_priority": {"high": 1, "medium": 0, "low": 0},
        "snoozed_by_priority": {"high": 0, "medium": 0, "low": 0},
    }


def test_summary_selector_takes_at_most_two_queries(mixed_alerts, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):
        alert_summary()


def test_summary_endpoint_query_count_is_bounded(viewer, mixed_alerts, django_assert_max_num_queries):
    viewer.get(f"{URL}/summary")  # warm up: content types, role lookups cached per process
    with django_assert_max_num_queries(4):  # token + role + the selector's two
        assert viewer.get(f"{URL}/summary").status_code == 200


def test_summary_answers_zeroes_when_there_are_no_alerts(viewer):
    assert viewer.get(f"{URL}/summary").json() == {
        "open": 0,
        "acknowledged": 0,
        "snoozed": 0,
        "resolved_24h": 0,
        "open_by_priority": {"high": 0, "medium": 0, "low": 0},
        "acknowledged_by_priority": {"high": 0, "medium": 0, "low": 0},
        "snoozed_by_priority": {"high": 0, "medium": 0, "low": 0},
    }


# -- metrics -----------------------------------------------------------------------------------------------


def _act_after(alert: Alert, seconds: int, move) -> None:
    Alert.objects.filter(pk=alert.pk).update(created_at=timezone.now() - timedelta(seconds=seconds))
    move(alert=alert, actor=None)


def test_metrics_give_mtta_and_mttr_median_and_p90_by_priority_and_by_rule(viewer, raise_alerts):
    high = raise_alerts(3)
    low = raise_alerts(1, rule=TOTP_DISABLED)
    for alert, seconds in zip(high, (60, 120, 600), strict=True):
        _act_after(alert, seconds, alert_acknowledge)
    _act_after(low[0], 300, alert_resolve)
    # Whole seconds since creation: 60, 120 and 600 unless the machine stalls for a second in between.
    fastest, middle, slowest = sorted(
        Alert.objects.filter(priority="high").values_list("seconds_to_acknowledge", flat=True)
    )
    assert (fastest // 10, middle // 10, slowest // 10) == (6, 12, 60)
    (to_resolve,) = Alert.objects.filter(priority="low").values_list("seconds_to_resolve", flat=True)
    response = viewer.get(f"{URL}/metrics")
    assert response.status_code == 200
    body = response.json()
    assert body["by_priority"]["high"]["mtta"] == {"count": 3, "median": float(middle), "p90": float(slowest)}
    assert body["by_priority"]["high"]["mttr"] == {"count": 0, "median": None, "p90": None}
    assert body["by_priority"]["low"]["mttr"] == {"count": 1, "median": float(to_resolve), "p90": float(to_resolve)}
    assert body["by_priority"]["medium"]["mtta"]["count"] == 0
    by_rule = {entry["rule"]["name"]: entry for entry in body["by_rule"]}
    assert by_rule["Failed logins"]["alerts"] == 3
    assert by_rule["Failed logins"]["mtta"]["median"] == float(middle)
    assert by_rule["TOTP disabled"]["mttr"]["p90"] == float(to_resolve)


def test_metrics_list_the_noisiest_rules_first(viewer, raise_alerts):
    raise_alerts(1)
    raise_alerts(4, rule=TOTP_DISABLED)
    noisiest = viewer.get(f"{URL}/metrics").json()["noisiest_rules"]
    assert [(entry["rule"]["name"], entry["alerts"]) for entry in noisiest] == [
        ("TOTP disabled", 4),
        ("Failed logins", 1),
    ]


def test_metrics_count_only_alerts_created_since(viewer, raise_alerts):
    old, _recent = raise_alerts(2)
    Alert.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=10))
    since = (timezone.now() - timedelta(days=1)).isoformat()
    body = viewer.get(f"{URL}/metrics", {"since": since}).json()
    assert body["noisiest_rules"][0]["alerts"] == 1
    assert viewer.get(f"{URL}/metrics").json()["noisiest_rules"][0]["alerts"] == 2  # default: 30 days


@pytest.mark.parametrize("since", ["yesterday", "2025-03-01T10:00:00"], ids=["words", "no-time-zone"])
def test_metrics_reject_a_since_that_is_not_an_rfc3339_date_time(viewer, since):
    response = viewer.get(f"{URL}/metrics", {"since": since})
    assert response.status_code == 400
    assert "since" in response.json()


def test_metrics_reject_an_impossible_date_with_400(viewer):
    response = viewer.get(f"{URL}/metrics", {"since": "2025-13-01T00:00:00Z"})
    assert response.status_code == 400
    assert "since" in response.json()


def test_list_rejects_an_impossible_since_with_400(viewer):
    response = viewer.get(URL, {"since": "2025-13-01T00:00:00Z"})
    assert response.status_code == 400
    assert "since" in response.json()


# -- CSV export -------------------------------------------------------------------------------------------


def test_export_streams_a_header_and_one_row_per_filtered_alert(viewer, raise_alerts):
    alerts = raise_alerts(3)
    alert_resolve(alert=alerts[0], actor=None)
    response = viewer.get(f"{URL}/export", {"status": "open"})
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    rows = csv_rows(response)
    header = rows[0]
    assert header[:4] == ["reference", "status", "priority", "title"]
    assert [row[0] for row in rows[1:]] == [alerts[2].reference, alerts[1].reference]
    record = dict(zip(header, rows[1], strict=True))
    assert (record["status"], record["priority"], record["rule"]) == ("open", "high", "Failed logins")


def test_export_neutralises_a_title_that_starts_like_a_formula(viewer, raise_alerts):
    raise_alerts(1, rule={**FAILED_LOGINS, "name": '=HYPERLINK("http://evil.example","x")'})
    rows = csv_rows(viewer.get(f"{URL}/export"))
    record = dict(zip(rows[0], rows[1], strict=True))
    assert record["title"].startswith("'=")
    assert record["rule"].startswith("'=")


def test_export_with_an_unknown_status_is_400(viewer):
    assert viewer.get(f"{URL}/export", {"status": "nope"}).status_code == 400


# -- roles ------------------------------------------------------------------------------------------------


ACTIONS = [
    ("acknowledge", {}),
    ("resolve", {}),
    ("reopen", {}),
    ("notes", {"text": "hi"}),
    ("assign", {"user": None}),
]


def test_viewer_can_read_everything(viewer, raise_alerts):
    (alert,) = raise_alerts(1)
    for path in (URL, f"{URL}/{alert.pk}", f"{URL}/summary", f"{URL}/metrics", f"{URL}/export"):
        assert viewer.get(path).status_code == 200, path


def test_viewer_gets_403_on_every_action(viewer, raise_alerts):
    (alert,) = raise_alerts(1)
    for action, body in ACTIONS:
        assert viewer.post(f"{URL}/{alert.pk}/{action}", body, format="json").status_code == 403, action
    assert viewer.post(f"{URL}/bulk", {"action": "resolve", "ids": [alert.pk]}, format="json").status_code == 403
    alert.refresh_from_db()
    assert (alert.status, alert.assignee, AlertTransition.objects.count(), AlertNote.objects.count()) == (
        "open",
        None,
        0,
        0,
    )


def test_responder_can_acknowledge_resolve_reopen_assign_and_annotate(responder, raise_alerts):
    (alert,) = raise_alerts(1)
    base = f"{URL}/{alert.pk}"
    assert responder.post(f"{base}/acknowledge", {}, format="json").status_code == 200
    assert responder.post(f"{base}/resolve", {}, format="json").status_code == 200
    assert responder.post(f"{base}/reopen", {}, format="json").status_code == 200
    assert responder.post(f"{base}/assign", {"user": responder.user.pk}, format="json").status_code == 200
    assert responder.post(f"{base}/notes", {"text": "mine"}, format="json").status_code == 201


def test_responder_gets_403_creating_rules(responder):
    response = responder.post("/api/v1/rules", {**FAILED_LOGINS, "name": "Responder rule"}, format="json")
    assert response.status_code == 403


def test_ingest_role_gets_403_reading_alerts(ingest_client, raise_alerts):
    (alert,) = raise_alerts(1)
    for path in (URL, f"{URL}/{alert.pk}", f"{URL}/summary"):
        assert ingest_client.get(path).status_code == 403, path
    assert ingest_client.post(f"{URL}/{alert.pk}/acknowledge", {}, format="json").status_code == 403


def test_anonymous_gets_401(api_client, raise_alerts):
    (alert,) = raise_alerts(1)
    assert api_client.get(URL).status_code == 401
    assert api_client.get(f"{URL}/summary").status_code == 401
    assert api_client.post(f"{URL}/{alert.pk}/acknowledge", {}, format="json").status_code == 401


# -- query counts ------------------------------------------------------------------------------------------


def test_list_query_count_does_not_grow_with_the_page_size(
    admin, make_user, raise_alerts, django_assert_max_num_queries
):
    alerts = raise_alerts(30) + raise_alerts(30, rule=TOTP_DISABLED)
    rita = make_user("responder")
    for alert in alerts[::3]:
        alert_acknowledge(alert=alert, actor=rita)
        alert_assign(alert=alert, assignee=rita, actor=rita)
    for alert in alerts[1::3]:
        alert_resolve(alert=alert, actor=rita)
    admin.get(URL, {"page_size": 5})  # warm up
    with CaptureQueriesContext(connection) as small:
        assert len(admin.get(URL, {"page_size": 5}).json()["results"]) == 5
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert len(admin.get(URL, {"page_size": 50}).json()["results"]) == 50


def test_list_with_notes_and_history_costs_the_same_queries_for_2_and_20_alerts(admin, make_user, raise_alerts):
    rita = make_user("responder")

    def annotate(alerts):
        for alert in alerts:
            admin.post(f"{URL}/{alert.pk}/notes", {"text": f"Looked at {alert.reference}"}, format="json")
            alert_acknowledge(alert=alert, actor=rita)
            alert_assign(alert=alert, assignee=rita, actor=rita)

    def list_queries(expected: int) -> int:
        with CaptureQueriesContext(connection) as queries:
            results = admin.get(URL, {"page_size": 50}).json()["results"]
        assert len(results) == expected
        assert all(len(item["notes"]) == 1 and len(item["history"]) == 1 for item in results)
        return len(queries.captured_queries)

    annotate(raise_alerts(2))
    admin.get(URL)  # warm up
    two = list_queries(2)
    annotate(raise_alerts(18))
    assert list_queries(20) == two

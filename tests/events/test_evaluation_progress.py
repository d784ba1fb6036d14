"""GET /api/v1/events/evaluation: pending count and age from the small pending table, the evaluated total."""

from __future__ import annotations

import orjson
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from events import services as event_services
from events.models import AuditEvent, PendingEvaluation
from events.progress import evaluation_progress
from rules.services import rule_create
from rules.tasks import evaluate_pending_task
from tests.factories import make_event

pytestmark = pytest.mark.django_db
URL = "/api/v1/events/evaluation"
FAILED_LOGINS = {
    "name": "Failed logins",
    "priority": "high",
    "conditions": [
        {"event_type": "user_login_attempt", "filters": [{"key": "success", "operator": "eq", "value": False}]}
    ],
}


def post(client, events: list[dict]) -> None:
    response = client.post("/api/v1/events", data=orjson.dumps(events), content_type="application/json")
    assert response.status_code == 202, response.content


def test_nothing_pending_on_an_empty_log(auth_client):
    response = auth_client("viewer").get(URL)
    assert response.status_code == 200
    assert response.json() == {"pending": 0, "oldest_pending_received_at": None, "evaluated_total": 0}


@pytest.mark.parametrize("role", ["admin", "responder", "viewer"])
def test_every_reader_may_look(auth_client, role):
    assert auth_client(role).get(URL).status_code == 200


def test_ingest_only_users_may_not(ingest_client, api_client):
    assert ingest_client.get(URL).status_code == 403
    assert api_client.get(URL).status_code == 401


def test_events_wait_until_evaluated_then_count(auth_client, ingest_client, monkeypatch):
    rule_create(data=FAILED_LOGINS, actor=None)
    monkeypatch.setattr(event_services, "events_ingested_notify", lambda pks: None)  # as if the broker was down
    post(ingest_client, [make_event(id=f"e{n}", success=False) for n in range(3)])
    post(ingest_client, [make_event(id="no-rule-looks", event_type="user_update")])
    received = AuditEvent.objects.get(event_id="e0").received_at
    reader = auth_client("viewer")
    body = reader.get(URL).json()
    assert body["pending"] == 3  # the user_update event needs no evaluation: never pending
    assert body["oldest_pending_received_at"] == received.isoformat().replace("+00:00", "Z")
    assert body["evaluated_total"] == 0
    assert evaluate_pending_task() == 3
    assert reader.get(URL).json() == {"pending": 0, "oldest_pending_received_at": None, "evaluated_total": 3}


def test_a_duplicate_is_not_pending_again(ingest_client, monkeypatch):
    rule_create(data=FAILED_LOGINS, actor=None)
    monkeypatch.setattr(event_services, "events_ingested_notify", lambda pks: None)
    post(ingest_client, [make_event(id="once", success=False)])
    evaluate_pending_task()
    post(ingest_client, [make_event(id="once", success=False)])
    assert not PendingEvaluation.objects.exists()
    assert evaluation_progress().evaluated_total == 1


def test_the_answer_costs_the_same_few_queries_however_much_waits(auth_client, ingest_client, monkeypatch):
    rule_create(data=FAILED_LOGINS, actor=None)
    monkeypatch.setattr(event_services, "events_ingested_notify", lambda pks: None)
    reader = auth_client("viewer")
    counts = []
    for batch in range(2):
        post(ingest_client, [make_event(id=f"b{batch}-{n}", success=False) for n in range(50 * (batch + 1))])
        with CaptureQueriesContext(connection) as queries:
            assert reader.get(URL).status_code == 200
        counts.append(len(queries))
        assert not any("events_auditevent" in query["sql"] for query in queries.captured_queries)
    assert counts[0] == counts[1]

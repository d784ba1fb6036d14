"""While the database cannot be reached, requests answer 503 with Retry-After, not a 500 (issue 13).

The real outage (a PostgreSQL restarted under ingest) is in tests/faults; these pin the answer's shape.
"""

from __future__ import annotations

import orjson
import pytest
from django.db import InterfaceError, OperationalError

from tests.factories import make_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def database_down(monkeypatch):
    """The ingest statement fails as it does when PostgreSQL went away mid-request."""

    def refuse(*args, **kwargs):
        raise OperationalError('connection failed: connection to server at "127.0.0.1", port 5432 failed')

    monkeypatch.setattr("events.services.events_insert_new", refuse)


def post_event(client):
    return client.post("/api/v1/events", data=orjson.dumps(make_event(id="retry-me")), content_type="application/json")


def test_ingest_answers_503_with_retry_after_and_a_json_body(ingest_client, database_down):
    response = post_event(ingest_client)
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response["Content-Type"] == "application/json"
    assert "database is unavailable" in response.json()["detail"]


def test_a_closed_connection_is_a_503_too(ingest_client, monkeypatch):
    def closed(*args, **kwargs):
        raise InterfaceError("connection already closed")

    monkeypatch.setattr("events.services.events_insert_new", closed)
    assert post_event(ingest_client).status_code == 503


def test_the_retry_once_the_database_is_back_stores_the_event(ingest_client, database_down, monkeypatch):
    assert post_event(ingest_client).status_code == 503
    monkeypatch.undo()
    response = post_event(ingest_client)
    assert response.status_code == 202
    assert response.json() == {"accepted": 1, "duplicates": 0, "ids": ["retry-me"]}


def test_console_pages_answer_503_in_plain_text(admin_client, monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("the database system is starting up")

    monkeypatch.setattr("alertsite.views.alert_summary", refuse)
    response = admin_client.get("/")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response["Content-Type"].startswith("text/plain")


def test_other_errors_stay_500(ingest_client, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("events.services.events_insert_new", boom)
    ingest_client.raise_request_exception = False
    assert post_event(ingest_client).status_code == 500

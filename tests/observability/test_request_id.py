"""X-Request-Id: a sane incoming id is kept, anything else replaced; every response carries one."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client

from alertsite.observability.request_id import HEADER, MAX_LENGTH

pytestmark = pytest.mark.django_db


def test_a_request_without_an_id_gets_a_new_uuid():
    response = Client().get("/healthz")
    assert uuid.UUID(response[HEADER]).version == 4


def test_a_sane_incoming_id_is_answered_back():
    response = Client().get("/healthz", HTTP_X_REQUEST_ID="4bf92f3577b34da6a3ce929d0e0e4736")
    assert response[HEADER] == "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.mark.parametrize(
    "sent",
    ["a" * (MAX_LENGTH + 1), "id with spaces", 'quote"d', "new\\nline", "-leading-dash", "ünïcode"],
)
def test_an_insane_incoming_id_is_replaced(sent):
    response = Client().get("/healthz", HTTP_X_REQUEST_ID=sent)
    assert response[HEADER] != sent
    assert uuid.UUID(response[HEADER])


def test_errors_and_the_compatible_api_carry_the_request_id_once(auth_client):
    client = auth_client("viewer")
    response = client.post(
        "/insights/directory/v1/events",
        data=b'{"service": ["all"], "start_time": "2025-03-01T00:00:00Z"}',
        content_type="application/json",
        HTTP_X_REQUEST_ID="req-1",
    )
    assert response.status_code == 200
    assert response[HEADER] == "req-1"
    assert Client().get("/api/v1/nowhere", HTTP_X_REQUEST_ID="req-2")[HEADER] == "req-2"

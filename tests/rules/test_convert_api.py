"""Switching a condition between field filters and the expression language over the API."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

FILTERS = [
    {"key": "success", "operator": "eq", "value": False},
    {"key": "geoip.country_code", "operator": "not_in", "value": ["US", "CA"]},
]


def test_filters_convert_to_an_expression_and_back(auth_client):
    client = auth_client("viewer")
    response = client.post("/api/v1/conditions/convert", {"filters": FILTERS, "match": "all"}, format="json")
    assert response.status_code == 200
    expression = response.json()["expression"]
    back = client.post("/api/v1/conditions/convert", {"expression": expression}, format="json")
    assert back.json() == {"match": "all", "filters": FILTERS}


def test_an_expression_that_is_not_flat_cannot_switch_back(auth_client):
    response = auth_client("viewer").post(
        "/api/v1/conditions/convert", {"expression": "(success == false || mfa == false) && len(x) > 1"}, format="json"
    )
    assert response.status_code == 400
    assert "expression" in response.json()


def test_bad_filters_name_their_path(auth_client):
    response = auth_client("viewer").post(
        "/api/v1/conditions/convert", {"filters": [{"key": "a", "operator": "nope"}]}, format="json"
    )
    assert response.status_code == 400
    assert "filters[0].operator" in response.json()


def test_operator_list_has_every_operator_with_its_label(auth_client):
    operators = auth_client("viewer").get("/api/v1/operators").json()
    keys = [operator["key"] for operator in operators]
    assert {"eq", "in_cidr", "changed_to", "matches"} <= set(keys)
    assert next(o for o in operators if o["key"] == "in")["label"] == "is one of"

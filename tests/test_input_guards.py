"""Odd input from the outside world is a clear 400, never a server error."""

from __future__ import annotations

import pytest

from alertsite.ids import id_or_none

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("value", ["12", "0"])
def test_ascii_digits_are_an_id(value):
    assert id_or_none(value) == int(value)


@pytest.mark.parametrize("value", ["²", "١٢", "", "-1", "1.0", " 1", str(2**63), None, 5])
def test_anything_else_is_not_an_id(value):
    assert id_or_none(value) is None


def test_nul_in_an_api_query_is_a_400_naming_the_parameter(auth_client):
    response = auth_client("viewer").get("/api/v1/rule-templates", {"search": "a\x00b"})
    assert response.status_code == 400
    assert response.json()["field"] == "search"


def test_nul_in_a_console_query_is_a_400(client, make_user):
    client.force_login(make_user("viewer"))
    response = client.get("/insights/alerts/rules/", {"event_type": "\x00"})
    assert response.status_code == 400
    assert b"NUL" in response.content


def test_nul_in_a_console_form_field_is_a_400(client, make_user):
    client.force_login(make_user("responder"))
    response = client.post("/insights/alerts/bulk/", {"action": "acknowledge", "note": "a\x00"})
    assert response.status_code == 400


@pytest.mark.parametrize("assignee", ["²", str(2**64)])
def test_assignee_that_only_looks_like_a_number_is_a_400(auth_client, assignee):
    response = auth_client("viewer").get("/api/v1/alerts", {"assignee": assignee})
    assert response.status_code == 400
    assert "assignee" in response.json()


def test_console_ignores_an_assignee_or_rule_that_only_looks_like_a_number(client, make_user):
    client.force_login(make_user("viewer"))
    assert client.get("/insights/alerts/", {"assignee": "²", "rule": "²"}).status_code == 200


def test_reference_with_unicode_digits_finds_nothing(auth_client):
    response = auth_client("viewer").get("/api/v1/alerts", {"search": "ALR-²"})
    assert response.status_code == 200

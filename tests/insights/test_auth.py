"""Who may query the compatible API: an x-api-key of a reader (api.md section 9)."""

from __future__ import annotations

import pytest

from alertsite.accounts import services as accounts
from alertsite.accounts.roles import Role
from tests.insights.conftest import InsightsClient, query

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role", [Role.ADMIN, Role.RESPONDER, Role.VIEWER])
def test_readers_may_query_with_their_api_token_as_x_api_key(insights, role):
    assert insights(role).post("/events", query()).status_code == 200


def test_ingest_only_key_is_a_403(insights):
    response = insights(Role.INGEST).post("/events/count", query())
    assert response.status_code == 403
    assert response.json()["message"]


def test_missing_key_is_a_401(db):
    response = InsightsClient(None).post("/events", query())
    assert response.status_code == 401
    assert response.json()["message"]
    assert response["WWW-Authenticate"] == "x-api-key"


@pytest.mark.parametrize("key", ["not-a-token", ""])
def test_unknown_or_empty_key_is_a_401(db, key):
    response = InsightsClient(key).post("/events", query())
    assert response.status_code == 401
    assert response.json()["message"]


def test_revoked_token_is_a_401(make_user):
    user = make_user(Role.VIEWER)
    client = InsightsClient(accounts.token_issue(user=user))
    accounts.token_revoke(user=user)
    assert client.post("/events", query()).status_code == 401


def test_authorization_token_header_works_too(make_user):
    token = accounts.token_issue(user=make_user(Role.VIEWER))
    response = InsightsClient(None).post("/events", query(), Authorization=f"Token {token}")
    assert response.status_code == 200

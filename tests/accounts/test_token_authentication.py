"""API tokens are checked with one statement that brings the user and its role, with DRF's answers."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from alertsite.accounts import services
from alertsite.accounts.roles import Role, user_role

pytestmark = pytest.mark.django_db

EVENTS = "/api/v1/events/evaluation"


def client_for(token: str, header: str = "HTTP_AUTHORIZATION", keyword: str = "Token ") -> APIClient:
    client = APIClient()
    client.credentials(**{header: f"{keyword}{token}"})
    return client


def test_a_token_request_reads_its_user_and_role_in_one_statement(make_user):
    token = services.token_issue(user=make_user(Role.RESPONDER))
    client = client_for(token)
    client.get(EVENTS)  # warms per-process caches
    with CaptureQueriesContext(connection) as queries:
        assert client.get(EVENTS).status_code == 200
    auth = [q["sql"] for q in queries.captured_queries if "authtoken_token" in q["sql"]]
    assert len(auth) == 1
    assert not [q for q in queries.captured_queries if "auth_user_groups" in q["sql"] and q["sql"] not in auth]


@pytest.mark.parametrize("role", list(Role))
def test_the_role_read_with_the_token_is_the_users_role(make_user, role):
    from alertsite.accounts.authentication import TokenAuthentication

    user = make_user(role)
    found, token = TokenAuthentication().authenticate_credentials(services.token_issue(user=user))
    assert found.pk == user.pk and token.key
    assert user_role(found) == role


def test_a_group_that_is_no_role_does_not_change_the_role(make_user):
    from alertsite.accounts.authentication import TokenAuthentication

    user = make_user(Role.VIEWER)
    user.groups.add(Group.objects.create(name="night shift"))
    found, _ = TokenAuthentication().authenticate_credentials(services.token_issue(user=user))
    assert user_role(found) == Role.VIEWER


def test_a_superuser_token_acts_as_admin(django_user_model):
    from alertsite.accounts.authentication import TokenAuthentication

    root = django_user_model.objects.create_superuser("root", "root@example.com", "pw-root-long-enough")
    found, _ = TokenAuthentication().authenticate_credentials(services.token_issue(user=root))
    assert user_role(found) == Role.ADMIN


def test_an_unknown_token_is_401_invalid_token():
    response = client_for("0" * 40).get(EVENTS)
    assert response.status_code == 401
    assert "Invalid token." in response.content.decode()


def test_a_deactivated_users_token_is_401(make_user):
    user = make_user(Role.ADMIN)
    token = services.token_issue(user=user)
    services.user_deactivate(user=user)
    response = client_for(token).get(EVENTS)
    assert response.status_code == 401


def test_the_vendor_api_key_header_uses_the_same_check(make_user):
    token = services.token_issue(user=make_user(Role.VIEWER))
    assert client_for(token, "HTTP_X_API_KEY", "").post(
        "/insights/directory/v1/events", {}, format="json"
    ).status_code in (
        200,
        400,
    )
    assert (
        client_for("0" * 40, "HTTP_X_API_KEY", "").post("/insights/directory/v1/events", {}, format="json").status_code
        == 401
    )

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token

from alertsite.accounts import services
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token"


def test_valid_credentials_return_a_token(api_client, make_user):
    user = make_user("viewer")

    response = api_client.post(TOKEN_URL, {"username": user.username, "password": PASSWORD}, format="json")

    assert response.status_code == 200
    assert response.json() == {"token": Token.objects.get(user=user).key}


def test_token_path_answers_with_a_trailing_slash(api_client, make_user):
    user = make_user("viewer")

    response = api_client.post(TOKEN_URL + "/", {"username": user.username, "password": PASSWORD}, format="json")

    assert response.status_code == 200


def test_wrong_password_is_refused_with_401_and_a_clear_message(api_client, make_user):
    user = make_user("viewer")

    response = api_client.post(TOKEN_URL, {"username": user.username, "password": "nope"}, format="json")

    assert response.status_code == 401
    assert "Unable to log in" in response.json()["detail"]
    assert not Token.objects.filter(user=user).exists()


def test_unknown_user_is_refused_with_the_same_401_as_a_wrong_password(api_client, make_user):
    user = make_user("viewer")
    wrong_password = api_client.post(TOKEN_URL, {"username": user.username, "password": "nope"}, format="json")

    response = api_client.post(TOKEN_URL, {"username": "nobody", "password": PASSWORD}, format="json")

    assert response.status_code == 401
    assert response.json() == wrong_password.json()


def test_inactive_user_gets_no_token_but_a_401(api_client, make_user):
    user = make_user("viewer")
    services.user_deactivate(user=user)

    response = api_client.post(TOKEN_URL, {"username": user.username, "password": PASSWORD}, format="json")

    assert response.status_code == 401
    assert "deactivated" in response.json()["detail"]
    assert not Token.objects.filter(user=user).exists()


def test_refused_credentials_carry_a_token_challenge(api_client):
    response = api_client.post(TOKEN_URL, {"username": "nobody", "password": "nope"}, format="json")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize("missing", ["username", "password"])
def test_missing_field_is_a_400_naming_it(api_client, make_user, missing):
    user = make_user("viewer")
    body = {"username": user.username, "password": PASSWORD}
    del body[missing]

    response = api_client.post(TOKEN_URL, body, format="json")

    assert response.status_code == 400
    assert set(response.json()) == {missing}


def test_token_login_ignores_a_stale_token_header(api_client, make_user):
    user = make_user("viewer")
    api_client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    response = api_client.post(TOKEN_URL, {"username": user.username, "password": PASSWORD}, format="json")

    assert response.status_code == 200


def test_token_authenticates_api_requests(api_client, make_user):
    user = make_user("admin")
    token = api_client.post(TOKEN_URL, {"username": user.username, "password": PASSWORD}, format="json").json()["token"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    response = api_client.get(f"/api/v1/users/{user.pk}")

    assert response.status_code == 200
    assert response.json()["username"] == user.username


def test_unauthenticated_request_answers_401(api_client):
    response = api_client.get("/api/v1/users")

    assert response.status_code == 401


def test_revoked_token_answers_401(auth_client):
    client = auth_client("viewer")

    revoke = client.post("/api/v1/auth/token/revoke")
    after = client.post("/api/v1/auth/token/revoke")

    assert revoke.status_code == 204
    assert after.status_code == 401


def test_ingest_role_may_revoke_its_own_token(auth_client):
    client = auth_client("ingest")

    response = client.post("/api/v1/auth/token/revoke/")

    assert response.status_code == 204
    assert not Token.objects.filter(user=client.user).exists()


def test_password_change_with_right_old_password_sets_the_new_one(auth_client):
    client = auth_client("viewer")

    response = client.post(
        "/api/v1/auth/password", {"old_password": PASSWORD, "new_password": "a-new-long-passphrase"}, format="json"
    )

    assert response.status_code == 204
    client.user.refresh_from_db()
    assert client.user.check_password("a-new-long-passphrase")


def test_password_change_keeps_the_callers_token_valid(auth_client):
    client = auth_client("admin")

    client.post(
        "/api/v1/auth/password", {"old_password": PASSWORD, "new_password": "a-new-long-passphrase"}, format="json"
    )

    assert client.get("/api/v1/users").status_code == 200


def test_password_change_with_wrong_old_password_is_refused(auth_client):
    client = auth_client("viewer")

    response = client.post(
        "/api/v1/auth/password", {"old_password": "wrong", "new_password": "a-new-long-passphrase"}, format="json"
    )

    assert response.status_code == 400
    assert set(response.json()) == {"old_password"}
    client.user.refresh_from_db()
    assert client.user.check_password(PASSWORD)


def test_password_change_to_a_weak_password_is_refused(auth_client):
    client = auth_client("viewer")

    response = client.post("/api/v1/auth/password", {"old_password": PASSWORD, "new_password": "123"}, format="json")

    assert response.status_code == 400
    assert set(response.json()) == {"new_password"}
    assert len(response.json()["new_password"]) >= 1


def test_password_change_needs_authentication(api_client):
    response = api_client.post("/api/v1/auth/password", {"old_password": "x", "new_password": "y"}, format="json")

    assert response.status_code == 401

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token

from alertsite.accounts import services
from alertsite.accounts.roles import Role, user_role

pytestmark = pytest.mark.django_db

User = get_user_model()
USER_FIELDS = {"id", "username", "email", "role", "is_active", "date_joined", "last_login"}


@pytest.fixture
def admin_client(auth_client, admin_user):
    return auth_client(user=admin_user)


def test_admin_lists_users_by_username(admin_client, make_user):
    make_user("viewer", username="zed")
    make_user("responder", username="amy")

    response = admin_client.get("/api/v1/users")

    assert response.status_code == 200
    rows = response.json()["results"]
    assert [row["username"] for row in rows] == ["admin", "amy", "zed"]
    assert set(rows[0]) == USER_FIELDS
    assert [row["role"] for row in rows] == ["admin", "responder", "viewer"]


def test_user_list_does_not_query_per_user(admin_client, make_user, django_assert_max_num_queries):
    for _ in range(5):
        make_user("viewer")

    with django_assert_max_num_queries(4):
        response = admin_client.get("/api/v1/users/")

    assert len(response.json()["results"]) == 6


def test_admin_creates_a_user_with_a_role(admin_client):
    response = admin_client.post(
        "/api/v1/users",
        {"username": "rita", "password": "a-long-passphrase", "email": "rita@example.com", "role": "responder"},
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    assert body["role"] == "responder"
    assert "password" not in body
    user = User.objects.get(username="rita")
    assert user.check_password("a-long-passphrase")
    assert user_role(user) == Role.RESPONDER
    assert not user.is_staff


def test_creating_a_user_needs_a_known_role(admin_client):
    response = admin_client.post(
        "/api/v1/users", {"username": "rita", "password": "a-long-passphrase", "role": "owner"}, format="json"
    )

    assert response.status_code == 400
    assert set(response.json()) == {"role"}


def test_creating_a_user_with_a_weak_password_is_refused(admin_client):
    response = admin_client.post(
        "/api/v1/users", {"username": "rita", "password": "rita", "role": "viewer"}, format="json"
    )

    assert response.status_code == 400
    assert set(response.json()) == {"password"}
    assert not User.objects.filter(username="rita").exists()


def test_creating_a_user_with_a_taken_username_is_refused(admin_client, make_user):
    make_user("viewer", username="rita")

    response = admin_client.post(
        "/api/v1/users", {"username": "rita", "password": "a-long-passphrase", "role": "viewer"}, format="json"
    )

    assert response.status_code == 400
    assert set(response.json()) == {"username"}


def test_admin_reads_one_user(admin_client, make_user):
    user = make_user("ingest", email="bot@example.com")

    response = admin_client.get(f"/api/v1/users/{user.pk}/")

    assert response.status_code == 200
    assert response.json()["role"] == "ingest"
    assert response.json()["email"] == "bot@example.com"


def test_patch_changes_the_role_and_staff_flag(admin_client, make_user):
    user = make_user("viewer")

    response = admin_client.patch(f"/api/v1/users/{user.pk}", {"role": "admin"}, format="json")

    assert response.status_code == 200
    assert response.json()["role"] == "admin"
    user.refresh_from_db()
    assert list(user.groups.values_list("name", flat=True)) == ["admin"]
    assert user.is_staff


def test_patch_changes_the_email(admin_client, make_user):
    user = make_user("viewer")

    response = admin_client.patch(f"/api/v1/users/{user.pk}", {"email": "new@example.com"}, format="json")

    assert response.status_code == 200
    user.refresh_from_db()
    assert user.email == "new@example.com"


def test_deactivating_a_user_revokes_their_tokens(admin_client, auth_client, make_user):
    user = make_user("viewer")
    client = auth_client(user=user)

    response = admin_client.patch(f"/api/v1/users/{user.pk}", {"is_active": False}, format="json")

    assert response.status_code == 200
    assert response.json()["is_active"] is False
    assert response.json()["role"] == "viewer"
    assert not Token.objects.filter(user=user).exists()
    assert client.get("/api/v1/users").status_code == 401


def test_delete_deactivates_instead_of_deleting(admin_client, make_user):
    user = make_user("responder")
    services.token_issue(user=user)

    response = admin_client.delete(f"/api/v1/users/{user.pk}")

    assert response.status_code == 204
    user.refresh_from_db()
    assert user.is_active is False
    assert not Token.objects.filter(user=user).exists()


def test_admin_cannot_deactivate_themselves(admin_client, admin_user):
    response = admin_client.delete(f"/api/v1/users/{admin_user.pk}")

    assert response.status_code == 400
    admin_user.refresh_from_db()
    assert admin_user.is_active


def test_admin_cannot_drop_their_own_admin_role(admin_client, admin_user):
    response = admin_client.patch(f"/api/v1/users/{admin_user.pk}", {"role": "viewer"}, format="json")

    assert response.status_code == 400
    assert user_role(User.objects.get(pk=admin_user.pk)) == Role.ADMIN


def test_put_is_not_allowed_on_users(admin_client, make_user):
    user = make_user("viewer")

    response = admin_client.put(f"/api/v1/users/{user.pk}", {"role": "admin"}, format="json")

    assert response.status_code == 405


def test_viewer_cannot_create_users(auth_client):
    response = auth_client("viewer").post(
        "/api/v1/users", {"username": "x", "password": "a-long-passphrase", "role": "admin"}, format="json"
    )

    assert response.status_code == 403


def test_responder_cannot_list_users(auth_client):
    assert auth_client("responder").get("/api/v1/users").status_code == 403


def test_ingest_cannot_list_users(auth_client):
    assert auth_client("ingest").get("/api/v1/users").status_code == 403


def test_superuser_without_groups_may_manage_users(auth_client):
    superuser = User.objects.create_superuser(username="root", password="x", email="")

    response = auth_client(user=superuser).get("/api/v1/users")

    assert response.status_code == 200
    assert response.json()["results"][0]["role"] == "admin"

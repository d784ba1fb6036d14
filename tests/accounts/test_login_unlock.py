"""Unlocking a login before the cool-off ends: the users API, the Django admin and manage.py login_unlock."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from alertsite.accounts.models import LoginFailure
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token"


@pytest.fixture(autouse=True)
def throttle_settings(settings):
    settings.ALERTSITE_LOGIN_MAX_FAILURES = 3


def token(client, username, password="wrong", address="203.0.113.5"):
    return client.post(TOKEN_URL, {"username": username, "password": password}, format="json", REMOTE_ADDR=address)


def lock(client, username, address="203.0.113.5"):
    for _ in range(3):
        assert token(client, username, address=address).status_code == 401
    assert token(client, username, PASSWORD, address=address).status_code == 429


def test_an_admin_unlocks_a_user_over_the_api(api_client, auth_client, make_user):
    user = make_user("viewer")
    lock(api_client, user.username)

    response = auth_client("admin").post(f"/api/v1/users/{user.pk}/unlock")

    assert response.status_code == 200
    assert response.json() == {"id": user.pk, "username": user.username, "failures_cleared": 3}
    assert token(api_client, user.username, PASSWORD).status_code == 200


def test_unlocking_a_user_frees_the_address_they_locked_themselves(api_client, auth_client, make_user):
    user = make_user("viewer")
    for name in (user.username, user.username, "typo"):
        token(api_client, name, address="192.0.2.10")
    assert token(api_client, user.username, PASSWORD, address="192.0.2.10").status_code == 429

    auth_client("admin").post(f"/api/v1/users/{user.pk}/unlock")

    assert token(api_client, user.username, PASSWORD, address="192.0.2.10").status_code == 200


def test_only_admins_may_unlock(auth_client, make_user):
    user = make_user("viewer")

    assert auth_client("responder").post(f"/api/v1/users/{user.pk}/unlock").status_code == 403


def test_unlock_of_an_unknown_user_is_a_404(auth_client):
    assert auth_client("admin").post("/api/v1/users/999999/unlock").status_code == 404


def test_the_django_admin_action_unlocks_the_selected_users(api_client, make_user):
    user = make_user("viewer")
    lock(api_client, user.username)
    admin = Client()
    admin.force_login(make_user("admin"))

    response = admin.post("/admin/auth/user/", {"action": "unlock_login", "_selected_action": [user.pk]}, follow=True)

    assert response.status_code == 200
    assert "Unlocked 1 users" in response.content.decode()
    assert token(api_client, user.username, PASSWORD).status_code == 200


def test_the_admin_lists_failed_logins(api_client, make_user):
    user = make_user("viewer")
    lock(api_client, user.username)
    admin = Client()
    admin.force_login(make_user("admin"))

    response = admin.get("/admin/accounts/loginfailure/")

    assert response.status_code == 200
    assert "203.0.113.5" in response.content.decode()


def test_the_command_unlocks_a_username(api_client, make_user):
    user = make_user("viewer")
    lock(api_client, user.username)

    call_command("login_unlock", "--username", user.username.upper())

    assert token(api_client, user.username, PASSWORD).status_code == 200


def test_the_command_unlocks_an_address(api_client, make_user):
    user = make_user("viewer")
    for name in ("a", "b", "c"):
        token(api_client, name, address="198.51.100.1")
    assert token(api_client, user.username, PASSWORD, address="198.51.100.1").status_code == 429

    call_command("login_unlock", "--address", "198.51.100.1")

    assert token(api_client, user.username, PASSWORD, address="198.51.100.1").status_code == 200


def test_the_command_unlocks_everything(api_client, make_user):
    user = make_user("viewer")
    lock(api_client, user.username)

    call_command("login_unlock", "--all")

    assert not LoginFailure.objects.exists()


def test_the_command_says_what_is_missing(db):
    with pytest.raises(CommandError, match="--username NAME, --address IP, or --all"):
        call_command("login_unlock")
    with pytest.raises(CommandError, match="not an IP address"):
        call_command("login_unlock", "--address", "not-an-ip")

"""Login throttling (api.md §13): repeated failures for a username or from an address are refused for a while."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import F
from rest_framework.authtoken.models import Token

from alertsite.accounts.models import LoginFailure
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token"
LOGIN_URL = "/accounts/login/"


@pytest.fixture(autouse=True)
def throttle_settings(settings):
    settings.ALERTSITE_LOGIN_MAX_FAILURES = 3
    settings.ALERTSITE_LOGIN_FAILURE_WINDOW_SECONDS = 900
    settings.ALERTSITE_LOGIN_LOCKOUT_SECONDS = 600
    return settings


def token(client, username, password="wrong", address="203.0.113.5"):
    return client.post(TOKEN_URL, {"username": username, "password": password}, format="json", REMOTE_ADDR=address)


def fail(client, username, times, address="203.0.113.5"):
    for _ in range(times):
        assert token(client, username, address=address).status_code == 401


def test_failures_up_to_the_limit_are_401s_and_the_next_attempt_a_429(api_client, make_user):
    user = make_user("viewer")

    fail(api_client, user.username, 3)  # asserts 401 each time

    assert token(api_client, user.username, PASSWORD, address="198.51.100.9").status_code == 429


def test_a_locked_username_is_refused_with_429_retry_after_and_when_to_come_back(api_client, make_user):
    user = make_user("viewer")
    fail(api_client, user.username, 3)

    response = token(api_client, user.username)

    assert response.status_code == 429
    assert 590 <= int(response["Retry-After"]) <= 600
    body = response.json()
    assert body["retry_after"] == int(response["Retry-After"])
    assert body["locked_until"].endswith("Z")
    assert "Try again in" in body["detail"]


def test_a_locked_username_is_refused_from_any_address(api_client, make_user):
    user = make_user("viewer")
    fail(api_client, user.username, 3, address="203.0.113.5")

    assert token(api_client, user.username, PASSWORD, address="198.51.100.77").status_code == 429


def test_usernames_are_counted_whatever_their_case(api_client, make_user):
    user = make_user("viewer", username="carol")
    fail(api_client, "Carol", 2, address="203.0.113.1")
    fail(api_client, "CAROL", 1, address="203.0.113.2")

    assert token(api_client, user.username, PASSWORD, address="203.0.113.3").status_code == 429


def test_a_locked_address_is_refused_for_every_username(api_client, make_user):
    user = make_user("viewer")
    for name in ("alice", "bob", "carl"):
        fail(api_client, name, 1, address="203.0.113.66")

    assert token(api_client, user.username, PASSWORD, address="203.0.113.66").status_code == 429
    assert token(api_client, user.username, PASSWORD, address="203.0.113.67").status_code == 200


def test_ipv6_addresses_are_counted_by_their_64_block(api_client, make_user):
    user = make_user("viewer")
    for host, name in ((1, "alice"), (2, "bob"), (3, "carl")):
        fail(api_client, name, 1, address=f"2001:db8:1:2::{host}")

    assert token(api_client, user.username, PASSWORD, address="2001:db8:1:2::99").status_code == 429
    assert token(api_client, user.username, PASSWORD, address="2001:db8:1:3::1").status_code == 200


def test_a_correct_password_is_refused_while_locked_and_gets_no_token(api_client, make_user):
    user = make_user("viewer")
    fail(api_client, user.username, 3)

    response = token(api_client, user.username, PASSWORD)

    assert response.status_code == 429
    assert not Token.objects.filter(user=user).exists()


def test_failures_spread_wider_than_the_window_do_not_lock(api_client, make_user, settings):
    user = make_user("viewer")
    fail(api_client, user.username, 2)
    LoginFailure.objects.update(failed_at=F("failed_at") - timedelta(seconds=901))
    fail(api_client, user.username, 1)

    assert token(api_client, user.username, PASSWORD).status_code == 200


def test_the_lock_ends_after_the_cool_off(api_client, make_user):
    user = make_user("viewer")
    fail(api_client, user.username, 3)
    assert token(api_client, user.username, PASSWORD).status_code == 429

    # The cool-off (600 s here) passes: the failures are moved back in time instead of sleeping.
    LoginFailure.objects.update(failed_at=F("failed_at") - timedelta(seconds=601))

    assert token(api_client, user.username, PASSWORD).status_code == 200


def test_a_short_cool_off_setting_is_obeyed(api_client, make_user, settings):
    user = make_user("viewer")
    fail(api_client, user.username, 3)
    assert token(api_client, user.username, PASSWORD).status_code == 429

    settings.ALERTSITE_LOGIN_LOCKOUT_SECONDS = 0

    assert token(api_client, user.username, PASSWORD).status_code == 200


def test_refused_attempts_do_not_extend_the_lock(api_client, make_user):
    user = make_user("viewer")
    fail(api_client, user.username, 3)
    for _ in range(5):
        assert token(api_client, user.username).status_code == 429

    assert LoginFailure.objects.count() == 3


def test_a_success_forgets_the_usernames_earlier_failures(api_client, make_user):
    user = make_user("viewer")
    fail(api_client, user.username, 2, address="203.0.113.1")
    assert token(api_client, user.username, PASSWORD, address="203.0.113.2").status_code == 200

    fail(api_client, user.username, 2, address="203.0.113.3")

    assert token(api_client, user.username, PASSWORD, address="203.0.113.4").status_code == 200


def test_zero_max_failures_turns_throttling_off(api_client, make_user, settings):
    settings.ALERTSITE_LOGIN_MAX_FAILURES = 0
    user = make_user("viewer")
    fail(api_client, user.username, 10)

    assert token(api_client, user.username, PASSWORD).status_code == 200


def test_wrong_old_passwords_count_and_a_lock_refuses_the_password_change(auth_client):
    client = auth_client("viewer")
    for _ in range(3):
        response = client.post(
            "/api/v1/auth/password", {"old_password": "nope", "new_password": "a-new-long-passphrase"}, format="json"
        )
        assert response.status_code == 400

    response = client.post(
        "/api/v1/auth/password", {"old_password": PASSWORD, "new_password": "a-new-long-passphrase"}, format="json"
    )

    assert response.status_code == 429
    assert "Retry-After" in response
    client.user.refresh_from_db()
    assert client.user.check_password(PASSWORD)


# -- the console ---------------------------------------------------------------------------------


def console_login(client, username, password="wrong", address="203.0.113.5"):
    return client.post(LOGIN_URL, {"username": username, "password": password}, REMOTE_ADDR=address)


def test_the_console_shows_a_clear_message_with_429_when_locked(client, make_user):
    user = make_user("viewer")
    for _ in range(3):
        assert console_login(client, user.username).status_code == 200

    response = console_login(client, user.username, PASSWORD)

    assert response.status_code == 429
    assert 590 <= int(response["Retry-After"]) <= 600
    html = response.content.decode()
    assert 'role="alert"' in html
    assert "Too many failed sign-in attempts" in html
    assert "Try again in 10 minutes" in html
    assert "<form" in html
    assert "_auth_user_id" not in client.session


def test_console_and_api_failures_count_together(client, api_client, make_user):
    user = make_user("viewer")
    for _ in range(2):
        console_login(client, user.username)
    fail(api_client, user.username, 1)

    assert console_login(client, user.username, PASSWORD).status_code == 429


def test_the_django_admin_login_is_throttled_too(client, make_user):
    user = make_user("admin")
    fail_url = "/admin/login/"
    for _ in range(3):
        client.post(fail_url, {"username": user.username, "password": "wrong"}, REMOTE_ADDR="203.0.113.5")

    response = client.post(fail_url, {"username": user.username, "password": PASSWORD}, REMOTE_ADDR="203.0.113.9")

    assert response.status_code == 200
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session

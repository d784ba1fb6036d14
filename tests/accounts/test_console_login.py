from __future__ import annotations

import pytest

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_login_page_renders_an_accessible_form(client):
    response = client.get("/accounts/login/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "<title>Sign in · alertsite</title>" in html
    assert '<label for="id_username">Username</label>' in html
    assert '<label for="id_password">Password</label>' in html
    assert "autofocus" in html


def test_login_page_answers_without_a_trailing_slash(client):
    assert client.get("/accounts/login").status_code == 200


def test_correct_credentials_log_in_and_redirect(client, make_user):
    user = make_user("viewer")

    response = client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.session["_auth_user_id"] == str(user.pk)


def test_wrong_password_shows_an_error_on_the_login_page(client, make_user):
    user = make_user("viewer")

    response = client.post("/accounts/login/", {"username": user.username, "password": "nope"})

    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_logout_by_post_ends_the_session(client, make_user):
    client.force_login(make_user("viewer"))

    response = client.post("/accounts/logout/")

    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_session_login_works_for_the_api(client, make_user):
    client.force_login(make_user("admin"))

    assert client.get("/api/v1/users").status_code == 200

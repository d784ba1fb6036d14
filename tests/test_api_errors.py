"""Every error under /api/ answers JSON in the API's shape, whatever part of the stack gives it (api.md section 13)."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings
from django.urls import include, path

pytestmark = pytest.mark.django_db

TEN_MIB = 10 * 1024 * 1024


def boom(request):
    raise RuntimeError("boom")


urlpatterns = [path("api/v1/boom", boom), path("", include("alertsite.urls"))]


def big_json() -> bytes:
    return b'{"name": "' + b"x" * TEN_MIB + b'"}'


def assert_json_error(response, status: int) -> dict:
    assert response.status_code == status, response.content[:200]
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"]
    return body


def test_oversized_json_body_on_the_rules_api_answers_413_in_json(auth_client):
    response = auth_client("admin").post("/api/v1/rules", data=big_json(), content_type="application/json")
    assert "limit is 2,621,440 bytes" in assert_json_error(response, 413)["detail"]


def test_oversized_form_body_on_an_api_endpoint_answers_413_in_json(auth_client):
    body = b"name=" + b"x" * TEN_MIB
    response = auth_client("admin").post("/api/v1/rules", data=body, content_type="application/x-www-form-urlencoded")
    assert_json_error(response, 413)


@override_settings(DEBUG=True)
def test_oversized_body_answers_413_in_json_with_debug_on(auth_client):
    response = auth_client("admin").post("/api/v1/channels", data=big_json(), content_type="application/json")
    assert_json_error(response, 413)


def test_oversized_form_on_a_console_page_answers_413(login):
    response = login("admin").post(
        "/insights/alerts/rules/new/", data=b"name=" + b"x" * TEN_MIB, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 413


@pytest.mark.parametrize("debug", [False, True])
def test_unknown_api_path_answers_404_in_json(api_client, debug):
    with override_settings(DEBUG=debug):
        assert assert_json_error(api_client.get("/api/v1/no-such-thing"), 404) == {"detail": "Not found."}


def test_method_not_allowed_on_the_api_answers_405_in_json(auth_client):
    response = auth_client("admin").put("/api/v1/event-types", data={}, format="json")
    assert_json_error(response, 405)
    assert "GET" in response["Allow"]


@override_settings(ROOT_URLCONF=__name__)
@pytest.mark.parametrize("debug", [False, True])
def test_server_error_on_an_api_path_answers_500_in_json(debug):
    with override_settings(DEBUG=debug):
        response = Client(raise_request_exception=False).get("/api/v1/boom")
    assert assert_json_error(response, 500) == {"detail": "A server error occurred."}


def test_unknown_console_path_stays_an_html_page(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_error_of_the_schema_view_answers_json_not_yaml(auth_client):
    response = auth_client("admin").post("/api/schema/", data={}, format="json")
    assert assert_json_error(response, 405) == {"detail": 'Method "POST" not allowed.'}
    assert "GET" in response["Allow"]


def test_error_of_the_health_check_answers_json(client):
    response = client.post("/healthz")
    assert assert_json_error(response, 405) == {"detail": "Method Not Allowed."}
    assert response["Allow"] == "GET"


def test_oversized_body_on_the_token_endpoint_answers_413_in_json_before_any_login(api_client):
    response = api_client.post("/api/v1/auth/token", data=big_json(), content_type="application/json")
    assert "limit is 2,621,440 bytes" in assert_json_error(response, 413)["detail"]


def test_oversized_body_on_the_compatible_insights_api_answers_413_in_its_json_shape(auth_client):
    response = auth_client("admin").post(
        "/insights/directory/v1/events", data=big_json(), content_type="application/json"
    )
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert "limit is 2,621,440 bytes" in response.json()["message"]


def test_browsable_api_errors_stay_html_pages(auth_client):
    response = auth_client("admin").get("/api/v1/rules/999999", HTTP_ACCEPT="text/html")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")

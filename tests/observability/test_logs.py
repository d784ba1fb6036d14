"""LOG_FORMAT=json (api.md §13): one JSON object a line, an access line a request, no secrets."""

from __future__ import annotations

import logging

import orjson
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, override_settings

from alertsite.observability.logconfig import log_format_check, logging_config
from alertsite.observability.request_id import HEADER
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def access_lines(lines: list[dict]) -> list[dict]:
    return [line for line in lines if line["logger"] == "alertsite.access"]


def test_each_request_writes_one_access_line_with_request_id_user_and_duration(json_lines, auth_client):
    client = auth_client("viewer")
    with override_settings(ALERTSITE_ACCESS_LOG=True):
        response = client.get("/api/v1/event-types")

    [line] = access_lines(json_lines())
    assert line["request_id"] == response[HEADER]
    assert line["user"] == client.user.username
    assert (line["method"], line["path"], line["route"], line["status"]) == (
        "GET",
        "/api/v1/event-types",
        "event-type-list",
        200,
    )
    assert line["duration_ms"] > 0
    assert line["level"] == "INFO" and line["time"]


def test_log_lines_written_during_a_request_carry_its_request_id(json_lines):
    with override_settings(ALERTSITE_ACCESS_LOG=True):
        response = Client().post(
            "/api/v1/events", data=b"x" * 10, content_type="application/json", HTTP_X_REQUEST_ID="trace-42"
        )
    assert response.status_code in (400, 401)
    assert {line["request_id"] for line in json_lines() if line["logger"].startswith(("django", "alertsite"))} == {
        "trace-42"
    }


def test_no_access_line_when_the_access_log_is_off(json_lines):
    with override_settings(ALERTSITE_ACCESS_LOG=False):
        Client().get("/healthz")
    assert access_lines(json_lines()) == []


def test_credentials_sent_with_a_request_never_reach_the_log(json_lines, make_user):
    make_user("admin", username="rita")
    secrets = ["Token abcdef0123456789", "xapikey-0123456789", "hunter2-password-!", PASSWORD]
    with override_settings(ALERTSITE_ACCESS_LOG=True):
        client = Client()
        client.post(
            "/api/v1/auth/token?password=hunter2-password-!",
            data=orjson.dumps({"username": "rita", "password": PASSWORD}),
            content_type="application/json",
            HTTP_AUTHORIZATION=secrets[0],
        )
        client.post(
            "/insights/directory/v1/events",
            data=b"{}",
            content_type="application/json",
            HTTP_X_API_KEY=secrets[1],
            HTTP_AUTHORIZATION=secrets[0],
        )
        client.post("/accounts/login/", {"username": "rita", "password": secrets[2]})
    logger = logging.getLogger("alertsite.test")
    logger.warning("a careless call", extra={"password": secrets[2], "config": {"api_key": secrets[1]}})

    lines = json_lines()
    written = "\n".join(orjson.dumps(line).decode() for line in lines)
    assert len(access_lines(lines)) == 3
    for secret in secrets:
        assert secret not in written
    careless = next(line for line in lines if line["message"] == "a careless call")
    assert careless["password"] == "***" and careless["config"] == {"api_key": "***"}


def test_text_stays_the_default_format():
    config = logging_config(log_format=log_format_check("text"), level="INFO")
    assert config["handlers"]["console"]["formatter"] == "plain"
    assert config["formatters"]["plain"]["format"] == "%(asctime)s %(levelname)s %(name)s %(message)s"


def test_an_unknown_log_format_stops_start_up_naming_the_setting_and_the_choices():
    with pytest.raises(ImproperlyConfigured, match=r"LOG_FORMAT must be one of text, json; got 'xml'"):
        log_format_check("xml")

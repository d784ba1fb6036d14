"""Every console, admin and API login is recorded as `alertsite_login_attempt` (api.md §13)."""

from __future__ import annotations

import orjson
import pytest

from events.models import AuditEvent, EventType
from rules.models import RuleTemplate
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token"
LOGIN_URL = "/accounts/login/"
SECRET = "my-secret-guess-9f3a"


@pytest.fixture(autouse=True)
def throttle_settings(settings):
    settings.ALERTSITE_LOGIN_MAX_FAILURES = 3


def login_events():
    return [event.payload for event in AuditEvent.objects.filter(event_type="alertsite_login_attempt").order_by("pk")]


def test_a_successful_api_login_is_recorded(api_client, make_user):
    user = make_user("viewer", email="vera@example.com")

    api_client.post(
        TOKEN_URL, {"username": user.username, "password": PASSWORD}, format="json", REMOTE_ADDR="198.51.100.4"
    )

    [event] = login_events()
    assert event["service"] == "alerts"
    assert event["success"] is True
    assert event["initiated_by"] == {
        "type": "user",
        "id": str(user.pk),
        "username": user.username,
        "email": "vera@example.com",
    }
    assert event["resource"] == event["initiated_by"]
    assert event["client_ip"] == "198.51.100.4"
    assert event["auth_method"] == "token"
    assert event["interface"] == "api"
    assert event["throttled"] is False
    assert event["auth_context"] == {"auth_methods": {"password": {"success": True}}}
    assert AuditEvent.objects.get(event_type="alertsite_login_attempt").client_ip == "198.51.100.4"


def test_a_failed_api_login_is_recorded_with_why(api_client, make_user):
    user = make_user("viewer")

    api_client.post(TOKEN_URL, {"username": user.username, "password": SECRET}, format="json")

    [event] = login_events()
    assert event["success"] is False
    assert event["error_message"] == "invalid credentials"
    assert event["initiated_by"]["username"] == user.username
    assert event["auth_context"] == {"auth_methods": {"password": {"success": False}}}


def test_a_login_as_an_unknown_username_is_recorded_with_the_username_only(api_client, db):
    api_client.post(TOKEN_URL, {"username": "mallory", "password": SECRET}, format="json")

    [event] = login_events()
    assert event["initiated_by"] == {"type": "user", "username": "mallory"}


def test_console_logins_are_recorded_as_session_logins(client, make_user):
    user = make_user("viewer")

    client.post(LOGIN_URL, {"username": user.username, "password": SECRET}, HTTP_USER_AGENT="Firefox/140")
    client.post(LOGIN_URL, {"username": user.username, "password": PASSWORD})

    failure, success = login_events()
    assert (failure["success"], success["success"]) == (False, True)
    assert failure["auth_method"] == success["auth_method"] == "session"
    assert failure["interface"] == "console"
    assert failure["useragent"] == {"raw": "Firefox/140"}


def test_django_admin_logins_are_recorded(client, make_user):
    user = make_user("admin")

    client.post("/admin/login/", {"username": user.username, "password": PASSWORD})

    [event] = login_events()
    assert event["success"] is True
    assert event["interface"] == "admin"


def test_throttled_refusals_are_recorded_as_failures_saying_so(api_client, make_user):
    user = make_user("viewer")
    for _ in range(3):
        api_client.post(TOKEN_URL, {"username": user.username, "password": SECRET}, format="json")

    api_client.post(TOKEN_URL, {"username": user.username, "password": PASSWORD}, format="json")

    refused = login_events()[-1]
    assert refused["success"] is False
    assert refused["throttled"] is True
    assert refused["error_message"] == "too many failed login attempts"
    assert refused["locked_until"].endswith("Z")
    assert "auth_context" not in refused  # the password was never checked


def test_no_password_is_ever_stored_in_an_event(api_client, client, make_user):
    user = make_user("viewer")
    for _ in range(4):
        api_client.post(TOKEN_URL, {"username": user.username, "password": SECRET}, format="json")
    client.post(LOGIN_URL, {"username": user.username, "password": SECRET})

    stored = b"".join(orjson.dumps(event) for event in login_events())
    assert len(login_events()) == 5
    assert SECRET.encode() not in stored
    assert PASSWORD.encode() not in stored
    assert b'password":"' not in stored


def test_a_missing_field_is_a_400_and_no_login_attempt(api_client, db):
    response = api_client.post(TOKEN_URL, {"username": "bob"}, format="json")

    assert response.status_code == 400
    assert login_events() == []


def test_the_event_type_is_in_the_catalog_with_its_keys(db):
    event_type = EventType.objects.get(name="alertsite_login_attempt")

    assert event_type.known is True
    assert {"success", "client_ip", "initiated_by.username", "throttled"} <= set(event_type.keys)


def test_the_template_is_loaded_by_migrate(db):
    template = RuleTemplate.objects.get(slug="alertsite_failed_logins")

    assert template.name == "Repeated failed logins to alertsite"
    assert template.built_in is True
    assert template.rule["conditions"] == [
        {
            "event_type": "alertsite_login_attempt",
            "match": "all",
            "filters": [{"key": "success", "operator": "eq", "value": False}],
        }
    ]
    assert template.rule["threshold"] == {"count": 5, "window_minutes": 10}
    assert template.rule["group_by"] == ["initiated_by.username"]

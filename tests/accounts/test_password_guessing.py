"""End to end over real HTTP: a password-guessing script is slowed to a crawl and shows up as an alert.

The live server answers in another thread, so the data is committed (transaction=True) and the
catalog and templates are put back after the flush (serialized_rollback=True, as tests/browser does).
"""

from __future__ import annotations

from urllib.error import HTTPError
from urllib.request import Request, urlopen

import orjson
import pytest
from django.apps import apps

from alertsite.accounts import services

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture(autouse=True)
def catalog_and_templates(db):
    from events.apps import catalog_ensure
    from rules.apps import builtin_templates_ensure

    catalog_ensure(apps.get_app_config("events"))
    builtin_templates_ensure(apps.get_app_config("rules"))


def call(url: str, body: dict, token: str = "", method: str = "POST") -> tuple[int, dict, dict]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Token {token}"
    data = orjson.dumps(body) if method == "POST" else None
    try:
        with urlopen(Request(url, data=data, method=method, headers=headers), timeout=30) as response:
            return response.status, dict(response.headers), orjson.loads(response.read())
    except HTTPError as error:
        return error.code, dict(error.headers), orjson.loads(error.read())


def test_a_guessing_loop_is_refused_after_five_failures_and_raises_the_templates_alert(live_server, make_user):
    admin_token = services.token_issue(user=make_user("admin"))
    victim = make_user("responder", username="rita")
    status, _, rule = call(f"{live_server.url}/api/v1/rules", {"template": "alertsite_failed_logins"}, admin_token)
    assert status == 201, rule

    outcomes = []
    for guess in range(10):
        status, headers, body = call(
            f"{live_server.url}/api/v1/auth/token", {"username": victim.username, "password": f"guess-{guess}"}
        )
        outcomes.append(status)
        if status == 429:
            assert int(headers["Retry-After"]) > 0
            assert body["retry_after"] == int(headers["Retry-After"])

    assert outcomes == [401] * 5 + [429] * 5
    status, _, alerts = call(f"{live_server.url}/api/v1/alerts?rule={rule['id']}", {}, admin_token, method="GET")
    assert status == 200
    [alert] = alerts["results"]
    assert alert["rule"]["name"] == "Repeated failed logins to alertsite"
    assert alert["priority"] == "high"
    assert alert["source_id"] == str(victim.pk)

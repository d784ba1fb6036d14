"""Fixtures of the compatible query API: stored events and clients sending `x-api-key`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest
from django.test import Client

from alertsite.accounts import services as accounts
from alertsite.accounts.roles import Role
from events.services import event_batch_ingest
from events.validation import Limits, events_validate
from tests.factories import make_event

BASE = "/insights/directory/v1"
START = "2025-03-01T00:00:00Z"


@pytest.fixture
def store() -> Callable[..., None]:
    """``store(*events)``: put events in the log through the ingestion path (ids must differ)."""

    def put(*events: dict[str, Any]) -> None:
        records, errors = events_validate(list(events), limits=Limits.from_settings())
        assert not errors, errors
        event_batch_ingest(records=records)

    return put


@pytest.fixture
def event() -> Callable[..., dict[str, Any]]:
    """``event(n, **fields)``: make_event with the id `evt-<n>` and a timestamp on 2025-03-02."""

    def make(number: int, **overrides: Any) -> dict[str, Any]:
        fields: dict[str, Any] = {"id": f"evt-{number:06d}", "timestamp": "2025-03-02T09:16:41.077Z"}
        fields.update(overrides)
        return make_event(**fields)

    return make


class InsightsClient:
    """POSTs JSON bodies to the compatible API with one API key."""

    def __init__(self, key: str | None) -> None:
        self.client = Client()
        self.key = key

    def post(self, path: str, body: Any, *, raw: bytes | None = None, **headers: str) -> Any:
        if self.key is not None:
            headers.setdefault("x-api-key", self.key)
        data = raw if raw is not None else orjson.dumps(body)
        return self.client.post(BASE + path, data=data, content_type="application/json", headers=headers)


@pytest.fixture
def insights(make_user) -> Callable[..., InsightsClient]:
    """``insights("viewer")``: a client whose x-api-key is the token of a new user with that role."""

    def make(role: Role | str = Role.VIEWER) -> InsightsClient:
        return InsightsClient(accounts.token_issue(user=make_user(role)))

    return make


@pytest.fixture
def viewer(insights) -> InsightsClient:
    return insights(Role.VIEWER)


def query(**fields: Any) -> dict[str, Any]:
    """A valid /events body: every service from START on; override what the test is about."""
    body: dict[str, Any] = {"service": ["all"], "start_time": START}
    body.update(fields)
    return {key: value for key, value in body.items() if value is not ...}


def ids(response: Any) -> list[str]:
    return [item["id"] for item in orjson.loads(response.content)]

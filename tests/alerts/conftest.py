"""Fixtures for alert tests."""

from __future__ import annotations

from collections.abc import Callable
from itertools import count

import orjson
import pytest

from alerts.models import Alert
from rules.services import rule_create

_ids = count(1)


@pytest.fixture
def raise_alert(ingest_client, django_capture_on_commit_callbacks) -> Callable[[dict], Alert]:
    """Return a factory: raise one alert from the given event (one catch-all rule per event type).

    Each event gets a fresh id. test_transitions.py has its own ``raise_alert`` (rule and timing by keyword).
    """
    rules: set[str] = set()

    def make(event: dict) -> Alert:
        event = {**event, "id": f"raised{next(_ids)}"}
        if event["event_type"] not in rules:
            rules.add(event["event_type"])
            rule_create(
                data={
                    "name": f"Any {event['event_type']}",
                    "priority": "high",
                    "conditions": [{"event_type": event["event_type"]}],
                },
                actor=None,
            )
        before = set(Alert.objects.values_list("pk", flat=True))
        with django_capture_on_commit_callbacks(execute=True):
            response = ingest_client.post("/api/v1/events", data=orjson.dumps([event]), content_type="application/json")
        assert response.status_code == 202, response.content
        return Alert.objects.exclude(pk__in=before).get()

    return make

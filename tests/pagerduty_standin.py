"""A PagerDuty Events API v2 stand-in on 127.0.0.1: checks each event, answers as PagerDuty does.

Each request is checked against the fields of tests/fixtures/pagerduty/events-v2.json for its
`event_action`; a valid one gets 202 `{"status": "success", "message": "Event processed",
"dedup_key"}`, an invalid one 400 `{"status": "invalid event", "message", "errors"}`. Scripted
answers (``standin.script(Reply.with_status(429, retry_after=1))``) come first, as for
``WebhookReceiver``. Every request is recorded (``events``: the valid bodies, in order)::

    with PagerDutyStandIn() as pagerduty:
        ...  # a pagerduty channel with events_url=pagerduty.url
        assert [e["event_action"] for e in pagerduty.wait_for_events(3)] == ["trigger", ...]
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from tests.receivers import ReceivedRequest, Reply, WebhookReceiver

FIELDS = orjson.loads((Path(__file__).parent / "fixtures" / "pagerduty" / "events-v2.json").read_bytes())


def event_problems(body: bytes) -> list[str]:
    """What PagerDuty would refuse in this Events API v2 body (empty when it is valid)."""
    try:
        event = orjson.loads(body)
    except orjson.JSONDecodeError:
        return ["Body is not valid JSON"]
    if not isinstance(event, dict):
        return ["Event must be a JSON object"]
    common, problems = FIELDS["common"], []
    problems += [f"'{key}' is missing or blank" for key in common["required"] if not event.get(key)]
    action = event.get("event_action")
    if action not in common["event_action"]:
        return [*problems, "'event_action' must be one of trigger, acknowledge, resolve"]
    rules = FIELDS[action]
    problems += [f"'{key}' is missing or blank" for key in rules["required"] if not event.get(key)]
    key = event.get("routing_key")
    if not isinstance(key, str) or len(key) != common["routing_key_length"]:
        problems.append("'routing_key' must be a 32 character integration key")
    dedup = event.get("dedup_key")
    if dedup is not None and (not isinstance(dedup, str) or len(dedup) > common["dedup_key_max"]):
        problems.append("'dedup_key' must be a string of at most 255 characters")
    if action == "trigger":
        problems += _trigger_problems(event, rules, len(body))
    return problems


def _trigger_problems(event: dict[str, Any], rules: dict[str, Any], size: int) -> list[str]:
    problems = []
    if size > rules["max_body_bytes"]:
        problems.append("Event is larger than 512 KB")
    payload = event.get("payload")
    if not isinstance(payload, dict):
        return ["'payload' must be an object"]
    problems += [f"'payload.{key}' is missing or blank" for key in rules["payload_required"] if not payload.get(key)]
    if isinstance(payload.get("summary"), str) and len(payload["summary"]) > rules["summary_max"]:
        problems.append("'payload.summary' is longer than 1024 characters")
    if payload.get("severity") not in rules["severity"]:
        problems.append("'payload.severity' must be one of critical, error, warning, info")
    for name in rules["payload_optional_strings"]:
        if name in payload and not isinstance(payload[name], str):
            problems.append(f"'payload.{name}' must be a string")
    if "timestamp" in payload and isinstance(payload["timestamp"], str):
        try:
            datetime.fromisoformat(payload["timestamp"].replace("Z", "+00:00"))
        except ValueError:
            problems.append("'payload.timestamp' must be an ISO 8601 time")
    for name in rules["payload_optional_objects"]:
        if name in payload and not isinstance(payload[name], dict):
            problems.append(f"'payload.{name}' must be an object")
    for name in rules["optional_strings"]:
        if name in event and not isinstance(event[name], str):
            problems.append(f"'{name}' must be a string")
    for index, link in enumerate(event.get("links") or []):
        if not isinstance(link, dict) or not all(link.get(key) for key in rules["link_required"]):
            problems.append(f"'links[{index}].href' is missing")
    return problems


class PagerDutyStandIn(WebhookReceiver):
    """`WebhookReceiver` answering as the Events API v2 does (see the module docstring)."""

    def __init__(self, *script: Reply | str | int, keep_alive: bool = True) -> None:
        super().__init__(*script, keep_alive=keep_alive)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v2/enqueue"

    @property
    def events(self) -> list[dict[str, Any]]:
        """The bodies of the requests that were valid and accepted (202), in order of arrival."""
        with self._condition:
            return [request.json() for request, reply in self._answers if reply.status == 202]

    def wait_for_events(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.events) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} accepted event(s) within {timeout}s, got {self.events}")
            time.sleep(0.05)
        return self.events

    def _record(self, request: ReceivedRequest) -> Reply:
        with self._condition:
            self.requests.append(request)
            reply = self._script.pop(0) if self._script else self._answer(request.body)
            self._answers.append((request, reply))
            self._condition.notify_all()
        return reply

    @property
    def _answers(self) -> list[tuple[ReceivedRequest, Reply]]:
        if not hasattr(self, "_answer_log"):
            self._answer_log: list[tuple[ReceivedRequest, Reply]] = []
        return self._answer_log

    @staticmethod
    def _answer(body: bytes) -> Reply:
        problems = event_problems(body)
        if problems:
            answer = {"status": "invalid event", "message": "Event object is invalid", "errors": problems}
            return Reply(status=400, body=orjson.dumps(answer))
        event = orjson.loads(body)
        dedup_key = event.get("dedup_key") or "generated-dedup-key"
        answer = {"status": "success", "message": "Event processed", "dedup_key": dedup_key}
        return Reply(status=202, body=orjson.dumps(answer))

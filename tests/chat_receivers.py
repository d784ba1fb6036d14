"""Local stand-ins for Slack's and Teams' incoming webhooks: real HTTP servers on 127.0.0.1 that
check every payload against the published shape and answer as the services do.

- ``SlackReceiver``: the body must match tests/fixtures/slack-block-kit.schema.json (written
  from Slack's Block Kit reference: Slack publishes no schema). A valid message gets 200 with
  the text body ``ok``; an invalid one 400 ``invalid_blocks`` (JSON that is not a message at all:
  ``invalid_payload``), as Slack answers.
- ``TeamsReceiver``: the body must be a Workflows message envelope whose one attachment is an
  Adaptive Card valid against Microsoft's schema (tests/fixtures/adaptive-card.schema.json) at
  version 1.4 or 1.5; a valid one gets 202 Accepted with an empty body, an invalid one 400.

Scripted replies (``receiver.script(Reply.with_status(429, retry_after=30))``) are answered to
valid requests in place of the success answer; every request is recorded, and the problems
found in it are in ``receiver.invalid``::

    with SlackReceiver() as slack:
        ...  # a slack channel with webhook_url=slack.url
        request = slack.wait_for(1)[0]
        assert slack.invalid == []
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import orjson
from jsonschema import Draft6Validator, Draft202012Validator

from tests.receivers import ReceivedRequest, Reply, WebhookReceiver

FIXTURES = Path(__file__).parent / "fixtures"
ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
CARD_VERSIONS = ("1.4", "1.5")


@cache
def slack_validator() -> Draft202012Validator:
    return Draft202012Validator(json.loads((FIXTURES / "slack-block-kit.schema.json").read_text()))


@cache
def adaptive_card_validator() -> Draft6Validator:
    return Draft6Validator(json.loads((FIXTURES / "adaptive-card.schema.json").read_text()))


def _problems(validator: Any, document: Any, where: str = "") -> list[str]:
    return [
        f"{where}{'/'.join(str(p) for p in error.absolute_path) or '(root)'}: {error.message[:300]}"
        for error in validator.iter_errors(document)
    ]


def slack_problems(body: bytes) -> tuple[str, list[str]]:
    """(Slack's error word, what is wrong): ("", []) for a message Slack would post."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return "invalid_payload", ["the body is not JSON"]
    if not isinstance(document, dict):
        return "invalid_payload", ["the body is not a JSON object"]
    problems = _problems(slack_validator(), document)
    return ("invalid_blocks", problems) if problems else ("", [])


def teams_problems(body: bytes) -> list[str]:
    """What keeps Workflows from posting this body as an Adaptive Card ([] when nothing)."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return ["the body is not JSON"]
    if not isinstance(document, dict) or document.get("type") != "message":
        return ['the body must be {"type": "message", "attachments": [...]}']
    attachments = document.get("attachments")
    if not isinstance(attachments, list) or len(attachments) != 1:
        return ["attachments must hold exactly one card"]
    attachment = attachments[0]
    if not isinstance(attachment, dict) or attachment.get("contentType") != ADAPTIVE_CARD:
        return [f"the attachment's contentType must be {ADAPTIVE_CARD}"]
    card = attachment.get("content")
    if not isinstance(card, dict):
        return ["the attachment has no card in content"]
    problems = _problems(adaptive_card_validator(), card, "content/")
    if card.get("type") != "AdaptiveCard":
        problems.append('content/type: must be "AdaptiveCard"')
    if card.get("version") not in CARD_VERSIONS:
        problems.append(f"content/version: {card.get('version')!r} is not one of {', '.join(CARD_VERSIONS)}")
    return problems


class _ValidatingReceiver(WebhookReceiver):
    """Records each request with what is wrong with it; invalid ones get the service's 400."""

    def __init__(self, *script: Reply | str | int, **kwargs: Any) -> None:
        super().__init__(*script, default=self.success(), **kwargs)
        self.invalid: list[tuple[ReceivedRequest, list[str]]] = []

    @staticmethod
    def success() -> Reply:
        raise NotImplementedError

    def check(self, request: ReceivedRequest) -> Reply | None:
        """None for a valid request, else the service's answer to it (and the problems recorded)."""
        raise NotImplementedError

    def _record(self, request: ReceivedRequest) -> Reply:
        refusal = self.check(request)
        if refusal is None:
            return super()._record(request)  # the next scripted answer, or success
        with self._condition:  # recorded, the script left for the next valid request
            self.requests.append(request)
            self._condition.notify_all()
        return refusal


class SlackReceiver(_ValidatingReceiver):
    @staticmethod
    def success() -> Reply:
        return Reply(status=200, headers={"Content-Type": "text/html"}, body=b"ok")

    @staticmethod
    def error(word: str, status: int = 400) -> Reply:
        """Slack's answer to a refused message: the status and one word as a plain-text body."""
        return Reply(status=status, headers={"Content-Type": "text/html"}, body=word.encode())

    def check(self, request: ReceivedRequest) -> Reply | None:
        word, problems = slack_problems(request.body)
        if request.header("Content-Type") != "application/json":
            word, problems = "invalid_payload", [*problems, "Content-Type must be application/json"]
        if not word:
            return None
        with self._condition:
            self.invalid.append((request, problems))
        return self.error(word)


class TeamsReceiver(_ValidatingReceiver):
    @staticmethod
    def success() -> Reply:
        return Reply(status=202, headers={"Content-Type": "text/plain"}, body=b"")

    def check(self, request: ReceivedRequest) -> Reply | None:
        problems = teams_problems(request.body)
        if request.header("Content-Type") != "application/json":
            problems.append("Content-Type must be application/json")
        if not problems:
            return None
        with self._condition:
            self.invalid.append((request, problems))
        body = orjson.dumps({"error": {"code": "InvalidRequestContent", "message": "; ".join(problems)[:400]}})
        return Reply(status=400, body=body)

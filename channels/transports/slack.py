"""Slack transport: a Block Kit message posted to an incoming-webhook URL.

The blocks sit in one legacy attachment so the message gets its priority's colour bar (Block
Kit itself has no colour); `text` is the notification and fallback line. Values from events are
escaped for mrkdwn (&, <, >), so an event can't mention @channel or forge a link. Slack answers
200 "ok"; 400 `invalid_payload`/`invalid_blocks`, 403, 404 `no_service`, 410
`channel_is_archived` are permanent (the body is the error); 429 with Retry-After and 5xx are
retried (chat_base.ChatWebhookTransport.outcome).
"""

from __future__ import annotations

from typing import Any

from channels.transports.base import Outgoing, transports
from channels.transports.chat_base import ChatWebhookTransport
from channels.transports.chat_message import chat_message

MAX_HEADER = 150  # Block Kit: header text
MAX_SECTION = 3000  # section text
MAX_FIELD = 2000  # one section field
MAX_FIELDS = 10  # fields per section
MAX_BUTTON = 75  # button text
MAX_BUTTON_URL = 3000


def mrkdwn_escape(text: str) -> str:
    """Slack's three control characters, so `<!channel>` or `<https://x|y>` arrive as text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def slack_payload(message: Outgoing, *, text: str | None = None) -> dict[str, Any]:
    """The incoming-webhook body for this notification; `text` (the channel's template) replaces
    the title and the facts, escaped like any value (no @channel, no forged links)."""
    parts = chat_message(message)
    title = mrkdwn_escape(text) if text is not None else f"*{mrkdwn_escape(parts.title)}*"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _cut(parts.heading, MAX_HEADER), "emoji": False}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _cut(title, MAX_SECTION)}},
    ]
    fields = [
        {"type": "mrkdwn", "text": _cut(f"*{label}*\n{mrkdwn_escape(value)}", MAX_FIELD)}
        for label, value in ([] if text is not None else parts.facts)
    ]
    for start in range(0, len(fields), MAX_FIELDS):
        blocks.append({"type": "section", "fields": fields[start : start + MAX_FIELDS]})
    if parts.link and len(parts.link) <= MAX_BUTTON_URL:
        button: dict[str, Any] = {
            "type": "button",
            "action_id": "open",
            "text": {"type": "plain_text", "text": _cut(parts.link_label, MAX_BUTTON)},
            "url": parts.link,
        }
        if message.kind == "alert.created":
            button["style"] = "primary"
        blocks.append({"type": "actions", "elements": [button]})
    blocks.append(
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"alertsite · delivery {message.delivery_id}"}]}
    )
    return {
        "text": mrkdwn_escape(parts.fallback),
        "attachments": [{"color": parts.colour, "fallback": mrkdwn_escape(parts.fallback), "blocks": blocks}],
    }


class SlackTransport(ChatWebhookTransport):
    label = "Slack"
    service = "Slack"

    def payload(self, message: Outgoing, *, text: str | None = None) -> dict[str, Any]:
        return slack_payload(message, text=text)


transports.add("slack", SlackTransport())

"""Teams transport: an Adaptive Card (1.5) posted to a Workflows ("Post to a channel when a
webhook request is received") URL, in the message envelope Workflows expects.

Workflows answers 202 Accepted (200 from some flows); errors follow the shared HTTP rules
(chat_base.ChatWebhookTransport.outcome). Adaptive Card text is Markdown-light and never
executes anything, so values go in as they are; the card has no colour bar, so the priority
colours the heading and the container's style.
"""

from __future__ import annotations

from typing import Any

from channels.transports.base import Outgoing, transports
from channels.transports.chat_base import ChatWebhookTransport
from channels.transports.chat_message import chat_message

CARD_VERSION = "1.5"
CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
CONTAINER_STYLES = {"attention": "attention", "warning": "warning", "accent": "accent"}


def adaptive_card(message: Outgoing, *, text: str | None = None) -> dict[str, Any]:
    """The card itself (the `content` of the attachment); `text` (the channel's template)
    replaces the title and the facts."""
    parts = chat_message(message)
    card: dict[str, Any] = {
        "$schema": CARD_SCHEMA,
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "fallbackText": parts.fallback,
        "body": [
            {
                "type": "Container",
                "style": CONTAINER_STYLES.get(parts.card_colour, "emphasis"),
                "items": [
                    {
                        "type": "TextBlock",
                        "text": parts.heading,
                        "weight": "Bolder",
                        "size": "Small",
                        "color": parts.card_colour,
                        "wrap": True,
                    },
                    {"type": "TextBlock", "text": parts.title, "weight": "Bolder", "size": "Medium", "wrap": True}
                    if text is None
                    else {"type": "TextBlock", "text": text, "wrap": True},
                ],
            },
            {
                "type": "TextBlock",
                "text": f"alertsite · delivery {message.delivery_id}",
                "isSubtle": True,
                "size": "Small",
                "wrap": True,
            },
        ],
    }
    if parts.facts and text is None:
        facts = [{"title": label, "value": value} for label, value in parts.facts]
        card["body"].insert(1, {"type": "FactSet", "facts": facts})
    if parts.link:
        card["actions"] = [{"type": "Action.OpenUrl", "title": parts.link_label, "url": parts.link}]
    return card


def teams_payload(message: Outgoing, *, text: str | None = None) -> dict[str, Any]:
    """The Workflows webhook body: a message with the card as its one attachment."""
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": adaptive_card(message, text=text),
            }
        ],
    }


class TeamsTransport(ChatWebhookTransport):
    label = "Microsoft Teams"
    service = "Teams"

    def payload(self, message: Outgoing, *, text: str | None = None) -> dict[str, Any]:
        return teams_payload(message, text=text)


transports.add("teams", TeamsTransport())

"""What a chat message (Slack, Teams) says, whatever it is drawn with: one place for the wording.

Slack's Block Kit and Teams' Adaptive Card show the same parts: a heading, the title, the
priority (as a colour), who/what/where facts and a link. Building them once keeps the two
transports saying the same thing, and keeps them renderers only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from channels.transports.base import Outgoing

HEADINGS = {
    "alert.created": "New alert",
    "alert.acknowledged": "Alert acknowledged",
    "alert.resolved": "Alert resolved",
    "alert.reminder": "Reminder: alert still open",
    "alert.escalated": "Escalated: alert still unacknowledged",
    "event.matched": "Event matched",
    "test": "Test notification",
}
# Colour bars (Slack) by priority: red, amber, blue; grey when there is none (event.matched).
PRIORITY_COLOURS = {"high": "#d1242f", "medium": "#bf8700", "low": "#0969da"}
NO_PRIORITY_COLOUR = "#6e7781"
# Adaptive Card text colours by priority (the card has no colour bar).
PRIORITY_CARD_COLOURS = {"high": "attention", "medium": "warning", "low": "accent"}
MAX_FACT = 300  # characters of one fact's value: events may carry long strings


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= MAX_FACT else text[: MAX_FACT - 1] + "…"


@dataclass(frozen=True)
class ChatMessage:
    heading: str  # "New alert · ALR-000007"
    title: str
    priority: str  # "high" | "medium" | "low" | ""
    facts: list[tuple[str, str]]  # (label, value), in the order shown
    link: str  # absolute URL, or "" for no button
    link_label: str
    fallback: str  # one line for notifications and clients that show no blocks/cards

    @property
    def colour(self) -> str:
        return PRIORITY_COLOURS.get(self.priority, NO_PRIORITY_COLOUR)

    @property
    def card_colour(self) -> str:
        return PRIORITY_CARD_COLOURS.get(self.priority, "default")


def _transition_fact(message: Outgoing) -> tuple[str, str] | None:
    transition = message.notification.transition
    if transition is None:
        return None
    by = _object(transition.by)
    who = by.get("username") or by.get("email") or "the system"
    text = f"{who} at {transition.at[:10]} {transition.at[11:19]} UTC".strip()
    if transition.note:
        text += f": {transition.note}"
    return ("Acknowledged by" if transition.to_status == "acknowledged" else "Resolved by", _short(text))


def event_facts(event: dict[str, Any] | None) -> list[tuple[str, str]]:
    """Who did what, where and when, from the triggering event (as ingested: any shape)."""
    if not isinstance(event, dict):
        return []
    initiated, resource, geoip = (_object(event.get(key)) for key in ("initiated_by", "resource", "geoip"))
    rows = [
        ("Who", initiated.get("email") or initiated.get("username") or initiated.get("id")),
        ("What", event.get("event_type")),
        ("Resource", resource.get("email") or resource.get("username") or resource.get("name") or resource.get("id")),
        ("Where", " ".join(str(v) for v in (event.get("client_ip"), geoip.get("country_code")) if v)),
        ("When", event.get("timestamp")),
        ("Outcome", {True: "success", False: "failure"}.get(event.get("success"))),  # type: ignore[arg-type]
    ]
    return [(label, _short(value)) for label, value in rows if value not in (None, "")]


def chat_message(message: Outgoing) -> ChatMessage:
    """The parts of a chat message for this notification. The test notification's URL is its
    channel's page (channels.services.outbox.channel_test), never an alert that does not exist."""
    notification = message.notification
    kind = message.kind
    heading = HEADINGS.get(kind, kind)
    if notification.reference and kind != "test":
        heading += f" · {notification.reference}"
    title = notification.title or notification.rule.name or "alertsite"
    facts: list[tuple[str, str]] = []
    if notification.priority:
        facts.append(("Priority", notification.priority.capitalize()))
    if notification.alert is not None and kind != "test":
        facts.append(("Status", notification.alert.status.capitalize()))
    if notification.rule.name and notification.alert is not None:  # without an alert the rule is the title
        facts.append(("Rule", _short(notification.rule.name)))
    if notification.alert is not None and notification.alert.explanation:
        facts.append(("Why", _short(notification.alert.explanation)))
    transition = _transition_fact(message)
    if transition is not None:
        facts.append(transition)
    facts += event_facts(notification.event)
    url = notification.url
    label = "Open channel" if kind == "test" else ("Open alert" if notification.alert is not None else "Open alertsite")
    priority = f"[{notification.priority.capitalize()}] " if notification.priority else ""
    return ChatMessage(
        heading=heading,
        title=_short(title),
        priority=notification.priority,
        facts=facts,
        link=url,
        link_label=label,
        fallback=f"{priority}{heading}: {_short(title)}",
    )

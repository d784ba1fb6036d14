"""The typed notification: what alerts hands channels, complete, and all any transport renders from.

alerts builds a `Notification` (kind, reference, title, priority, URL, transition, event) and
hands it to `channels.services.notification_enqueue`; the outbox row stores it as JSON
(`Notification.as_json`) and the sender rebuilds it (`Notification.from_json`) before a
transport renders it. channels never reaches back into alerts or rules: everything a message
needs is in here.

The JSON form is the body of an outgoing webhook without its envelope fields (api.md,
"Outgoing webhook"), so a stored row reads like what receivers get.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class RuleRef:
    """The rule a notification is about, as it was named when the notification was made."""

    id: int | None
    name: str

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name}


@dataclass(frozen=True, slots=True)
class TransitionInfo:
    """One status change of an alert: from, to, who (None for the system), when (ISO 8601), remark."""

    from_status: str
    to_status: str
    by: dict[str, Any] | None
    at: str
    note: str

    def as_json(self) -> dict[str, Any]:
        return {"from": self.from_status, "to": self.to_status, "by": self.by, "at": self.at, "note": self.note}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TransitionInfo:
        return cls(
            from_status=str(data.get("from") or ""),
            to_status=str(data.get("to") or ""),
            by=data.get("by"),
            at=str(data.get("at") or ""),
            note=str(data.get("note") or ""),
        )


@dataclass(frozen=True, slots=True)
class AlertInfo:
    """The alert part of a notification: enough for a subject line, a card and a link back."""

    id: int
    reference: str
    status: str
    priority: str
    title: str
    event_count: int
    url: str
    rule: RuleRef
    transition: TransitionInfo | None = None
    # Why a detection's alert was raised ("first time in 30 days: alice@example.com, FR"); "" for plain rules.
    explanation: str = ""

    def as_json(self, *, with_transition: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "reference": self.reference,
            "status": self.status,
            "priority": self.priority,
            "title": self.title,
            "event_count": self.event_count,
            "rule": self.rule.as_json(),
        }
        if self.explanation:  # only detections explain: a plain alert's body stays as it was
            body["explanation"] = self.explanation
        if with_transition or self.transition is not None:
            body["transition"] = self.transition.as_json() if self.transition is not None else None
        body["url"] = self.url
        return body

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AlertInfo:
        rule = data.get("rule") or {}
        transition = data.get("transition")
        return cls(
            id=int(data.get("id") or 0),
            reference=str(data.get("reference") or ""),
            status=str(data.get("status") or ""),
            priority=str(data.get("priority") or ""),
            title=str(data.get("title") or ""),
            event_count=int(data.get("event_count") or 0),
            url=str(data.get("url") or ""),
            rule=RuleRef(id=rule.get("id"), name=str(rule.get("name") or "")),
            transition=TransitionInfo.from_json(transition) if isinstance(transition, dict) else None,
            explanation=str(data.get("explanation") or ""),
        )


@dataclass(frozen=True, slots=True)
class ReminderInfo:
    """Which reminder an `alert.reminder` is: the n-th of at most `of` (the rule's `remind_max`)."""

    number: int
    of: int

    def as_json(self) -> dict[str, Any]:
        return {"number": self.number, "of": self.of}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ReminderInfo:
        return cls(number=int(data.get("number") or 0), of=int(data.get("of") or 0))


# Kinds that report a status change: their `alert.transition` is always present (null when unknown).
STATUS_KINDS = frozenset({"alert.acknowledged", "alert.resolved"})


@dataclass(frozen=True, slots=True)
class Notification:
    """One thing to tell: an alert raised or moved (`alert` set), or a rule's match without an alert."""

    kind: str
    rule: RuleRef
    event: dict[str, Any] | None
    alert: AlertInfo | None = None
    reminder: ReminderInfo | None = None  # `alert.reminder` only

    @property
    def reference(self) -> str:
        return self.alert.reference if self.alert is not None else ""

    @property
    def title(self) -> str:
        return self.alert.title if self.alert is not None else self.rule.name

    @property
    def priority(self) -> str:
        return self.alert.priority if self.alert is not None else ""

    @property
    def url(self) -> str:
        return self.alert.url if self.alert is not None else ""

    @property
    def transition(self) -> TransitionInfo | None:
        return self.alert.transition if self.alert is not None else None

    def as_json(self) -> dict[str, Any]:
        """The stored form, and the webhook body less its envelope fields."""
        body: dict[str, Any] = {}
        if self.alert is not None:
            body["alert"] = self.alert.as_json(with_transition=self.kind in STATUS_KINDS)
        else:
            body["rule"] = self.rule.as_json()
        if self.reminder is not None:
            body["reminder"] = self.reminder.as_json()
        body["event"] = self.event
        return body

    @classmethod
    def from_json(cls, kind: str, data: dict[str, Any] | None) -> Notification:
        """Rebuild a stored notification (rows written before this type existed included)."""
        data = data or {}
        alert = data.get("alert")
        reminder = data.get("reminder")
        if isinstance(alert, dict):
            info = AlertInfo.from_json(alert)
            return cls(
                kind=kind,
                rule=info.rule,
                event=data.get("event"),
                alert=info,
                reminder=ReminderInfo.from_json(reminder) if isinstance(reminder, dict) else None,
            )
        rule = data.get("rule") or {}
        return cls(
            kind=kind, rule=RuleRef(id=rule.get("id"), name=str(rule.get("name") or "")), event=data.get("event")
        )

    def envelope(self, *, delivery_id: str, sent_at: str) -> dict[str, Any]:
        """The body of every outgoing notification (api.md, "Outgoing webhook")."""
        return {"version": "1", "type": self.kind, "sent_at": sent_at, "delivery_id": delivery_id, **self.as_json()}


def sample_notification(kind: str = "test", *, url: str = "") -> Notification:
    """A realistic notification for test sends and previews: a failed admin login.

    `url` is where its link goes: there is no such alert, so a test send links to its channel's
    page (channels.services.outbox.channel_test) and a preview to nothing."""
    rule = RuleRef(id=0, name="Test rule")
    return Notification(
        kind=kind,
        rule=rule,
        alert=AlertInfo(
            id=0,
            reference="ALR-000000",
            status="open",
            priority="high",
            title="Test notification: ana@example.com from 203.0.113.7",
            event_count=1,
            url=url,
            rule=rule,
        ),
        event={
            "id": "test-event",
            "event_type": "admin_login_attempt",
            "service": "directory",
            "timestamp": "2025-03-02T09:16:41.077Z",
            "initiated_by": {"type": "admin", "email": "ana@example.com"},
            "client_ip": "203.0.113.7",
            "geoip": {"country_code": "US"},
            "success": False,
            "error_message": "invalid credentials",
        },
    )

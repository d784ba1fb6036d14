"""The typed notification alerts hands channels: built completely here, rendered there."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings

from channels.notification import AlertInfo, Notification, ReminderInfo, RuleRef, TransitionInfo

if TYPE_CHECKING:
    from alerts.models import Alert, AlertTransition

ALERT_PATH = "/insights/alerts/{pk}/"


def alert_url(pk: int) -> str:
    """The alert's console page, absolute (ALERTSITE_BASE_URL), for links in messages."""
    return settings.ALERTSITE_BASE_URL.rstrip("/") + ALERT_PATH.format(pk=pk)


def transition_info(transition: AlertTransition) -> TransitionInfo:
    """Who moved the alert from what to what, when, and the remark given with it."""
    actor = transition.actor
    return TransitionInfo(
        from_status=transition.from_status,
        to_status=transition.to_status,
        by=(
            {"id": actor.pk, "username": actor.get_username(), "email": actor.email or ""}
            if actor is not None
            else None
        ),
        at=transition.at.isoformat().replace("+00:00", "Z"),
        note=transition.note,
    )


def alert_notification(
    kind: str,
    alert: Alert,
    event: dict[str, Any] | None,
    transition: AlertTransition | None = None,
    *,
    reminder: tuple[int, int] | None = None,
) -> Notification:
    """`alert.created` / `alert.acknowledged` / `alert.resolved` / ... for this alert and its triggering
    event; `reminder` (number, of) for `alert.reminder`."""
    rule = RuleRef(id=alert.rule_id, name=alert.rule_name)
    return Notification(
        kind=kind,
        rule=rule,
        event=event,
        reminder=ReminderInfo(number=reminder[0], of=reminder[1]) if reminder is not None else None,
        alert=AlertInfo(
            id=alert.pk,
            reference=alert.reference,
            status=alert.status,
            priority=alert.priority,
            title=alert.title,
            event_count=alert.event_count,
            url=alert_url(alert.pk),
            rule=rule,
            transition=transition_info(transition) if transition is not None else None,
            explanation=alert.explanation,
        ),
    )


def match_notification(*, rule_id: int, rule_name: str, event: dict[str, Any]) -> Notification:
    """`event.matched`: a rule that notifies without raising alerts."""
    return Notification(kind="event.matched", rule=RuleRef(id=rule_id, name=rule_name), event=event)


STATUS_KINDS = {"acknowledged": "alert.acknowledged", "resolved": "alert.resolved"}


def alert_preview_notification(alert_id: int) -> Notification | None:
    """The notification alert `alert_id` sends in its current status (for channel template previews):
    `alert.created` while open, else the acknowledgement or resolution with its latest transition."""
    from alerts.models import Alert, HistoryKind

    alert = Alert.objects.select_related("event").filter(pk=alert_id).first()
    if alert is None:
        return None
    event = alert.event.payload if alert.event is not None else None
    kind = STATUS_KINDS.get(alert.status, "alert.created")
    transition = (
        alert.transitions.filter(kind=HistoryKind.STATUS).select_related("actor").order_by("-at", "-pk").first()
        if kind != "alert.created"
        else None
    )
    return alert_notification(kind, alert, event, transition)

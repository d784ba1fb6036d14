"""The alert state machine: the only statement of which status moves are legal."""

from __future__ import annotations

from django.db import models


class AlertStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"


TRANSITIONS: dict[str, frozenset[str]] = {
    AlertStatus.OPEN: frozenset({AlertStatus.ACKNOWLEDGED, AlertStatus.RESOLVED}),
    AlertStatus.ACKNOWLEDGED: frozenset({AlertStatus.RESOLVED}),
    AlertStatus.RESOLVED: frozenset({AlertStatus.OPEN}),  # reopen
}
UNRESOLVED = (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED)


def transition_allowed(current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, frozenset())


# How a status reads in audit events and messages ("Open", "Acknowledged", "Resolved").
STATUS_LABELS: dict[str, str] = {status.value: str(status.label) for status in AlertStatus}
# The past participle of a move into each status, for refusals ("it cannot be reopened").
TRANSITION_VERBS: dict[str, str] = {
    AlertStatus.OPEN: "reopened",
    AlertStatus.ACKNOWLEDGED: "acknowledged",
    AlertStatus.RESOLVED: "resolved",
}
# The notification a move into a status sends, when the rule asked for it.
STATUS_NOTIFICATIONS: dict[str, str] = {
    AlertStatus.ACKNOWLEDGED: "alert.acknowledged",
    AlertStatus.RESOLVED: "alert.resolved",
}


def transition_verb(status: str) -> str:
    return TRANSITION_VERBS[status]


# The moves people ask for by name: the console's buttons, the API's actions and bulk endpoint,
# the admin's actions. Whether a move is legal from a given status is TRANSITIONS' answer.
ACTIONS: dict[str, AlertStatus] = {
    "acknowledge": AlertStatus.ACKNOWLEDGED,
    "resolve": AlertStatus.RESOLVED,
    "reopen": AlertStatus.OPEN,
}


def action_allowed(current: str, action: str) -> bool:
    """Whether the named move (`acknowledge`, `resolve`, `reopen`) is legal from `current`."""
    return action in ACTIONS and transition_allowed(current, ACTIONS[action])

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

"""The one priority vocabulary shared by rules, alerts and notifications.

Rules set a priority, alerts copy it, notifications show it: it lives here so that no app
has to import another to spell it, sort by it or colour it.
"""

from __future__ import annotations

from django.db import models


class Priority(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


# Sorts priorities by rank (low < medium < high), not alphabetically: rules and alerts alike.
PRIORITY_RANK = models.Case(
    models.When(priority=Priority.LOW, then=models.Value(1)),
    models.When(priority=Priority.MEDIUM, then=models.Value(2)),
    models.When(priority=Priority.HIGH, then=models.Value(3)),
    default=models.Value(0),
    output_field=models.IntegerField(),
)

# Badge colours in the admin and the console.
PRIORITY_COLOURS: dict[str, str] = {Priority.HIGH: "#b42318", Priority.MEDIUM: "#b54708", Priority.LOW: "#175cd3"}

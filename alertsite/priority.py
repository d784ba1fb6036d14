"""The one priority vocabulary shared by rules, alerts and notifications.

Rules set a priority, alerts copy it, notifications show it: it lives here so that no app
has to import another to spell it, sort by it or colour it.
"""

from __future__ import annotations

from django.db import models
from django.db.models import QuerySet


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

# The annotation name lists sort by, and the order summaries show priorities in.
PRIORITY_RANK_FIELD = "priority_rank"
PRIORITIES_HIGH_FIRST: tuple[str, ...] = (Priority.HIGH.value, Priority.MEDIUM.value, Priority.LOW.value)


def priority_rank_annotate(queryset: QuerySet) -> QuerySet:
    """The queryset with `priority_rank` to order by (added once)."""
    if PRIORITY_RANK_FIELD in queryset.query.annotations:
        return queryset
    return queryset.annotate(**{PRIORITY_RANK_FIELD: PRIORITY_RANK})


# Badge tones in the admin (alertsite.admin_helpers.BADGE_TONES: red, orange, blue).
PRIORITY_TONES: dict[str, str] = {Priority.HIGH: "bad", Priority.MEDIUM: "warn", Priority.LOW: "info"}

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet
from django_filters.constants import EMPTY_VALUES

from alertsite.priority import PRIORITY_RANK, Priority
from rules.models import Rule

PRIORITY_RANK_FIELD = "priority_rank"


class RuleOrderingFilter(django_filters.OrderingFilter):
    """`ordering=priority` sorts by rank (low, medium, high; `-priority` high first), as the console does.

    Ties fall back to the name, then the id, as the unordered list does, so pages never overlap.
    """

    def filter(self, qs: QuerySet[Rule], value: list[str] | None) -> QuerySet[Rule]:
        if value in EMPTY_VALUES:
            return qs
        ordering = [self.get_ordering_value(param) for param in value if param not in EMPTY_VALUES]
        if any(field.lstrip("-") == PRIORITY_RANK_FIELD for field in ordering):
            qs = qs.annotate(**{PRIORITY_RANK_FIELD: PRIORITY_RANK})
        return qs.order_by(*ordering, "name", "pk")


class RuleFilter(django_filters.FilterSet):
    enabled = django_filters.BooleanFilter()
    priority = django_filters.MultipleChoiceFilter(choices=Priority.choices)
    event_type = django_filters.CharFilter(method="filter_event_type", help_text="Rules selecting this event type.")
    channel = django_filters.NumberFilter(field_name="channels")
    search = django_filters.CharFilter(method="filter_search", help_text="Name or description.")
    ordering = RuleOrderingFilter(
        fields=[
            "name",
            (PRIORITY_RANK_FIELD, "priority"),
            "created_at",
            "updated_at",
            "last_triggered_at",
            "alert_count",
            "match_count",
        ],
        help_text="A field, `-` first for descending; priority sorts by rank (low, medium, high).",
    )

    class Meta:
        model = Rule
        fields = ["enabled", "priority", "event_type", "channel", "search"]

    def filter_event_type(self, queryset: QuerySet[Rule], name: str, value: str) -> QuerySet[Rule]:
        return queryset.filter(selected_event_types__contains=f" {value.strip()} ") if value.strip() else queryset

    def filter_search(self, queryset: QuerySet[Rule], name: str, value: str) -> QuerySet[Rule]:
        value = value.strip()
        return queryset.filter(Q(name__icontains=value) | Q(description__icontains=value)) if value else queryset

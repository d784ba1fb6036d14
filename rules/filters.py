from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from rules.models import Priority, Rule


class RuleFilter(django_filters.FilterSet):
    enabled = django_filters.BooleanFilter()
    priority = django_filters.MultipleChoiceFilter(choices=Priority.choices)
    event_type = django_filters.CharFilter(method="filter_event_type", help_text="Rules selecting this event type.")
    channel = django_filters.NumberFilter(field_name="channels")
    search = django_filters.CharFilter(method="filter_search", help_text="Name or description.")
    ordering = django_filters.OrderingFilter(
        fields=["name", "priority", "created_at", "updated_at", "last_triggered_at", "alert_count", "match_count"]
    )

    class Meta:
        model = Rule
        fields = ["enabled", "priority", "event_type", "channel", "search"]

    def filter_event_type(self, queryset: QuerySet[Rule], name: str, value: str) -> QuerySet[Rule]:
        return queryset.filter(selected_event_types__contains=f" {value.strip()} ") if value.strip() else queryset

    def filter_search(self, queryset: QuerySet[Rule], name: str, value: str) -> QuerySet[Rule]:
        value = value.strip()
        return queryset.filter(Q(name__icontains=value) | Q(description__icontains=value)) if value else queryset

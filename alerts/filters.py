from __future__ import annotations

import django_filters
from django.db.models import QuerySet
from rest_framework.exceptions import ValidationError

from alerts.models import Alert, AlertCategory, AlertSourceType
from alerts.selectors import UnknownAssignee, alerts_assigned, alerts_matching
from alerts.states import AlertStatus


class CommaChoiceFilter(django_filters.BaseInFilter, django_filters.CharFilter):
    """`?status=open,acknowledged`: one or more values, comma-separated, each checked."""

    def __init__(self, *args, choices: list[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.allowed = choices

    def filter(self, queryset, value):
        value = [item for item in value or [] if item]  # "open," or a lone comma: ignore the empty items
        if value:
            unknown = [item for item in value if item not in self.allowed]
            if unknown:
                raise ValidationError(
                    {self.field_name: [f"Unknown value(s) {', '.join(unknown)}; use {', '.join(self.allowed)}."]}
                )
        return super().filter(queryset, value)


class AlertFilter(django_filters.FilterSet):
    status = CommaChoiceFilter(field_name="status", choices=list(AlertStatus.values))
    priority = CommaChoiceFilter(field_name="priority", choices=["high", "medium", "low"])
    category = CommaChoiceFilter(field_name="category", choices=list(AlertCategory.values))
    source_type = CommaChoiceFilter(field_name="source_type", choices=list(AlertSourceType.values))
    rule = django_filters.NumberFilter(field_name="rule_id")
    since = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    assignee = django_filters.CharFilter(method="filter_assignee", help_text="A user id, 'me', or 'none'.")
    search = django_filters.CharFilter(method="filter_search", help_text="Reference (ALR-000123), title or rule name.")

    class Meta:
        model = Alert
        fields = ["status", "priority", "category", "source_type", "rule", "since", "until", "assignee", "search"]

    def filter_assignee(self, queryset: QuerySet[Alert], name: str, value: str) -> QuerySet[Alert]:
        try:
            return alerts_assigned(queryset, value, user=self.request.user if self.request else None)
        except UnknownAssignee as exc:
            raise ValidationError({"assignee": [str(exc)]}) from exc

    def filter_search(self, queryset: QuerySet[Alert], name: str, value: str) -> QuerySet[Alert]:
        return alerts_matching(queryset, value)

"""The alert list's filters: one FilterSet for `GET /api/v1/alerts` (and its CSV export) and the console's dashboard."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from django.http import QueryDict
from django_filters.constants import EMPTY_VALUES

from alerts.models import Alert, AlertCategory, AlertSourceType
from alerts.selectors import (
    UnknownAssignee,
    alerts_assigned,
    alerts_awake,
    alerts_matching,
    assignee_parse,
    snoozed_now,
)
from alerts.states import UNRESOLVED, AlertStatus
from alertsite.filters import IdFilter, ListFilterSet, MultipleChoiceFilter, TimeRangeFilter
from alertsite.priority import PRIORITY_RANK_FIELD, Priority, priority_rank_annotate

DEFAULT_ORDERING = "-created_at"
# The console's old `sort` values (bookmarks) and the `ordering` field each one is.
SORT_ALIASES = {"created": "created_at", "priority": "priority", "status": "status", "events": "event_count"}


class AssigneeField(forms.CharField):
    """A user id, `me` or `none`; anything else is a bad value."""

    def clean(self, value: Any) -> str:
        value = super().clean(value)
        if value in EMPTY_VALUES:
            return ""
        try:
            assignee_parse(value)
        except UnknownAssignee as exc:
            raise forms.ValidationError(str(exc), code="invalid") from exc
        return value.strip().lower()


class AssigneeFilter(django_filters.CharFilter):
    field_class = AssigneeField


class AlertOrderingFilter(django_filters.OrderingFilter):
    """`ordering=-priority` sorts by rank (high first; `priority` low first), not alphabetically.

    Newest first when not asked. Ties fall back to the creation time, then the id, in the direction
    of the first field, so pages never overlap.
    """

    tie_breakers = ("created_at", "id")

    def filter(self, qs: QuerySet[Alert], value: list[str] | None) -> QuerySet[Alert]:
        params = [param for param in value or [] if param not in EMPTY_VALUES] or [DEFAULT_ORDERING]
        ordering = [self.get_ordering_value(param) for param in params]
        fields = {field.lstrip("-") for field in ordering}
        if PRIORITY_RANK_FIELD in fields:
            qs = priority_rank_annotate(qs)
        sign = "-" if ordering[0].startswith("-") else ""
        return qs.order_by(*ordering, *(sign + field for field in self.tie_breakers if field not in fields))


class AlertFilter(ListFilterSet):
    status = MultipleChoiceFilter(choices=AlertStatus.values, help_text="One or more, comma-separated.")
    priority = MultipleChoiceFilter(choices=Priority.values, help_text="One or more, comma-separated.")
    category = MultipleChoiceFilter(choices=AlertCategory.values, help_text="One or more, comma-separated.")
    source_type = MultipleChoiceFilter(choices=AlertSourceType.values, help_text="One or more, comma-separated.")
    rule = IdFilter(field_name="rule_id", help_text="A rule id.")
    rule_name = django_filters.CharFilter(
        field_name="rule_name", lookup_expr="icontains", help_text="The rule's name contains this."
    )
    since = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    range = TimeRangeFilter(field_name="created_at")
    assignee = AssigneeFilter(method="filter_assignee", help_text="A user id, 'me', or 'none'.")
    search = django_filters.CharFilter(method="filter_search", help_text="Reference (ALR-000123), title or rule name.")
    snoozed = django_filters.BooleanFilter(
        method="filter_snoozed", help_text="true: only alerts snoozed now; false: only those that are not."
    )
    ordering = AlertOrderingFilter(
        fields=[("created_at", "created_at"), (PRIORITY_RANK_FIELD, "priority"), "status", "event_count"],
        help_text="A field, `-` first for descending (default `-created_at`); priority sorts by rank.",
    )

    aliases = {"q": "search", "rule_q": "rule_name"}
    # The vendor's dashboard opens on the alerts still to handle.
    console_defaults = {"status": ",".join(UNRESOLVED), "ordering": DEFAULT_ORDERING}

    class Meta:
        model = Alert
        fields = [
            "status",
            "priority",
            "category",
            "source_type",
            "rule",
            "rule_name",
            "since",
            "until",
            "range",
            "assignee",
            "search",
            "snoozed",
        ]

    @classmethod
    def rename_aliases(cls, data: QueryDict) -> None:
        """Besides the renamed filters, the console's old `sort` + `dir` pair is one `ordering`."""
        sort, direction = data.pop("sort", [""])[-1], data.pop("dir", [""])[-1]
        if (sort or direction) and "ordering" not in data:
            field = SORT_ALIASES.get(sort, "created_at")
            data["ordering"] = field if direction == "asc" else f"-{field}"
        super().rename_aliases(data)

    def filter_assignee(self, queryset: QuerySet[Alert], name: str, value: str) -> QuerySet[Alert]:
        return alerts_assigned(queryset, value, user=self.request.user if self.request else None)

    def filter_search(self, queryset: QuerySet[Alert], name: str, value: str) -> QuerySet[Alert]:
        return alerts_matching(queryset, value)

    def filter_snoozed(self, queryset: QuerySet[Alert], name: str, value: bool | None) -> QuerySet[Alert]:
        if value is None:
            return queryset
        return queryset.filter(snoozed_now()) if value else alerts_awake(queryset)

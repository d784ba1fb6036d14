"""The rule list's filters: one FilterSet for `GET /api/v1/rules` and the console's Rules dashboard."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import F, Q, QuerySet
from django.db.models.functions import Lower
from django.http import QueryDict
from django_filters.constants import EMPTY_VALUES

from alertsite.filters import IdFilter, ListFilterSet, MultipleChoiceFilter
from alertsite.priority import PRIORITY_RANK_FIELD, Priority, priority_rank_annotate
from rules.models import Rule

DEFAULT_ORDERING = "name"
# The console's old `sort` values (bookmarks) that differ from the `ordering` names.
SORT_ALIASES = {"last_triggered": "last_triggered_at"}


class RuleOrderingFilter(django_filters.OrderingFilter):
    """`ordering=priority` sorts by rank (low, medium, high; `-priority` high first), as the console does.

    By name (ignoring case) when not asked. Rules that never fired come last when sorting by
    `-last_triggered_at` (and first by `last_triggered_at`), whatever the database. Ties fall back to the
    name, then the id, so pages never overlap.
    """

    def filter(self, qs: QuerySet[Rule], value: list[str] | None) -> QuerySet[Rule]:
        params = [param for param in value or [] if param not in EMPTY_VALUES] or [DEFAULT_ORDERING]
        ordering: list[Any] = []
        for param in params:
            field = self.get_ordering_value(param)
            descending, name = field.startswith("-"), field.lstrip("-")
            if name == PRIORITY_RANK_FIELD:
                qs = priority_rank_annotate(qs)
            expression = Lower("name") if name == "name" else F(name)
            if name == "last_triggered_at":
                ordering.append(expression.desc(nulls_last=True) if descending else expression.asc(nulls_first=True))
            else:
                ordering.append(expression.desc() if descending else expression.asc())
        return qs.order_by(*ordering, Lower("name"), "pk")


class RuleFilter(ListFilterSet):
    enabled = django_filters.BooleanFilter()
    priority = MultipleChoiceFilter(choices=Priority.values, help_text="One or more, comma-separated or repeated.")
    event_type = django_filters.CharFilter(method="filter_event_type", help_text="Rules selecting this event type.")
    channel = IdFilter(field_name="channels", help_text="Rules notifying this channel (its id).")
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
        help_text="A field, `-` first for descending (default `name`); priority sorts by rank (low, medium, high).",
    )

    aliases = {"q": "search", "sort": "ordering"}
    console_defaults = {"ordering": DEFAULT_ORDERING}

    class Meta:
        model = Rule
        fields = ["enabled", "priority", "event_type", "channel", "search"]

    @classmethod
    def rename_aliases(cls, data: QueryDict) -> None:
        """Besides the renamed filters, the console's old `sort=-last_triggered` is `-last_triggered_at`."""
        had_ordering = "ordering" in data
        super().rename_aliases(data)
        if not had_ordering and "ordering" in data:
            data.setlist("ordering", [_sort_alias(value) for value in data.getlist("ordering")])

    def filter_event_type(self, queryset: QuerySet[Rule], name: str, value: str) -> QuerySet[Rule]:
        return queryset.filter(selected_event_types__contains=f" {value.strip()} ") if value.strip() else queryset

    def filter_search(self, queryset: QuerySet[Rule], name: str, value: str) -> QuerySet[Rule]:
        value = value.strip()
        return queryset.filter(Q(name__icontains=value) | Q(description__icontains=value)) if value else queryset


def _sort_alias(value: str) -> str:
    sign, name = ("-", value[1:]) if value.startswith("-") else ("", value)
    return sign + SORT_ALIASES.get(name, name)

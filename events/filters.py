"""The event log's filters: one FilterSet for `GET /api/v1/events` and the console's Insights > Events page."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from alertsite.filters import ListFilterSet, TimeRangeFilter
from events.models import AuditEvent


class AuditEventFilter(ListFilterSet):
    event_type = django_filters.BaseInFilter(field_name="event_type", help_text="One or more types, comma-separated.")
    service = django_filters.BaseInFilter(field_name="service")
    success = django_filters.BooleanFilter()
    since = django_filters.IsoDateTimeFilter(field_name="timestamp", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="timestamp", lookup_expr="lt")
    range = TimeRangeFilter(field_name="timestamp")
    search = django_filters.CharFilter(
        method="filter_search", help_text="Who, what, where: initiator, resource, IP, id."
    )

    aliases = {"type": "event_type", "q": "search"}

    class Meta:
        model = AuditEvent
        fields = ["event_type", "service", "success", "since", "until", "range", "search"]

    def filter_search(self, queryset: QuerySet[AuditEvent], name: str, value: str) -> QuerySet[AuditEvent]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(event_id=value)
            | Q(initiator__icontains=value)
            | Q(resource__icontains=value)
            | Q(client_ip__startswith=value)
            | Q(event_type__icontains=value)
        )

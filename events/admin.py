"""Admin for the event catalog and the (read-only) event log."""

from __future__ import annotations

import orjson
from django.contrib import admin
from django.db.models import QuerySet
from django.utils import timezone

from alertsite.admin_helpers import ReadOnlyMixin, admin_pre
from alertsite.paginators import CappedCountPaginator
from alertsite.timeranges import TIME_RANGE_CHOICES, TIME_RANGES
from events.catalog import SERVICES
from events.models import AuditEvent, EventType


@admin.register(EventType)
class EventTypeAdmin(admin.ModelAdmin):
    list_display = ["name", "category", "description", "known", "key_count", "first_seen_at"]
    list_filter = ["known", "category"]
    search_fields = ["name", "description"]
    readonly_fields = ["first_seen_at"]
    ordering = ["name"]

    @admin.display(description="Filter keys")
    def key_count(self, obj: EventType) -> int:
        return len(obj.keys or [])


class EventTypeListFilter(admin.SimpleListFilter):
    """Types from the catalog: a DISTINCT over the log would scan millions of rows."""

    title = "event type"
    parameter_name = "event_type"

    def lookups(self, request, model_admin):
        return [(name, name) for name in EventType.objects.values_list("name", flat=True)]

    def queryset(self, request, queryset: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
        return queryset.filter(event_type=self.value()) if self.value() else queryset


class ServiceListFilter(admin.SimpleListFilter):
    title = "service"
    parameter_name = "service"

    def lookups(self, request, model_admin):
        return [(service, service) for service in SERVICES]

    def queryset(self, request, queryset: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
        return queryset.filter(service=self.value()) if self.value() else queryset


class TimeRangeListFilter(admin.SimpleListFilter):
    title = "time"
    parameter_name = "within"

    def lookups(self, request, model_admin):
        return TIME_RANGE_CHOICES

    def queryset(self, request, queryset: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
        window = TIME_RANGES.get(self.value() or "")
        return queryset.filter(timestamp__gte=timezone.now() - window) if window else queryset


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["timestamp", "event_type", "service", "initiator", "resource", "client_ip", "outcome", "event_id"]
    list_filter = [EventTypeListFilter, ServiceListFilter, "success", TimeRangeListFilter]
    search_fields = ["=event_id", "initiator", "resource", "=client_ip"]
    ordering = ["-timestamp", "-id"]
    show_full_result_count = False
    paginator = CappedCountPaginator
    list_per_page = 50
    fields = [
        "event_id",
        "event_type",
        "service",
        "timestamp",
        "initiator",
        "resource",
        "client_ip",
        "success",
        "received_at",
        "causal_depth",
        "pretty_payload",
    ]
    readonly_fields = fields

    @admin.display(description="Success", boolean=True, ordering="success")
    def outcome(self, obj: AuditEvent) -> bool | None:
        return obj.success

    @admin.display(description="Event JSON")
    def pretty_payload(self, obj: AuditEvent):
        text = orjson.dumps(obj.payload, option=orjson.OPT_INDENT_2).decode()
        return admin_pre(text)


from events.sources import admin as sources_admin  # noqa: E402,F401  (registers SourceAdmin)

"""Maintenance windows API (api.md 10): list, create, read, change, delete, preview.

Every role reads; only admins write (the default ReadOnlyRoles); the preview changes nothing,
so every reader may ask it. Scope rule ids are checked against rules through rules.selectors.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from alerts.maintenance import MUTES
from alerts.models import MaintenanceWindow
from alerts.selectors import window_preview, window_status
from alerts.services.maintenance import window_create, window_delete, window_spec_from_body, window_update
from alertsite.accounts.api.serializers import UserRefSerializer
from alertsite.accounts.permissions import AnyReader
from alertsite.api_helpers import field_errors_400
from alertsite.errors import FieldErrors
from rules.selectors import rule_ids_existing


class ScopeSerializer(serializers.Serializer):
    rules = serializers.ListField(child=serializers.IntegerField(), help_text="Rule ids; empty: every rule.")
    priorities = serializers.ListField(child=serializers.CharField(), help_text="Empty: every priority.")
    event_types = serializers.ListField(child=serializers.CharField(), help_text="Empty: every event type.")


class MaintenanceWindowSerializer(serializers.ModelSerializer):
    """A window as api.md 10 shows it, with how it stands now and what it muted."""

    recurrence = serializers.SerializerMethodField()
    scope = serializers.SerializerMethodField()
    created_by = UserRefSerializer(read_only=True)
    active_now = serializers.SerializerMethodField()
    active_until = serializers.SerializerMethodField()
    next_start = serializers.SerializerMethodField()

    class Meta:
        model = MaintenanceWindow
        fields = [
            "id",
            "name",
            "reason",
            "starts_at",
            "ends_at",
            "timezone",
            "recurrence",
            "scope",
            "mute",
            "active_now",
            "active_until",
            "next_start",
            "muted_alerts",
            "muted_notifications",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def _status(self, window: MaintenanceWindow) -> dict[str, Any]:
        cache = self.context.setdefault("_status", {})
        if window.pk not in cache:
            cache[window.pk] = window_status(window.spec(), self.context.get("now") or timezone.now())
        return cache[window.pk]

    def get_recurrence(self, window: MaintenanceWindow) -> str | None:
        return window.recurrence or None

    @extend_schema_field(ScopeSerializer)
    def get_scope(self, window: MaintenanceWindow) -> dict[str, list[Any]]:
        return {
            "rules": list(window.scope_rules),
            "priorities": list(window.scope_priorities),
            "event_types": list(window.scope_event_types),
        }

    def get_active_now(self, window: MaintenanceWindow) -> bool:
        return bool(self._status(window)["active_now"])

    def get_active_until(self, window: MaintenanceWindow) -> datetime | None:
        return self._status(window)["active_until"]

    def get_next_start(self, window: MaintenanceWindow) -> datetime | None:
        return self._status(window)["next_start"]


class MaintenanceWindowWriteSerializer(serializers.Serializer):
    """Documents a window body for the OpenAPI schema; alerts.services.maintenance checks it."""

    name = serializers.CharField(max_length=100)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500)
    starts_at = serializers.DateTimeField(help_text="Start of the first occurrence (RFC 3339).")
    ends_at = serializers.DateTimeField(help_text="End of the first occurrence; after starts_at.")
    timezone = serializers.CharField(required=False, default="UTC", help_text="IANA zone the recurrence follows.")
    recurrence = serializers.CharField(
        required=False, allow_null=True, help_text='RFC 5545 RRULE, e.g. "RRULE:FREQ=WEEKLY;BYDAY=SA,SU"; null: once.'
    )
    scope = ScopeSerializer(required=False)
    mute = serializers.ChoiceField(choices=list(MUTES), required=False, default="notifications")


def _errors(exc: FieldErrors) -> ValidationError:
    return field_errors_400(exc)


@extend_schema_view(
    list=extend_schema(summary="List maintenance windows", responses=MaintenanceWindowSerializer(many=True)),
    retrieve=extend_schema(summary="One maintenance window", responses=MaintenanceWindowSerializer),
    create=extend_schema(
        summary="Create a maintenance window (admin)",
        request=MaintenanceWindowWriteSerializer,
        responses={201: MaintenanceWindowSerializer},
    ),
    partial_update=extend_schema(
        summary="Change a maintenance window (admin)",
        request=MaintenanceWindowWriteSerializer,
        responses=MaintenanceWindowSerializer,
    ),
    destroy=extend_schema(summary="Delete a maintenance window (admin)"),
)
class MaintenanceWindowViewSet(viewsets.ModelViewSet):
    serializer_class = MaintenanceWindowSerializer
    pagination_class = None
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_permissions(self):
        if self.action == "preview":
            return [AnyReader()]
        return super().get_permissions()

    def get_queryset(self) -> QuerySet[MaintenanceWindow]:
        return MaintenanceWindow.objects.select_related("created_by").order_by("starts_at", "pk")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        try:
            window = window_create(data=request.data, actor=request.user, rules_known=rule_ids_existing)
        except FieldErrors as exc:
            raise _errors(exc) from exc
        return Response(self._out(window), status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        try:
            window = window_update(
                window=self.get_object(), data=request.data, actor=request.user, rules_known=rule_ids_existing
            )
        except FieldErrors as exc:
            raise _errors(exc) from exc
        return Response(self._out(window))

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        window_delete(window=self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _out(self, window: MaintenanceWindow) -> dict[str, Any]:
        return MaintenanceWindowSerializer(self.get_queryset().get(pk=window.pk)).data

    @extend_schema(
        request=MaintenanceWindowWriteSerializer,
        responses={
            200: OpenApiResponse(
                description='{"alerts", "notifications", "sample": [...], "occurrences": [...], "since", "until"}'
            )
        },
        summary="What a window body would have muted over the last 7 days",
    )
    @action(detail=False, methods=["post"])
    def preview(self, request: Request) -> Response:
        try:
            spec = window_spec_from_body(request.data, rules_known=rule_ids_existing)
        except FieldErrors as exc:
            raise _errors(exc) from exc
        return Response(window_preview(spec))

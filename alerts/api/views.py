"""Alerts API (api.md section 6): list, detail, lifecycle actions, notes, assignment, bulk, summary, metrics, CSV."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db.models import Prefetch, QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response

from alerts.api.serializers import (
    BULK_SNOOZE_ACTIONS,
    AlertDetailSerializer,
    AlertNoteSerializer,
    AlertSerializer,
    AssignInputSerializer,
    BulkInputSerializer,
    NoteInputSerializer,
    NoteTextSerializer,
    SnoozeInputSerializer,
)
from alerts.filters import AlertFilter
from alerts.models import Alert, AlertNote, AlertTransition
from alerts.selectors import alert_metrics, alert_summary
from alerts.services import (
    AlertInputError,
    InvalidTransition,
    alert_assign,
    alert_note_add,
    alert_snooze,
    alert_transition,
    alert_unsnooze,
    alerts_bulk_snooze,
    alerts_bulk_transition,
    alerts_bulk_unsnooze,
)
from alerts.states import ACTIONS
from alertsite.accounts.permissions import CanActOnAlerts
from alertsite.snooze import SnoozeInputError

CSV_COLUMNS = [
    "reference",
    "status",
    "priority",
    "title",
    "rule",
    "category",
    "source_type",
    "source_id",
    "event_type",
    "event_count",
    "created_at",
    "first_seen_at",
    "last_seen_at",
    "acknowledged_at",
    "acknowledged_by",
    "resolved_at",
    "resolved_by",
    "assignee",
]


def alert_queryset() -> QuerySet[Alert]:
    """Alerts with what AlertSerializer shows: a fixed number of queries whatever the page size."""
    return Alert.objects.select_related(
        "event", "acknowledged_by", "resolved_by", "assignee", "snoozed_by", "suppressed_by"
    ).prefetch_related(
        Prefetch("notes", queryset=AlertNote.objects.select_related("author")),
        Prefetch("transitions", queryset=AlertTransition.objects.select_related("actor")),
    )


class AlertPagination(CursorPagination):
    ordering = ("-created_at", "-id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_ordering(self, request: Request, queryset: QuerySet[Alert], view) -> tuple[str, ...]:
        """The order AlertFilter's `ordering` put the list in (newest first unless asked), so the
        cursor walks the list as sorted."""
        ordered = queryset.query.order_by
        return tuple(ordered) if ordered and all(isinstance(field, str) for field in ordered) else self.ordering


class Echo:
    def write(self, value: str) -> str:
        return value


def _conflict(exc: InvalidTransition) -> Response:
    return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)


def _bad_input(exc: AlertInputError) -> ValidationError:
    return ValidationError({exc.field: [exc.message]})


@extend_schema_view(
    list=extend_schema(summary="List alerts, newest first"),
    retrieve=extend_schema(summary="One alert with its notes, history and events", responses=AlertDetailSerializer),
)
class AlertViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = AlertSerializer
    permission_classes = [CanActOnAlerts]
    pagination_class = AlertPagination
    filterset_class = AlertFilter

    def get_queryset(self) -> QuerySet[Alert]:
        if self.action in ("list", "retrieve"):
            return alert_queryset()
        return Alert.objects.select_related("event", "acknowledged_by", "resolved_by", "assignee")

    def get_serializer_class(self):
        return AlertDetailSerializer if self.action == "retrieve" else AlertSerializer

    def _move(self, request: Request, pk: str, target: str) -> Response:
        payload = NoteInputSerializer(data=request.data if request.data is not None else {})
        payload.is_valid(raise_exception=True)
        alert = self.get_object()
        try:
            alert_transition(alert=alert, to=target, actor=request.user, note=payload.validated_data.get("note", ""))
        except InvalidTransition as exc:
            return _conflict(exc)
        except AlertInputError as exc:
            raise _bad_input(exc) from exc
        return Response(AlertDetailSerializer(self.get_queryset_for_detail().get(pk=alert.pk)).data)

    def get_queryset_for_detail(self) -> QuerySet[Alert]:
        return alert_queryset()

    @extend_schema(request=NoteInputSerializer, responses={200: AlertDetailSerializer, 409: OpenApiResponse()})
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, pk: str | None = None) -> Response:
        return self._move(request, pk, ACTIONS["acknowledge"])

    @extend_schema(request=NoteInputSerializer, responses={200: AlertDetailSerializer, 409: OpenApiResponse()})
    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, pk: str | None = None) -> Response:
        return self._move(request, pk, ACTIONS["resolve"])

    @extend_schema(request=NoteInputSerializer, responses={200: AlertDetailSerializer, 409: OpenApiResponse()})
    @action(detail=True, methods=["post"])
    def reopen(self, request: Request, pk: str | None = None) -> Response:
        return self._move(request, pk, ACTIONS["reopen"])

    @extend_schema(request=NoteTextSerializer, responses={201: AlertNoteSerializer})
    @action(detail=True, methods=["post"])
    def notes(self, request: Request, pk: str | None = None) -> Response:
        payload = NoteTextSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            note = alert_note_add(alert=self.get_object(), author=request.user, text=payload.validated_data["text"])
        except AlertInputError as exc:
            raise _bad_input(exc) from exc
        return Response(AlertNoteSerializer(note).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=AssignInputSerializer, responses={200: AlertDetailSerializer})
    @action(detail=True, methods=["post"])
    def assign(self, request: Request, pk: str | None = None) -> Response:
        payload = AssignInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        alert = self.get_object()
        user_id = payload.validated_data["user"]
        assignee = None
        if user_id is not None:
            assignee = get_user_model().objects.filter(pk=user_id).first()
            if assignee is None:
                raise ValidationError({"user": [f"No user with id {user_id}."]})
        try:
            alert_assign(alert=alert, assignee=assignee, actor=request.user)
        except AlertInputError as exc:
            raise _bad_input(exc) from exc
        return Response(AlertDetailSerializer(self.get_queryset_for_detail().get(pk=alert.pk)).data)

    @extend_schema(
        methods=["POST"],
        request=SnoozeInputSerializer,
        responses={200: AlertDetailSerializer, 409: OpenApiResponse(description="The alert is resolved")},
        summary="Snooze an alert: it keeps its status but leaves the bell until then",
    )
    @extend_schema(methods=["DELETE"], request=None, responses={200: AlertDetailSerializer}, summary="End a snooze")
    @action(detail=True, methods=["post", "delete"])
    def snooze(self, request: Request, pk: str | None = None) -> Response:
        alert = self.get_object()
        if request.method == "DELETE":
            alert_unsnooze(alert=alert, actor=request.user)
        else:
            try:
                alert_snooze(alert=alert, body=request.data, actor=request.user)
            except InvalidTransition as exc:
                return _conflict(exc)
            except SnoozeInputError as exc:
                raise ValidationError({exc.field: [exc.message]}) from exc
        return Response(AlertDetailSerializer(self.get_queryset_for_detail().get(pk=alert.pk)).data)

    @extend_schema(
        request=BulkInputSerializer,
        responses={200: OpenApiResponse(description='{"updated": [ids], "skipped": [{"id", "reason"}]}')},
    )
    @action(detail=False, methods=["post"])
    def bulk(self, request: Request) -> Response:
        payload = BulkInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        if data["action"] in BULK_SNOOZE_ACTIONS:
            return self._bulk_snooze(request, data)
        try:
            result = alerts_bulk_transition(
                ids=data["ids"], to=ACTIONS[data["action"]], actor=request.user, note=data.get("note", "")
            )
        except AlertInputError as exc:
            raise _bad_input(exc) from exc
        return Response({"updated": result.updated, "skipped": result.skipped})

    def _bulk_snooze(self, request: Request, data: dict) -> Response:
        if data["action"] == "unsnooze":
            result = alerts_bulk_unsnooze(ids=data["ids"], actor=request.user)
            return Response({"updated": result.updated, "skipped": result.skipped})
        body = {key: data[key] for key in ("minutes", "until", "note") if key in data}
        try:
            result = alerts_bulk_snooze(ids=data["ids"], body=body, actor=request.user)
        except SnoozeInputError as exc:
            raise ValidationError({exc.field: [exc.message]}) from exc
        return Response({"updated": result.updated, "skipped": result.skipped})

    @extend_schema(responses={200: OpenApiResponse(description="Counts for the Open Alerts widget and the bell")})
    @action(detail=False, methods=["get"])
    def summary(self, request: Request) -> Response:
        return Response(alert_summary())

    @extend_schema(
        parameters=[OpenApiParameter("since", str, description="RFC 3339; default 30 days ago")],
        responses={200: OpenApiResponse(description="MTTA/MTTR median and p90 by priority and rule; noisiest rules")},
    )
    @action(detail=False, methods=["get"])
    def metrics(self, request: Request) -> Response:
        raw = request.query_params.get("since")
        since = timezone.now() - timedelta(days=30)
        if raw:
            try:
                parsed = parse_datetime(raw)
            except ValueError:
                parsed = None
            if parsed is None or parsed.tzinfo is None:
                raise ValidationError({"since": ["Must be an RFC 3339 date-time with a time zone."]})
            since = parsed
        return Response(alert_metrics(since=since))

    @extend_schema(responses={(200, "text/csv"): OpenApiResponse(description="The filtered alert list as CSV")})
    @action(detail=False, methods=["get"], url_path="export")
    def export(self, request: Request) -> StreamingHttpResponse:
        """Stream the filtered list as CSV, in the list's order, never holding it in memory."""
        queryset = self.filter_queryset(Alert.objects.select_related("acknowledged_by", "resolved_by", "assignee"))
        writer = csv.writer(Echo())

        def rows() -> Iterator[str]:
            yield writer.writerow(CSV_COLUMNS)
            for alert in queryset.iterator(chunk_size=2000):
                yield writer.writerow(
                    [
                        alert.reference,
                        alert.status,
                        alert.priority,
                        _csv_safe(alert.title),
                        _csv_safe(alert.rule_name),
                        alert.category,
                        alert.source_type,
                        _csv_safe(alert.source_id),
                        alert.event_type,
                        alert.event_count,
                        _iso(alert.created_at),
                        _iso(alert.first_seen_at),
                        _iso(alert.last_seen_at),
                        _iso(alert.acknowledged_at),
                        alert.acknowledged_by.username if alert.acknowledged_by else "",
                        _iso(alert.resolved_at),
                        alert.resolved_by.username if alert.resolved_by else "",
                        alert.assignee.username if alert.assignee else "",
                    ]
                )

        response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="alerts.csv"'
        return response


def _iso(value) -> str:
    return value.isoformat() if value else ""


def _csv_safe(text: str) -> str:
    """Keep spreadsheet apps from running a cell that starts like a formula (titles carry event data)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text

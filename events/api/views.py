"""Event log and catalog API (api.md section 3)."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response

from alertsite.accounts.permissions import CanIngestEvents
from events.api.parsers import JSONBodyParser, NDJSONBodyParser, PayloadTooLarge
from events.api.serializers import (
    AuditEventSerializer,
    EvaluationProgressSerializer,
    EventTypeSerializer,
    IngestErrorsSerializer,
    IngestResultSerializer,
)
from events.filters import AuditEventFilter
from events.models import AuditEvent, EventType
from events.progress import evaluation_progress
from events.services import ORIGIN_API, event_batch_ingest
from events.validation import (
    EventError,
    LimitExceeded,
    Limits,
    MalformedBody,
    decode_json_body,
    decode_ndjson_body,
    events_validate,
)


class NewestFirstPagination(CursorPagination):
    ordering = ("-timestamp", "-id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


EMPTY_BODY = EventError(None, None, "The request body is empty: send an event object, an array of them, or NDJSON.")


def _errors(*errors, status_code: int) -> Response:
    return Response({"errors": [error.as_dict() for error in errors]}, status=status_code)


@extend_schema_view(
    list=extend_schema(summary="List events, newest first"),
    retrieve=extend_schema(summary="One event by its own id"),
)
class AuditEventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The event log. POST ingests one event, a JSON array, or NDJSON."""

    serializer_class = AuditEventSerializer
    permission_classes = [CanIngestEvents]
    pagination_class = NewestFirstPagination
    filterset_class = AuditEventFilter
    lookup_field = "event_id"
    lookup_url_kwarg = "id"
    lookup_value_regex = "[A-Za-z0-9_-]{1,64}"
    parser_classes = [JSONBodyParser, NDJSONBodyParser]

    def get_queryset(self) -> QuerySet[AuditEvent]:
        return AuditEvent.objects.all()

    @extend_schema(
        summary="Ingest events",
        request={
            "application/json": OpenApiTypes.OBJECT,
            "application/x-ndjson": OpenApiTypes.STR,
        },
        responses={
            202: IngestResultSerializer,
            400: IngestErrorsSerializer,
            413: IngestErrorsSerializer,
            415: OpenApiResponse(description="Content-Type other than application/json or application/x-ndjson."),
        },
        examples=[
            OpenApiExample(
                "One event",
                request_only=True,
                value={
                    "id": "65f0a1b2c3d4e5f6a7b8c902",
                    "event_type": "user_login_attempt",
                    "timestamp": "2025-03-02T09:16:41.077Z",
                    "service": "directory",
                    "success": False,
                },
            )
        ],
    )
    def create(self, request: Request) -> Response:
        try:
            body = request.data
        except PayloadTooLarge as exc:
            return _errors(exc.error, status_code=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        if not isinstance(body, bytes) or not body.strip():
            return _errors(EMPTY_BODY, status_code=status.HTTP_400_BAD_REQUEST)
        limits = Limits.from_settings()
        try:
            if request.content_type.split(";")[0].strip() == NDJSONBodyParser.media_type:
                events, lines = decode_ndjson_body(body, max_events=limits.max_events)
            else:
                events, lines = decode_json_body(body, max_events=limits.max_events), None
            records, errors = events_validate(events, limits=limits, lines=lines)
        except MalformedBody as exc:
            return _errors(exc.error, status_code=status.HTTP_400_BAD_REQUEST)
        except LimitExceeded as exc:
            return _errors(exc.error, status_code=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        if errors:
            return _errors(*errors, status_code=status.HTTP_400_BAD_REQUEST)
        result = event_batch_ingest(records=records, origin=ORIGIN_API)
        return Response(
            {"accepted": result.accepted, "duplicates": result.duplicates, "ids": result.ids},
            status=status.HTTP_202_ACCEPTED,
        )

    @extend_schema(summary="Rule evaluation progress: pending events, their age, evaluated total")
    @action(detail=False, methods=["get"], url_path="evaluation", serializer_class=EvaluationProgressSerializer)
    def evaluation(self, request: Request) -> Response:
        """Cheap enough to poll every second: nothing here reads the event log itself."""
        progress = evaluation_progress()
        return Response(
            EvaluationProgressSerializer(
                {
                    "pending": progress.pending,
                    "oldest_pending_received_at": progress.oldest_pending_received_at,
                    "evaluated_total": progress.evaluated_total,
                }
            ).data
        )


@extend_schema_view(list=extend_schema(summary="The event-type catalog, with the filter keys of each type"))
class EventTypeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = EventTypeSerializer
    queryset = EventType.objects.all()
    pagination_class = None
    lookup_field = "name"
    lookup_value_regex = "[a-z][a-z0-9_]{0,99}"

    def get_queryset(self) -> QuerySet[EventType]:
        queryset = super().get_queryset()
        known = self.request.query_params.get("known")
        if known in ("true", "false"):
            queryset = queryset.filter(known=known == "true")
        category = self.request.query_params.get("category")
        if category:
            queryset = queryset.filter(category=category)
        return queryset

"""Sources API (api.md §8): admins write, readers read; the API key is write-only."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from alertsite.api_helpers import field_errors_400, json_object
from events.sources.config import source_config_public
from events.sources.models import Source, SourceKind
from events.sources.services import (
    SourceValidationError,
    source_create,
    source_delete,
    source_poll_now,
    source_status,
    source_test,
    source_update,
)


class SourceSerializer(serializers.ModelSerializer):
    """A source as api.md §8 shows it: the key as ********, the poller's status beside the config."""

    config = serializers.SerializerMethodField()
    status = serializers.SerializerMethodField()

    class Meta:
        model = Source
        fields = ["id", "kind", "name", "enabled", "config", "status", "created_at", "updated_at"]
        read_only_fields = fields

    def get_config(self, source: Source) -> dict:
        return source_config_public(source.config)

    def get_status(self, source: Source) -> dict:
        return source_status(source)


class SourceWriteSerializer(serializers.Serializer):
    """Documents the writable fields; validation is events.sources.services.source_validate's."""

    kind = serializers.ChoiceField(choices=SourceKind.choices, required=False)
    name = serializers.CharField(max_length=100)
    enabled = serializers.BooleanField(required=False)
    config = serializers.DictField(
        help_text="base_url, api_key (write-only), org_ids, services, start_time, poll_interval_seconds, "
        "page_limit, overlap_seconds, timeout_seconds"
    )


class PollResultSerializer(serializers.Serializer):
    pages = serializers.IntegerField()
    fetched = serializers.IntegerField()
    accepted = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    skipped = serializers.IntegerField()
    more = serializers.BooleanField()
    error = serializers.CharField(allow_null=True)


class SourceTestSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    status_code = serializers.IntegerField(allow_null=True)
    error = serializers.CharField(allow_null=True)


@extend_schema_view(
    create=extend_schema(request=SourceWriteSerializer, summary="Add a source"),
    update=extend_schema(request=SourceWriteSerializer),
    partial_update=extend_schema(request=SourceWriteSerializer),
    destroy=extend_schema(summary="Delete a source (the events it pulled stay)"),
)
class SourceViewSet(viewsets.ModelViewSet):
    serializer_class = SourceSerializer
    pagination_class = None
    filterset_fields = ["kind", "enabled"]

    def get_queryset(self) -> QuerySet[Source]:
        return Source.objects.prefetch_related("cursors").order_by("name")

    def create(self, request: Request) -> Response:
        try:
            source = source_create(data=json_object(request), actor=request.user)
        except SourceValidationError as exc:
            raise field_errors_400(exc) from exc
        return Response(SourceSerializer(source).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, pk: str | None = None, partial: bool = False) -> Response:
        source = self.get_object()
        data = json_object(request)
        if not partial:
            missing = [field for field in ("name", "config") if field not in data]
            if missing:
                raise ValidationError({field: ["This field is required."] for field in missing})
        try:
            source = source_update(source=source, data=data, actor=request.user)
        except SourceValidationError as exc:
            raise field_errors_400(exc) from exc
        return Response(SourceSerializer(self.get_queryset().get(pk=source.pk)).data)

    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        return self.update(request, pk, partial=True)

    def destroy(self, request: Request, pk: str | None = None) -> Response:
        source_delete(source=self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=None,
        responses={200: PollResultSerializer, 409: OpenApiResponse(description="Another poll of it is running")},
        summary="Poll now (at most 30 s; the rest of a backlog goes on in the background)",
    )
    @action(detail=True, methods=["post"])
    def poll(self, request: Request, pk: str | None = None) -> Response:
        source = self.get_object()
        result = source_poll_now(source=source)
        if result.busy:
            return Response(
                {"detail": "Another poll of this source is running; try again when it ends."},
                status=status.HTTP_409_CONFLICT,
            )
        return Response(result.as_dict())

    @extend_schema(request=None, responses={200: SourceTestSerializer}, summary="Check the key with a one-row query")
    @action(detail=True, methods=["post"])
    def test(self, request: Request, pk: str | None = None) -> Response:
        return Response(source_test(source=self.get_object()))

"""Channels and deliveries API (api.md section 5)."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response

from alertsite.api_helpers import field_errors_400, json_object
from channels.api.serializers import ChannelSerializer, ChannelWriteSerializer, DeliverySerializer
from channels.filters import DeliveryFilter
from channels.models import Channel, Delivery, DeliveryAttempt, DeliveryStatus
from channels.services import (
    ChannelInUse,
    ChannelValidationError,
    PreviewError,
    channel_create,
    channel_delete,
    channel_preview,
    channel_resume,
    channel_test,
    channel_update,
    delivery_retry,
    paused_until,
)


@extend_schema_view(
    create=extend_schema(request=ChannelWriteSerializer),
    update=extend_schema(request=ChannelWriteSerializer),
    partial_update=extend_schema(request=ChannelWriteSerializer),
    destroy=extend_schema(responses={204: None, 409: OpenApiResponse(description="Rules still use the channel")}),
)
class ChannelViewSet(viewsets.ModelViewSet):
    serializer_class = ChannelSerializer
    pagination_class = None
    filterset_fields = ["kind", "enabled"]

    def get_queryset(self) -> QuerySet[Channel]:
        return Channel.objects.order_by("name")

    def create(self, request: Request) -> Response:
        try:
            channel = channel_create(data=json_object(request), actor=request.user)
        except ChannelValidationError as exc:
            raise field_errors_400(exc) from exc
        return Response(ChannelSerializer(channel).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, pk: str | None = None, partial: bool = False) -> Response:
        channel = self.get_object()
        data = json_object(request)
        if not partial:
            missing = [field for field in ("name", "config") if field not in data]
            if missing:
                raise ValidationError({field: ["This field is required."] for field in missing})
        try:
            channel = channel_update(channel=channel, data=data, actor=request.user)
        except ChannelValidationError as exc:
            raise field_errors_400(exc) from exc
        return Response(ChannelSerializer(channel).data)

    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        return self.update(request, pk, partial=True)

    def destroy(self, request: Request, pk: str | None = None) -> Response:
        try:
            channel_delete(channel=self.get_object(), actor=request.user)
        except ChannelInUse as exc:
            return Response({"detail": str(exc), "rules": exc.rule_names}, status=status.HTTP_409_CONFLICT)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=None,
        responses={200: OpenApiResponse(description='{"delivered": bool, "status_code": int|null, "error": str|null}')},
        summary="Send a test notification now",
    )
    @action(detail=True, methods=["post"])
    def test(self, request: Request, pk: str | None = None) -> Response:
        delivery = channel_test(channel=self.get_object(), actor=request.user)
        return Response(
            {
                "delivered": delivery.status == DeliveryStatus.SENT,
                "status_code": delivery.response_code,
                "error": delivery.last_error or None,
                "delivery": DeliverySerializer(
                    Delivery.objects.select_related("channel").prefetch_related("attempt_log").get(pk=delivery.pk)
                ).data,
            }
        )

    @extend_schema(
        request=None,
        responses={
            200: OpenApiResponse(description='{"type": str, "fields": {field: text}, "templated": [field, ...]}'),
            400: OpenApiResponse(description="What is wrong, by field path (config.template.body, alert, ...)"),
        },
        summary="Render a channel body's message for an alert or an event, without sending",
    )
    @action(detail=False, methods=["post"])
    def preview(self, request: Request) -> Response:
        try:
            return Response(channel_preview(json_object(request)))
        except PreviewError as exc:
            raise field_errors_400(exc) from exc

    @extend_schema(
        request=None,
        responses={200: OpenApiResponse(description='{"resumed": bool, "deliveries_due": int}')},
        summary="End the channel's pause now",
    )
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk: str | None = None) -> Response:
        channel = self.get_object()
        was_paused = paused_until(channel) is not None
        due = channel_resume(channel=channel, actor=request.user)
        return Response({"resumed": was_paused, "deliveries_due": len(due)})


class DeliveryPagination(CursorPagination):
    ordering = ("-created_at", "-id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class DeliveryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Every notification with its attempts (read-only log), and retry of failed ones."""

    serializer_class = DeliverySerializer
    filterset_class = DeliveryFilter
    pagination_class = DeliveryPagination

    def get_queryset(self) -> QuerySet[Delivery]:
        return Delivery.objects.select_related("channel").prefetch_related(
            Prefetch("attempt_log", queryset=DeliveryAttempt.objects.order_by("number"))
        )

    @extend_schema(request=None, responses={200: DeliverySerializer, 409: OpenApiResponse()})
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk: str | None = None) -> Response:
        delivery = self.get_object()
        if delivery.status != DeliveryStatus.FAILED:
            return Response(
                {"detail": f"Only failed deliveries can be retried; this one is {delivery.status}."},
                status=status.HTTP_409_CONFLICT,
            )
        delivery_retry(delivery=delivery)
        return Response(DeliverySerializer(self.get_queryset().get(pk=delivery.pk)).data)

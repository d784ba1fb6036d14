"""Inbound integrations (api.md section 11): PagerDuty's v3 webhooks move alerts (back-sync).

Unauthenticated and CSRF-exempt: the signature made with the channel's webhook secret is the
authentication. The work is alerts.services.backsync's; this view only hands over the raw body.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from alerts.services.backsync import BacksyncRefused, pagerduty_webhook_handle


class PagerDutyWebhookView(APIView):
    """Receive a PagerDuty v3 webhook for one PagerDuty channel."""

    authentication_classes: list = []  # no session, so no CSRF check either: the signature authenticates
    permission_classes = [AllowAny]

    @extend_schema(
        request=None,
        responses={
            200: OpenApiResponse(description='{"outcome": "moved" | "unchanged" | "ignored", "detail", "alert"}'),
            400: OpenApiResponse(description="Not a PagerDuty v3 webhook: the detail names the field."),
            401: OpenApiResponse(description="X-PagerDuty-Signature missing or not matching."),
            403: OpenApiResponse(description="The channel has no webhook_secret."),
            404: OpenApiResponse(description="No such PagerDuty channel, or no alert with the incident's dedup key."),
            409: OpenApiResponse(description="A replay: occurred_at more than 5 minutes off, or an event id seen."),
        },
        auth=[],
    )
    def post(self, request: Request, channel_id: str) -> Response:
        body = request.body  # the raw bytes, as signed (read before anything parses them)
        try:
            result = pagerduty_webhook_handle(
                channel_id=int(channel_id), body=body, signature=request.headers.get("X-PagerDuty-Signature")
            )
        except BacksyncRefused as exc:
            return Response({"detail": exc.detail}, status=exc.status)
        return Response({"outcome": result.outcome, "detail": result.detail, "alert": result.alert or None})

"""`GET /metrics` (api.md §13): Prometheus text, behind a bearer token unless in DEBUG without one."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from alertsite.observability.domain_metrics import DomainCollector
from alertsite.observability.http_metrics import http_registry

NOT_CONFIGURED = "Metrics are off: set ALERTSITE_METRICS_TOKEN and scrape with Authorization: Bearer <token>."
UNAUTHORIZED = "Send Authorization: Bearer <ALERTSITE_METRICS_TOKEN>."


def _refusal(request: HttpRequest) -> JsonResponse | None:
    """None when the scrape may go on; else the JSON answer (401 missing or wrong token, 403 none configured)."""
    token = settings.ALERTSITE_METRICS_TOKEN
    if not token:
        return None if settings.DEBUG else JsonResponse({"detail": NOT_CONFIGURED}, status=403)
    scheme, _, sent = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(sent.strip().encode(), token.encode()):
        return None
    response = JsonResponse({"detail": UNAUTHORIZED}, status=401)
    response["WWW-Authenticate"] = 'Bearer realm="metrics"'
    return response


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    refusal = _refusal(request)
    if refusal is not None:
        return refusal
    # The collector is exposed as a registry would be (generate_latest only calls `collect`),
    # so its reads run once, at this scrape.
    body = generate_latest(DomainCollector()) + generate_latest(http_registry())
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)

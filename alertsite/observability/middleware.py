"""One outermost middleware per request: its id, its duration, its metrics and its access-log line."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.core.signals import request_finished
from django.http import HttpRequest, HttpResponse

from alertsite.observability import http_metrics
from alertsite.observability.request_id import HEADER, META_KEY, current, request_id_accept

access_logger = logging.getLogger("alertsite.access")
UNMATCHED = "<unmatched>"


def route_name(request: HttpRequest) -> str:
    """The URL pattern's name (bounded, unlike paths), its pattern when unnamed, or <unmatched>."""
    match = request.resolver_match
    if match is None:
        return UNMATCHED
    return match.view_name or match.route or UNMATCHED


def user_name(request: HttpRequest) -> str | None:
    user = getattr(request, "user", None)  # DRF's token authentication sets it on the request too
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return str(user.get_username())


class RequestObserver:
    """Gives each request an id (kept from a sane `X-Request-Id`, else new), answers it in the
    `X-Request-Id` header, and records the request's duration: HTTP metrics when
    ALERTSITE_HTTP_METRICS is on, an access-log line when ALERTSITE_ACCESS_LOG is on (the default
    with LOG_FORMAT=json). Outermost, so the duration covers every other middleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.metrics = settings.ALERTSITE_HTTP_METRICS
        self.access_log = settings.ALERTSITE_ACCESS_LOG

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        request_id = request_id_accept(request.META.get(META_KEY))
        # Kept until the response is closed (request_finished), not just until this returns:
        # Django logs a 4xx/5xx ("Unauthorized: /api/...") after the middleware chain.
        current.set(request_id)
        response = self.get_response(request)
        response[HEADER] = request_id
        seconds = time.perf_counter() - started
        if self.metrics:
            http_metrics.request_observe(request.method or "", route_name(request), response.status_code, seconds)
        if self.access_log:
            self.access_write(request, response, seconds)
        return response

    def access_write(self, request: HttpRequest, response: HttpResponse, seconds: float) -> None:
        # The path only: a query string may carry what must not be logged.
        access_logger.info(
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={
                "method": request.method,
                "path": request.path,
                "route": route_name(request),
                "status": response.status_code,
                "duration_ms": round(seconds * 1000, 2),
                "user": user_name(request),
                "remote_addr": request.META.get("REMOTE_ADDR"),
            },
        )


def request_id_clear(**kwargs: object) -> None:
    """The response is closed: log lines from now on belong to no request."""
    current.set(None)


request_finished.connect(request_id_clear, dispatch_uid="alertsite.observability.request_id_clear")

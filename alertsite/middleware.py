"""Request guards that apply to every page and endpoint."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework.response import Response

NUL_MESSAGE = "Query parameters and form fields must not contain NUL characters (%00)."
API_PREFIX = "/api/"
# The Directory Insights compatible API (api.md section 9) answers errors as the vendor: {"message"}.
INSIGHTS_PREFIX = "/insights/directory/"
# DRF's wording, so an error Django answers reads like one the API answers.
API_DETAILS = {
    400: "Bad request.",
    403: "You do not have permission to perform this action.",
    404: "Not found.",
    500: "A server error occurred.",
}
# Headers of the original answer that a client still needs from the JSON one.
KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate")

# How long a client should wait before retrying while the database is unreachable: about
# what a PostgreSQL restart or fail-over takes.
DATABASE_RETRY_AFTER_SECONDS = 5

logger = logging.getLogger(__name__)


# The health check answers JSON (api.md section 1), so its errors (405 for a POST) do too.
HEALTH_PATHS = ("/healthz", "/healthz/")


def is_api_request(request: HttpRequest) -> bool:
    return request.path_info.startswith((API_PREFIX, INSIGHTS_PREFIX)) or request.path_info in HEALTH_PATHS


def error_key(request: HttpRequest) -> str:
    """The key of an error message: DRF's "detail", or the vendor's "message" on its compatible paths."""
    return "message" if request.path_info.startswith(INSIGHTS_PREFIX) else "detail"


def too_large_response(request: HttpRequest) -> HttpResponse:
    """413 for a body over DATA_UPLOAD_MAX_MEMORY_SIZE: JSON in DRF's shape under /api/, plain text elsewhere."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    declared = request.META.get("CONTENT_LENGTH") or ""
    size = f"{int(declared):,} bytes" if declared.isascii() and declared.isdigit() else f"over {limit:,} bytes"
    message = f"The request body is {size}; the limit is {limit:,} bytes."
    logger.warning("Refused an oversized request body", extra={"path": request.path, "content_length": declared})
    if is_api_request(request):
        return JsonResponse({error_key(request): message}, status=413)
    return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")


class ApiErrors:
    """Every error under /api/ (and the compatible /insights/directory/) answers JSON, and an oversized body answers 413 on any path.

    DRF renders the errors of its own views. This covers what Django answers itself, in HTML:
    a path no route matches (404), a body over DATA_UPLOAD_MAX_MEMORY_SIZE (Django's
    RequestDataTooBig, a 400 page), an uncaught exception (500), with DEBUG on or off; and
    DRF errors rendered in another format (the OpenAPI schema view answers its 405 in YAML).
    The browsable API keeps its HTML pages.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        content_type = response.get("Content-Type", "")
        if (
            response.status_code < 400
            or not is_api_request(request)
            or getattr(response, "streaming", False)
            or "json" in content_type
            or (isinstance(response, Response) and content_type.startswith("text/html"))  # the browsable API
        ):
            return response
        status = response.status_code
        data = getattr(response, "data", None) if isinstance(response, Response) else None
        drf_detail = data.get("detail") if isinstance(data, dict) else None
        detail = str(drf_detail) if drf_detail else API_DETAILS.get(status) or f"{response.reason_phrase}."
        replacement = JsonResponse({error_key(request): detail}, status=status)
        for header in KEPT_HEADERS:
            if header in response:
                replacement[header] = response[header]
        return replacement

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, RequestDataTooBig):
            return too_large_response(request)
        return None


def nul_guard(get_response: Callable[[HttpRequest], HttpResponse]) -> Callable[[HttpRequest], HttpResponse]:
    """400 for a NUL in the query string or a form field: PostgreSQL text cannot hold one, so
    letting it through would turn a filter or a save into a server error."""

    def middleware(request: HttpRequest) -> HttpResponse:
        fields = [request.GET]
        if request.method == "POST" and request.content_type in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ):
            try:
                fields.append(request.POST)
            except RequestDataTooBig:
                return too_large_response(request)
        for data in fields:
            for key, values in data.lists():
                if "\x00" in key or any("\x00" in value for value in values):
                    if is_api_request(request):
                        return JsonResponse(
                            {error_key(request): NUL_MESSAGE, "field": key.replace("\x00", "")}, status=400
                        )
                    return HttpResponse(NUL_MESSAGE, status=400, content_type="text/plain; charset=utf-8")
        return get_response(request)

    return middleware


def database_unavailable_response(request: HttpRequest) -> HttpResponse:
    """503 with Retry-After while the database cannot be reached: the request changed nothing
    (its transaction never committed), so the client may send it again as it was."""
    message = f"The database is unavailable; nothing was changed. Try again in {DATABASE_RETRY_AFTER_SECONDS} seconds."
    if is_api_request(request):
        response: HttpResponse = JsonResponse({error_key(request): message}, status=503)
    else:
        response = HttpResponse(message, status=503, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
    return response


class DatabaseOutage:
    """A lost or refused database connection answers 503 + Retry-After instead of a 500.

    Django drops a broken connection at the end of the request (and CONN_HEALTH_CHECKS
    checks a reused one before the next), so once the database is back the next request
    reconnects by itself. Ingest ids make a retried POST of events harmless.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logger.warning("database unavailable: answered 503", extra={"path": request.path, "error": str(exception)})
        return database_unavailable_response(request)

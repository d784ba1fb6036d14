"""Request guards that apply to every page and endpoint."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

NUL_MESSAGE = "Query parameters and form fields must not contain NUL characters (%00)."


def nul_guard(get_response: Callable[[HttpRequest], HttpResponse]) -> Callable[[HttpRequest], HttpResponse]:
    """400 for a NUL in the query string or a form field: PostgreSQL text cannot hold one, so
    letting it through would turn a filter or a save into a server error."""

    def middleware(request: HttpRequest) -> HttpResponse:
        fields = [request.GET]
        if request.method == "POST" and request.content_type in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ):
            fields.append(request.POST)
        for data in fields:
            for key, values in data.lists():
                if "\x00" in key or any("\x00" in value for value in values):
                    if request.path.startswith("/api/"):
                        return JsonResponse({"detail": NUL_MESSAGE, "field": key.replace("\x00", "")}, status=400)
                    return HttpResponse(NUL_MESSAGE, status=400, content_type="text/plain; charset=utf-8")
        return get_response(request)

    return middleware

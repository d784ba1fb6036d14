"""HTTP adapters of the compatible query API: authenticate, parse, select, answer as the vendor does.

- Auth: `x-api-key: <alertsite API token>` (the token of `Authorization: Token`, which is
  accepted too). Readers (admin, responder, viewer) may query; an `ingest` key gets 403, a
  missing or unknown key 401.
- Errors answer `{"message": "..."}` (plus `"field"` when one body field is at fault), the
  vendor's shape, with 400, 401, 403 or 405.
- `x-org-id` (repeated, or comma-separated) keeps events whose `organization` is one of them.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from alertsite.accounts.authentication import TokenAuthentication
from alertsite.accounts.permissions import AnyReader
from events.insights import selectors
from events.insights.query import (
    QueryError,
    decode_body,
    distinct_query_parse,
    event_query_parse,
    interval_query_parse,
)


class ApiKeyAuthentication(TokenAuthentication):
    """The vendor's `x-api-key` header carrying an alertsite API token."""

    def authenticate(self, request: Request) -> Any:
        key = request.META.get("HTTP_X_API_KEY")
        if key is None:
            return None
        key = key.strip()
        if not key:
            raise exceptions.AuthenticationFailed("The x-api-key header is empty.")
        return self.authenticate_credentials(key)

    def authenticate_header(self, request: Request) -> str:
        return "x-api-key"


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """Document ApiKeyAuthentication as the vendor's `x-api-key` header scheme."""

    target_class = ApiKeyAuthentication
    name = "apiKeyAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "apiKey", "in": "header", "name": "x-api-key"}


ERROR = OpenApiResponse(
    response=OpenApiTypes.OBJECT, description='{"message": "...", "field": "..."} as the vendor answers.'
)
ORG_HEADER = OpenApiParameter(
    "x-org-id",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="Only events whose organization is one of these (repeat it, or separate with commas).",
)
COMMON_RESPONSES = {400: ERROR, 401: ERROR, 403: ERROR}


class InsightsView(APIView):
    """The shared part: auth, the vendor's error shape, the body and the org ids."""

    authentication_classes = [ApiKeyAuthentication, TokenAuthentication]
    permission_classes = [AnyReader]
    parser_classes: list[Any] = []  # the body is read raw, whatever its Content-Type
    renderer_classes = [JSONRenderer]

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, QueryError):
            body = {"message": exc.message} if exc.field is None else {"message": exc.message, "field": exc.field}
            return Response(body, status=status.HTTP_400_BAD_REQUEST)
        response = super().handle_exception(exc)
        if isinstance(response.data, dict) and "detail" in response.data:
            response.data = {"message": str(response.data["detail"])}
        return response

    def body(self, request: Request) -> dict[str, Any]:
        return decode_body(request._request.body)

    def org_ids(self, request: Request) -> list[str]:
        raw = request.META.get("HTTP_X_ORG_ID", "")
        return sorted({part.strip() for part in raw.split(",") if part.strip()})


class EventsView(InsightsView):
    """One page of events as stored, oldest first (or newest with sort DESC), after search_after."""

    @extend_schema(
        operation_id="insights_events",
        summary="Directory Insights compatible: query events",
        parameters=[ORG_HEADER],
        request=OpenApiTypes.OBJECT,
        responses={
            200: OpenApiResponse(
                response={"type": "array", "items": {"type": "object", "additionalProperties": True}},
                description="A JSON array of events as stored; headers X-Result-Count, X-Limit, X-Sort, "
                "X-Search_after (send it back as search_after for the next page), X-Request-Id.",
            ),
            **COMMON_RESPONSES,
        },
    )
    def post(self, request: Request) -> HttpResponse:
        query = event_query_parse(self.body(request))
        page = selectors.events_page(query, org_ids=self.org_ids(request))
        response = HttpResponse(page.body, content_type="application/json")
        response["X-Result-Count"] = str(page.count)
        response["X-Limit"] = str(query.limit)
        response["X-Sort"] = "DESC" if query.descending else "ASC"
        cursor = page.last or query.search_after
        response["X-Search_after"] = cursor.header() if cursor is not None else "[]"
        # X-Request-Id, as the vendor answers it, is set on every response by alertsite.observability.
        return response


class CountView(InsightsView):
    """How many events the query selects (its paging and projection fields are ignored)."""

    @extend_schema(
        operation_id="insights_events_count",
        summary="Directory Insights compatible: count events",
        parameters=[ORG_HEADER],
        request=OpenApiTypes.OBJECT,
        responses={200: OpenApiResponse(response=OpenApiTypes.OBJECT, description='{"count": n}'), **COMMON_RESPONSES},
    )
    def post(self, request: Request) -> Response:
        query = event_query_parse(self.body(request))
        return Response({"count": selectors.events_count(query.filters, org_ids=self.org_ids(request))})


class DistinctView(InsightsView):
    """The values of one field among the selected events, with their counts."""

    @extend_schema(
        operation_id="insights_events_distinct",
        summary="Directory Insights compatible: distinct values of a field",
        parameters=[ORG_HEADER],
        request=OpenApiTypes.OBJECT,
        responses={
            200: OpenApiResponse(
                response=OpenApiTypes.OBJECT,
                description='{"buckets": [{"key", "doc_count"}], "doc_count_error_upper_bound": 0, '
                '"sum_other_doc_count": n}',
            ),
            **COMMON_RESPONSES,
        },
    )
    def post(self, request: Request) -> Response:
        query = distinct_query_parse(self.body(request))
        return Response(selectors.events_distinct(query, org_ids=self.org_ids(request)))


class IntervalView(InsightsView):
    """Event counts a time bucket (interval_unit s|m|h|d|w times interval_value, in timezone)."""

    @extend_schema(
        operation_id="insights_events_interval",
        summary="Directory Insights compatible: event counts by time interval",
        parameters=[ORG_HEADER],
        request=OpenApiTypes.OBJECT,
        responses={
            200: OpenApiResponse(
                response=OpenApiTypes.OBJECT,
                description='{"buckets": [{"key": epoch ms, "key_as_string": ISO 8601, "doc_count": n}]}',
            ),
            **COMMON_RESPONSES,
        },
    )
    def post(self, request: Request) -> Response:
        query = interval_query_parse(self.body(request))
        return Response(selectors.events_interval(query, org_ids=self.org_ids(request)))

"""Rules API (api.md section 4): CRUD, enable/disable, test, preview, templates."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from alertsite.accounts.permissions import AnyReader
from alertsite.api_helpers import field_errors_400, json_object
from alertsite.snooze import SnoozeInputError
from events.api.serializers import AuditEventSerializer
from rules.api.serializers import (
    RulePreviewInputSerializer,
    RuleSerializer,
    RuleTemplateSerializer,
    RuleTestInputSerializer,
    RuleTestResultSerializer,
    RuleWriteSerializer,
    SnoozeInputSerializer,
)
from rules.conditions import ConditionError, condition_explain, conditions_parse
from rules.expression import ExpressionError, expression_to_filters, filters_to_expression
from rules.filters import RuleFilter
from rules.models import Rule
from rules.operators import operators
from rules.preview import rule_preview
from rules.selectors import templates_list
from rules.services import rule_create, rule_delete, rule_set_enabled, rule_update
from rules.snooze import rule_snooze, rule_unsnooze
from rules.validation import RuleValidationError, rule_validate

PREVIEW_DEFAULT_DAYS = 7


class RulePagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


@extend_schema_view(
    list=extend_schema(summary="List rules (filters: enabled, priority, event_type, channel, search, ordering)"),
    retrieve=extend_schema(summary="One rule"),
    create=extend_schema(summary="Create a rule (optionally from a template)", request=RuleWriteSerializer),
    update=extend_schema(summary="Replace a rule", request=RuleWriteSerializer),
    partial_update=extend_schema(summary="Change some fields of a rule", request=RuleWriteSerializer),
    destroy=extend_schema(summary="Delete a rule"),
)
class RuleViewSet(viewsets.ModelViewSet):
    serializer_class = RuleSerializer
    filterset_class = RuleFilter
    pagination_class = RulePagination

    def get_permissions(self):
        # Testing and previewing change nothing: every reader may use them.
        if self.action in ("test_event", "preview"):
            return [AnyReader()]
        return super().get_permissions()

    def get_queryset(self) -> QuerySet[Rule]:
        return (
            Rule.objects.select_related("created_by", "updated_by", "snoozed_by")
            .prefetch_related("channels")
            .order_by("name", "pk")
        )

    def create(self, request: Request) -> Response:
        try:
            rule = rule_create(data=json_object(request), actor=request.user)
        except RuleValidationError as exc:
            raise field_errors_400(exc) from exc
        return Response(RuleSerializer(self._reload(rule)).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, pk: str | None = None, partial: bool = False) -> Response:
        rule = self.get_object()
        try:
            rule = rule_update(rule=rule, data=json_object(request), actor=request.user, replace=not partial)
        except RuleValidationError as exc:
            raise field_errors_400(exc) from exc
        return Response(RuleSerializer(self._reload(rule)).data)

    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        return self.update(request, pk, partial=True)

    def destroy(self, request: Request, pk: str | None = None) -> Response:
        rule_delete(rule=self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={200: RuleSerializer}, summary="Enable a rule")
    @action(detail=True, methods=["post"])
    def enable(self, request: Request, pk: str | None = None) -> Response:
        rule = rule_set_enabled(rule=self.get_object(), enabled=True, actor=request.user)
        return Response(RuleSerializer(self._reload(rule)).data)

    @extend_schema(request=None, responses={200: RuleSerializer}, summary="Disable a rule")
    @action(detail=True, methods=["post"])
    def disable(self, request: Request, pk: str | None = None) -> Response:
        rule = rule_set_enabled(rule=self.get_object(), enabled=False, actor=request.user)
        return Response(RuleSerializer(self._reload(rule)).data)

    @extend_schema(
        request=RuleTestInputSerializer,
        responses={200: RuleTestResultSerializer},
        summary="Explain whether an event matches this rule, condition by condition and filter by filter",
        description=(
            "`matched` says whether the event matches the rule's conditions, enabled or not, so a rule "
            "can be tried before it is enabled; `enabled` says whether the rule would act on it."
        ),
    )
    @action(detail=True, methods=["post"], url_path="test")
    def test_event(self, request: Request, pk: str | None = None) -> Response:
        rule = self.get_object()
        payload = RuleTestInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        event = payload.validated_data["event"]
        conditions = [condition_explain(condition, event) for condition in conditions_parse(rule.conditions)]
        return Response(
            {
                "matched": any(condition["matched"] for condition in conditions),
                "enabled": rule.enabled,
                "conditions": conditions,
            }
        )

    @extend_schema(
        request=RulePreviewInputSerializer,
        responses={200: OpenApiResponse(description='{"matched", "alerts", "scanned", "truncated", "sample"}')},
        summary="Backtest an unsaved rule against stored events since a date",
    )
    @action(detail=False, methods=["post"])
    def preview(self, request: Request) -> Response:
        body = json_object(request)
        since_raw = body.pop("since", None)
        sample_size = body.pop("sample_size", 10)
        since = timezone.now() - timedelta(days=PREVIEW_DEFAULT_DAYS)
        if since_raw is not None:
            try:
                since = RulePreviewInputSerializer().fields["since"].run_validation(since_raw)
            except ValidationError as exc:
                raise ValidationError({"since": exc.detail}) from exc
        if not isinstance(sample_size, int) or isinstance(sample_size, bool) or not 0 <= sample_size <= 100:
            raise ValidationError({"sample_size": ["Must be a whole number from 0 to 100."]})
        try:
            values = rule_validate(body, check_name=False)
        except RuleValidationError as exc:
            raise field_errors_400(exc) from exc
        result = rule_preview(values=values, since=since, sample_size=sample_size)
        return Response(
            {
                "since": since,
                "scanned": result.scanned,
                "matched": result.matched,
                "alerts": result.alerts,
                "truncated": result.truncated,
                "sample": AuditEventSerializer(result.sample, many=True).data,
            }
        )

    @extend_schema(
        methods=["POST"],
        request=SnoozeInputSerializer,
        responses={200: RuleSerializer},
        summary="Snooze a rule: it still raises alerts but sends no notifications until then",
    )
    @extend_schema(methods=["DELETE"], request=None, responses={200: RuleSerializer}, summary="End a rule's snooze")
    @action(detail=True, methods=["post", "delete"])
    def snooze(self, request: Request, pk: str | None = None) -> Response:
        rule = self.get_object()
        if request.method == "DELETE":
            rule = rule_unsnooze(rule=rule, actor=request.user)
        else:
            try:
                rule = rule_snooze(rule=rule, body=request.data, actor=request.user)
            except SnoozeInputError as exc:
                raise ValidationError({exc.field: [exc.message]}) from exc
        return Response(RuleSerializer(self._reload(rule)).data)

    def _reload(self, rule: Rule) -> Rule:
        return self.get_queryset().get(pk=rule.pk)


class RuleTemplateListView(APIView):
    """Rule Management: the template catalog, by tab, searchable by name."""

    @extend_schema(responses={200: RuleTemplateSerializer(many=True)}, summary="Rule templates")
    def get(self, request: Request) -> Response:
        templates = templates_list(
            tab=request.query_params.get("tab") or "", search=request.query_params.get("search") or ""
        )
        return Response([template.as_dict() for template in templates])


class OperatorListView(APIView):
    """The filter operators: key, label as the console shows it, and the value kinds each accepts."""

    @extend_schema(responses={200: OpenApiResponse(description='[{"key", "label", "value_kinds"}]')})
    def get(self, request: Request) -> Response:
        return Response([operator.as_dict() for _, operator in operators.items()])


class ConditionConvertView(APIView):
    """Switch a condition between field filters and the expression language, both ways.

    `{"filters": [...], "match": "all"}` answers `{"expression": "..."}`; `{"expression": "..."}`
    answers `{"match", "filters"}`, or 400 saying why the expression cannot be shown as fields.
    """

    permission_classes = [AnyReader]

    @extend_schema(
        request=OpenApiTypes.OBJECT,
        responses={200: OpenApiResponse(description='{"expression"} or {"match", "filters"}')},
    )
    def post(self, request: Request) -> Response:
        body = json_object(request)
        if "expression" in body:
            try:
                match, filters = expression_to_filters(str(body["expression"]))
            except ExpressionError as exc:
                raise ValidationError({"expression": [str(exc)]}) from exc
            return Response({"match": match, "filters": filters})
        condition = {"event_type": "x", "match": body.get("match", "all"), "filters": body.get("filters") or []}
        try:
            parsed = conditions_parse([condition])[0]
        except ConditionError as exc:
            raise ValidationError(
                {path.replace("conditions[0].", ""): [message] for path, message in exc.errors.items()}
            ) from exc
        try:
            expression = filters_to_expression([f.as_dict() for f in parsed.filters], parsed.match)
        except ExpressionError as exc:
            raise ValidationError({"filters": [f"Cannot be written as an expression: {exc}"]}) from exc
        return Response({"expression": expression})

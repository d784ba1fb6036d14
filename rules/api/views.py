"""Rules API (api.md sections 4 and 10): CRUD, enable/disable, test, preview, templates, versions.

Every write takes an optional `"comment"` (the change note stored with the rule's new version).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from alertsite.accounts.permissions import AnyReader
from alertsite.api_helpers import field_errors_400, json_object
from alertsite.snooze import SnoozeInputError
from events.api.serializers import AuditEventSerializer
from rules.api.serializers import (
    RuleChangePreviewSerializer,
    RuleCommentSerializer,
    RulePreviewInputSerializer,
    RuleSerializer,
    RuleTemplateSerializer,
    RuleTestInputSerializer,
    RuleTestResultSerializer,
    RuleVersionDetailSerializer,
    RuleVersionSerializer,
    RuleWriteSerializer,
    SnoozeInputSerializer,
)
from rules.conditions import ConditionError, condition_explain, conditions_parse
from rules.detection_test import HistoryError, detection_test, history_check
from rules.expression import ExpressionError, expression_to_filters, filters_to_expression
from rules.filters import RuleFilter
from rules.models import Rule, RuleVersion
from rules.operators import operators
from rules.preview import AlertSample, ChangeSide, rule_change_preview, rule_preview
from rules.selectors import templates_list
from rules.services import rule_create, rule_delete, rule_restore, rule_set_enabled, rule_update
from rules.snooze import rule_snooze, rule_unsnooze
from rules.validation import RuleValidationError, rule_validate, rule_values
from rules.versions import comment_clean, version_changes

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
        if self.action in ("test_event", "preview", "preview_change"):
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
            data, comment = _body_and_comment(request)
            rule = rule_create(data=data, actor=request.user, comment=comment)
        except RuleValidationError as exc:
            raise field_errors_400(exc) from exc
        return Response(RuleSerializer(self._reload(rule)).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, pk: str | None = None, partial: bool = False) -> Response:
        rule = self.get_object()
        try:
            data, comment = _body_and_comment(request)
            rule = rule_update(rule=rule, data=data, actor=request.user, replace=not partial, comment=comment)
        except RuleValidationError as exc:
            raise field_errors_400(exc) from exc
        return Response(RuleSerializer(self._reload(rule)).data)

    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        return self.update(request, pk, partial=True)

    def destroy(self, request: Request, pk: str | None = None) -> Response:
        rule_delete(rule=self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=RuleCommentSerializer, responses={200: RuleSerializer}, summary="Enable a rule")
    @action(detail=True, methods=["post"])
    def enable(self, request: Request, pk: str | None = None) -> Response:
        return self._set_enabled(request, enabled=True)

    @extend_schema(request=RuleCommentSerializer, responses={200: RuleSerializer}, summary="Disable a rule")
    @action(detail=True, methods=["post"])
    def disable(self, request: Request, pk: str | None = None) -> Response:
        return self._set_enabled(request, enabled=False)

    def _set_enabled(self, request: Request, *, enabled: bool) -> Response:
        rule = self.get_object()
        try:
            comment = comment_clean(request.data.get("comment") if isinstance(request.data, dict) else None)
            rule = rule_set_enabled(rule=rule, enabled=enabled, actor=request.user, comment=comment)
        except RuleValidationError as exc:
            raise field_errors_400(exc) from exc
        return Response(RuleSerializer(self._reload(rule)).data)

    @extend_schema(
        request=None,
        responses={200: RuleVersionSerializer(many=True)},
        summary="The rule's versions, newest first",
    )
    @action(detail=True, methods=["get"], url_path="versions")
    def versions(self, request: Request, pk: str | None = None) -> Response:
        rule = self.get_object()
        queryset = RuleVersion.objects.filter(rule=rule).select_related("author").order_by("-version")
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(RuleVersionSerializer(page, many=True).data)

    @extend_schema(
        request=None,
        responses={200: RuleVersionDetailSerializer},
        summary="One version of the rule, with what changed since the version before it",
    )
    @action(detail=True, methods=["get"], url_path=r"versions/(?P<number>[0-9]+)")
    def version_detail(self, request: Request, pk: str | None = None, number: str = "") -> Response:
        version = self._version(number)
        return Response(RuleVersionDetailSerializer(version).data)

    @extend_schema(
        request=RuleCommentSerializer,
        responses={200: RuleSerializer},
        summary="Make the rule equal to this version again (stored as a new version)",
    )
    @action(detail=True, methods=["post"], url_path=r"versions/(?P<number>[0-9]+)/restore")
    def restore(self, request: Request, pk: str | None = None, number: str = "") -> Response:
        version = self._version(number)
        try:
            comment = comment_clean(request.data.get("comment") if isinstance(request.data, dict) else None)
            rule = rule_restore(rule=version.rule, version=version, actor=request.user, comment=comment)
        except RuleValidationError as exc:
            raise field_errors_400(exc) from exc
        return Response(RuleSerializer(self._reload(rule)).data)

    def _version(self, number: str) -> RuleVersion:
        rule = self.get_object()
        version = RuleVersion.objects.select_related("author", "rule").filter(rule=rule, version=int(number)).first()
        if version is None:
            raise NotFound(f"Rule {rule.pk} has no version {number}.")
        return version

    @extend_schema(
        request=RuleTestInputSerializer,
        responses={200: RuleTestResultSerializer},
        summary="Explain whether an event matches this rule, condition by condition and filter by filter",
        description=(
            "`matched` says whether the event matches the rule's conditions, enabled or not, so a rule "
            "can be tried before it is enabled; `enabled` says whether the rule would act on it. "
            'For a rule with a detection, `"history"` (at most 1,000 earlier events, as sent to '
            "`POST /events`) primes it, and `detection` says whether the event counts and which step or "
            "prior value decided (null for a rule without a detection)."
        ),
    )
    @action(detail=True, methods=["post"], url_path="test")
    def test_event(self, request: Request, pk: str | None = None) -> Response:
        rule = self.get_object()
        payload = RuleTestInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        event = payload.validated_data["event"]
        parsed = conditions_parse(rule.conditions)
        conditions = [condition_explain(condition, event) for condition in parsed]
        answer: dict[str, Any] = {
            "matched": any(condition["matched"] for condition in conditions),
            "enabled": rule.enabled,
            "conditions": conditions,
        }
        detection = rule.detection or None
        history = request.data.get("history", []) if isinstance(request.data, dict) else []
        try:
            history_check(history, required_timestamp=detection is not None, event=event)
        except HistoryError as exc:
            raise field_errors_400(exc) from exc
        answer["detection"] = (
            detection_test(conditions=tuple(parsed), detection=detection, event=event, history=history)
            if detection is not None
            else None
        )
        return Response(answer)

    @extend_schema(
        request=RulePreviewInputSerializer,
        responses={
            200: OpenApiResponse(
                description='{"matched", "alerts", "scanned", "truncated", "sample", "conditions_matched", '
                '"history_scanned"}; with a detection, `matched` counts the events it decided on and each '
                "sampled event says why (`explanation`)"
            )
        },
        summary="Backtest an unsaved rule against stored events since a date",
    )
    @action(detail=False, methods=["post"])
    def preview(self, request: Request) -> Response:
        body = json_object(request)
        since, sample_size = _preview_options(body)
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
                "sample": [_event_sample(event) for event in result.sample],
                "conditions_matched": result.conditions_matched,
                "history_scanned": result.history_scanned,
            }
        )

    @extend_schema(
        request=RulePreviewInputSerializer,
        responses={200: RuleChangePreviewSerializer},
        summary="What a change to this rule would add and remove, over stored events since a date",
        description=(
            "The body holds the fields to change (as for PATCH; a full rule works too), plus `since` "
            "(default 7 days ago) and `sample_size` (default 10). Both the rule as it is and as changed "
            "are replayed, as if enabled, over the same stored events: `events` and `alerts` say how many "
            "each side matches or opens and which the change adds or removes, with samples, newest first. "
            "An alert is the same on both sides when it has the same group key and was opened by the same event."
        ),
    )
    @action(detail=True, methods=["post"], url_path="preview-change")
    def preview_change(self, request: Request, pk: str | None = None) -> Response:
        rule = self.get_object()
        body = json_object(request)
        since, sample_size = _preview_options(body)
        body.pop("comment", None)
        try:
            after = rule_validate(body, instance=rule, check_name=False)
        except RuleValidationError as exc:
            raise field_errors_400(exc) from exc
        before = rule_values(rule)
        result = rule_change_preview(before=before, after=after, since=since, sample_size=sample_size)
        return Response(
            {
                "since": since,
                "scanned": result.scanned,
                "truncated": result.truncated,
                "changes": version_changes(before, after),
                "events": _side_data(result.events, _event_sample),
                "alerts": _side_data(result.alerts, _alert_sample_data),
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


def _preview_options(body: dict) -> tuple[datetime, int]:
    """Take `since` (default 7 days ago) and `sample_size` (0 to 100, default 10) out of a preview body."""
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
    return since, sample_size


def _side_data(side: ChangeSide, sample: Callable[[Any], dict]) -> dict:
    return {
        "before": side.before,
        "after": side.after,
        "added": side.added,
        "removed": side.removed,
        "added_sample": [sample(item) for item in side.added_sample],
        "removed_sample": [sample(item) for item in side.removed_sample],
    }


def _event_sample(event: Any) -> dict:
    """A sampled event as stored; with a detection, also why it counted (`explanation`)."""
    data = dict(AuditEventSerializer(event).data)
    explanation = getattr(event, "explanation", "")
    if explanation:
        data["explanation"] = explanation
    return data


def _alert_sample_data(item: AlertSample) -> dict:
    return {
        "opened_at": item.alert.opened_at,
        "last_seen_at": item.alert.last_seen_at,
        "event_count": item.alert.event_count,
        "event": AuditEventSerializer(item.event).data if item.event is not None else None,
    }


def _body_and_comment(request: Request) -> tuple[dict, str]:
    """The rule fields of a write, and its change note (`"comment"`, not a rule field)."""
    body = json_object(request)
    return body, comment_clean(body.pop("comment", None))


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

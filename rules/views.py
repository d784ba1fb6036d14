"""Console pages of the rules app: the Rules dashboard, Rule Management (templates) and the rule form.

Admins edit rules; responders and viewers read them: a rule's page shows them the same rule in
words, read-only (api.md section 2: they "read everything").

Views are adapters: they read the request, call one service from rules.services and render.
Every check on a rule lives in rules.validation; its errors come back by path and are shown
next to the field (or the condition / filter row) they name.
"""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Prefetch, QuerySet
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from alerts.states import AlertStatus
from alertsite.accounts.roles import user_role
from alertsite.console import ADMINS, admins_only, next_url, readers_only, snooze_body
from alertsite.priority import Priority
from alertsite.snooze import SnoozeInputError
from channels.selectors import channels_by_name
from events.catalog import (
    ASSOCIATION_ACTIONS,
    ASSOCIATION_EVENT_TYPE,
    ASSOCIATION_OPS,
    CONNECTION_TYPES,
    SERVICES,
    association_actions_for,
    keys_for,
)
from events.selectors import event_get, event_types_list
from rules.conditions import MAX_FILTERS
from rules.detection_words import detection_words, sequence_steps
from rules.filters import DEFAULT_ORDERING, RuleFilter
from rules.forms import (
    FIELD_LABELS,
    RuleForm,
    condition_errors,
    condition_title,
    condition_words,
    error_anchor,
    error_label,
    field_errors,
    form_parse,
    form_values,
)
from rules.key_types import form_key_types
from rules.models import Rule, RuleVersion
from rules.operators import BOOLEAN, LIST, NONE, NUMBER, STRING, operators
from rules.preview import rule_change_preview, rule_preview
from rules.selectors import template_get, template_rule, templates_by_slug, templates_list
from rules.services import rule_create, rule_delete, rule_restore, rule_set_enabled, rule_update
from rules.snooze import rule_snooze, rule_unsnooze
from rules.templates_catalog import TEMPLATE_TABS
from rules.validation import MAX_NAME, RuleValidationError, rule_validate, rule_values
from rules.version_words import history_words
from rules.versions import comment_clean, version_changes

if TYPE_CHECKING:
    from django.http import HttpRequest

    from events.models import AuditEvent

RULES_PER_PAGE = 50
VERSIONS_PER_PAGE = 50
PREVIEW_DAYS = 7
PREVIEW_SAMPLE = 5
EVENT_LABELS_SHOWN = 3
DEFAULT_TEMPLATE = "event_based"
RULES_URL_NAME = "console-rules"

# column -> (label, the `ordering` of the first click)
SORT_COLUMNS = (
    ("name", "Name", "name"),
    ("priority", "Priority", "-priority"),
    ("last_triggered_at", "Last triggered", "-last_triggered_at"),
    ("alert_count", "Alerts", "-alert_count"),
)
# Keys with a known set of values (spec 10.1-10.3): the filter editor offers them in a dropdown,
# with "Other value..." for anything else. By full key path.
ENUM_VALUES: dict[str, list[str]] = {
    "association.op": list(ASSOCIATION_OPS),
    "association.connection.from.type": list(CONNECTION_TYPES),
    "association.connection.to.type": list(CONNECTION_TYPES),
    "mfa_meta.type": ["totp", "duo", "webauthn", "push", "none"],
    "initiated_by.type": ["admin", "user", "systemuser", "system"],
    "application.sso_type": ["saml", "oidc"],
    "auth_method": ["session", "api key", "other"],
    "nas_mfa_state": ["DISABLED", "ENABLED", "REQUIRED", "ALWAYS"],
    "service": list(SERVICES),
    "severity": ["Low", "Medium", "High"],
}
TEMPLATE_TAB_LABELS = dict(TEMPLATE_TABS)


# -- Rules dashboard -----------------------------------------------------------------------------


def _rules_queryset() -> QuerySet[Rule]:
    return Rule.objects.select_related("snoozed_by").prefetch_related(Prefetch("channels", queryset=channels_by_name()))


def _event_labels(conditions: Any) -> list[str]:
    """The selected events of a rule as the picker names them, each once."""
    labels = [condition_title(condition) for condition in conditions or [] if isinstance(condition, dict)]
    return list(dict.fromkeys(labels))


def alerts_of_rule_url(rule_pk: int) -> str:
    """The Alerts dashboard narrowed to one rule's alerts, whatever their status (not only the open ones)."""
    query = urlencode([("rule", rule_pk), *(("status", status) for status in AlertStatus.values)])
    return f"{reverse('console-alerts')}?{query}"


def _template_of(slug: str, templates: dict[str, Any]) -> dict[str, str] | None:
    """The Rule Management template a rule came from, by name and tab; None when it names none."""
    template = templates.get(slug)
    if template is None:
        return {"name": slug, "tab": ""} if slug else None
    return {"name": template.name, "tab": TEMPLATE_TAB_LABELS.get(template.tab, template.tab)}


def _decorate(rule: Rule, templates: dict[str, Any] | None = None) -> Rule:
    """Labels, template and links for a rule row; pass `templates_by_slug()` when decorating many."""
    if templates is None:
        template = template_get(rule.template)
        templates = {template.slug: template} if template is not None else {}
    labels = _event_labels(rule.conditions)
    rule.event_labels = labels[:EVENT_LABELS_SHOWN]  # type: ignore[attr-defined]
    rule.event_labels_more = max(0, len(labels) - EVENT_LABELS_SHOWN)  # type: ignore[attr-defined]
    rule.event_labels_all = labels  # type: ignore[attr-defined]
    rule.template_info = _template_of(rule.template, templates)  # type: ignore[attr-defined]
    rule.alerts_url = alerts_of_rule_url(rule.pk)  # type: ignore[attr-defined]
    return rule


def _rule_event_types() -> list[str]:
    """The event types some rule selects: the choices of the dashboard's Event type filter."""
    types: set[str] = set()
    for selected in Rule.objects.order_by().values_list("selected_event_types", flat=True).distinct():
        types.update(selected.split())
    return sorted(types)


def _query(params: dict[str, str], **changes: str) -> str:
    merged = {key: value for key, value in {**params, **changes}.items() if value}
    return f"?{urlencode(merged)}" if merged else "?"


@readers_only
def rule_list(request: HttpRequest) -> HttpResponse:
    """The Rules dashboard: search, filters, sorting and 50 rules a page; actions for admins only.

    The filters are the API's RuleFilter (`search`, `priority`, `enabled`, `event_type`, `ordering`).
    """
    filterset = RuleFilter.for_console(request.GET, queryset=_rules_queryset(), request=request)
    filters = filterset.console_values()
    ordering = filters["ordering"] or DEFAULT_ORDERING
    page = Paginator(filterset.qs, RULES_PER_PAGE).get_page(request.GET.get("page"))
    templates = templates_by_slug()
    for rule in page.object_list:
        _decorate(rule, templates)

    def query(**changes: str) -> str:
        return f"?{filterset.console_query(**changes)}"

    columns = []
    for column, label, first in SORT_COLUMNS:
        if ordering.lstrip("-") == column:
            current = "descending" if ordering.startswith("-") else "ascending"
            next_ordering = column if ordering.startswith("-") else f"-{column}"
        else:
            current, next_ordering = None, first
        columns.append({"key": column, "label": label, "aria_sort": current, "url": query(ordering=next_ordering)})
    filtered = any(value for name, value in filters.items() if name != "ordering")
    event_type = filters["event_type"].strip()
    event_types = _rule_event_types()
    if event_type and event_type not in event_types:
        event_types = sorted([*event_types, event_type])
    context = {
        "nav": "alerts",
        "page": page,
        "rules": page.object_list,
        "filters": filters,
        "ordering": ordering,
        "event_types": event_types,
        "columns": {column["key"]: column for column in columns},
        "filtered": filtered,
        "total": Rule.objects.count() if filtered else page.paginator.count,
        "priorities": Priority.choices,
        "previous_url": query(page=str(page.previous_page_number())) if page.has_previous() else "",
        "next_url": query(page=str(page.next_page_number())) if page.has_next() else "",
        "here": request.get_full_path(),
    }
    if request.htmx and request.htmx.target == "rules-results":
        return render(request, "console/rules/_results.html", context)
    return render(request, "console/rules/list.html", context)


def _back(request: HttpRequest) -> str:
    return next_url(request, reverse("console-rules"))


@admins_only
@require_POST
def rule_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    """Enable or disable a rule in place (the dashboard swaps the row with htmx)."""
    rule = get_object_or_404(Rule, pk=pk)
    enabled = request.POST.get("enabled") in ("true", "on", "1")
    error = ""
    try:
        rule_set_enabled(rule=rule, enabled=enabled, actor=request.user)
    except RuleValidationError as exc:
        error = "Could not change the rule: " + " ".join(exc.errors.values())
    if request.htmx:
        rule = _decorate(_rules_queryset().get(pk=pk))
        return render(
            request, "console/rules/_rule_row.html", {"rule": rule, "row_error": error, "here": _back(request)}
        )
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"Rule {rule.name!r} {'enabled' if enabled else 'disabled'}.")
    return redirect(_back(request))


@admins_only
@require_POST
def rule_snooze_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Snooze a rule from its row or its page: 1 h, 4 h, 1 day or until a chosen time, with a note."""
    rule = get_object_or_404(Rule, pk=pk)
    try:
        rule = rule_snooze(rule=rule, body=snooze_body(request.POST), actor=request.user)
    except SnoozeInputError as exc:
        messages.error(request, f"Could not snooze {rule.name!r}: {exc.field.replace('_', ' ')}: {exc.message}")
    else:
        until = timezone.localtime(rule.snoozed_until, UTC).strftime("%Y-%m-%d %H:%M")
        messages.success(request, f"Rule {rule.name!r} snoozed until {until} UTC: it raises alerts but sends nothing.")
    return redirect(_back(request))


@admins_only
@require_POST
def rule_unsnooze_view(request: HttpRequest, pk: int) -> HttpResponse:
    rule = rule_unsnooze(rule=get_object_or_404(Rule, pk=pk), actor=request.user)
    messages.success(request, f"Rule {rule.name!r} is no longer snoozed.")
    return redirect(_back(request))


def _copy_name(name: str) -> str:
    base = f"Copy of {name}"[:MAX_NAME]
    candidate, number = base, 2
    while Rule.objects.filter(name__iexact=candidate).exists():
        suffix = f" ({number})"
        candidate = base[: MAX_NAME - len(suffix)] + suffix
        number += 1
    return candidate


@admins_only
@require_POST
def rule_duplicate(request: HttpRequest, pk: int) -> HttpResponse:
    """Copy a rule as "Copy of <name>", disabled, and open the copy for editing."""
    rule = get_object_or_404(Rule, pk=pk)
    data = {**rule_values(rule), "name": _copy_name(rule.name), "enabled": False}
    try:
        copy = rule_create(data=data, actor=request.user)
    except RuleValidationError as exc:
        messages.error(request, f"Could not duplicate {rule.name!r}: " + " ".join(exc.errors.values()))
        return redirect(_back(request))
    messages.success(request, f"Created {copy.name!r} (disabled). Review it, then turn on Enabled and save.")
    return redirect("console-rule-edit", pk=copy.pk)


@admins_only
def rule_delete_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    """Ask before deleting (GET); delete on POST. Alerts the rule raised stay, keeping its name."""
    rule = get_object_or_404(Rule, pk=pk)
    if request.method == "POST":
        name = rule.name
        rule_delete(rule=rule, actor=request.user)
        messages.success(request, f"Deleted rule {name!r}.")
        back = _back(request)
        return redirect(RULES_URL_NAME if back.startswith(reverse("console-rule-edit", args=[pk])) else back)
    return render(request, "console/rules/delete.html", {"nav": "alerts", "rule": rule, "back": _back(request)})


# -- Rule Management ----------------------------------------------------------------------------


@admins_only
def rule_templates(request: HttpRequest) -> HttpResponse:
    """Rule Management: the template catalog in tabs, filtered by name as the admin types."""
    tab = request.GET.get("tab") or TEMPLATE_TABS[0][0]
    tab = tab if tab in dict(TEMPLATE_TABS) else TEMPLATE_TABS[0][0]
    q = request.GET.get("q", "").strip()

    matching = templates_list(search=q)

    def found(slug_tab: str) -> list[Any]:
        return [t for t in matching if t.tab == slug_tab]

    tabs = [
        {"slug": slug, "label": label, "count": len(found(slug)), "url": _query({"tab": slug, "q": q})}
        for slug, label in TEMPLATE_TABS
    ]
    context = {"nav": "alerts", "tabs": tabs, "tab": tab, "q": q, "templates": found(tab)}
    if request.htmx and request.htmx.target == "template-results":
        return render(request, "console/rules/_template_results.html", context)
    return render(request, "console/rules/templates.html", context)


# -- Rule form ------------------------------------------------------------------------------------


def _editor_data() -> dict[str, Any]:
    """Everything the conditions editor needs: the event catalog with keys, and the operators."""
    key_sets: list[list[str]] = []
    key_set_index: dict[tuple[str, ...], int] = {}

    def key_set(keys: list[str] | tuple[str, ...]) -> int:
        frozen = tuple(keys)
        if frozen not in key_set_index:
            key_set_index[frozen] = len(key_sets)
            key_sets.append(list(frozen))
        return key_set_index[frozen]

    catalog: list[dict[str, Any]] = []
    for row in event_types_list():
        keys = row["keys"] or list(keys_for(row["name"]))
        catalog.append(
            {
                "id": row["name"],
                "event_type": row["name"],
                "action": None,
                "label": row["name"],
                "description": row["description"] or ("First seen in ingested events" if not row["known"] else ""),
                "keys": key_set(keys),
            }
        )
        if row["name"] == ASSOCIATION_EVENT_TYPE:
            # The vendor's pre-filtered association events, each by its own name.
            for action in ASSOCIATION_ACTIONS:
                catalog.append(
                    {
                        "id": f"{ASSOCIATION_EVENT_TYPE}:{action.slug}",
                        "event_type": ASSOCIATION_EVENT_TYPE,
                        "action": action.slug,
                        "label": action.description,
                        "description": ASSOCIATION_EVENT_TYPE,
                        "keys": key_set(keys),
                    }
                )

    def kind(operator_kinds: frozenset[str]) -> str:
        if operator_kinds == frozenset({NONE}):
            return "none"
        if LIST in operator_kinds:
            return "list"
        return "text"

    return {
        "catalog": catalog,
        "key_sets": key_sets,
        "common_keys": key_set(keys_for("")),
        "operators": [
            {
                "key": key,
                "label": operator.label,
                "input": kind(operator.value_kinds),
                "boolean": BOOLEAN in operator.value_kinds,
                "number": NUMBER in operator.value_kinds,
                "string": STRING in operator.value_kinds,
                "on_changes": operator.on_changes,
            }
            for key, operator in operators.items()
        ],
        **form_key_types(),  # key kinds (True/False, number, IP address) and the operators each is offered
        "enum_values": ENUM_VALUES,
        "max_filters": MAX_FILTERS,
        "convert_url": reverse("condition-convert"),
    }


def _from_event(event_id: str) -> tuple[list[dict[str, Any]], AuditEvent | None]:
    """One condition for the event's type (its association action too) and who initiated it."""
    event = event_get(event_id)
    if event is None:
        return [], None
    payload = event.payload if isinstance(event.payload, dict) else {}
    condition: dict[str, Any] = {"event_type": event.event_type}
    if event.event_type == ASSOCIATION_EVENT_TYPE:
        actions = association_actions_for(payload)
        if actions:
            condition["action"] = actions[0].slug
    condition["match"] = "all"
    filters = []
    initiated_by = payload.get("initiated_by")
    if isinstance(initiated_by, dict):
        for key in ("email", "username", "id"):
            value = initiated_by.get(key)
            if isinstance(value, str) and value:
                filters.append({"key": f"initiated_by.{key}", "operator": "eq", "value": value})
                break
    condition["filters"] = filters
    return [condition], event


def _render_form(
    request: HttpRequest,
    *,
    values: dict[str, Any],
    errors: dict[str, str],
    rule: Rule | None,
    template_slug: str,
    source_event: AuditEvent | None = None,
    status: int = 200,
) -> HttpResponse:
    conditions = values.get("conditions")
    fields = field_errors(errors)
    advanced = {
        "group_by",
        "group_window_minutes",
        "threshold",
        "threshold_count",
        "threshold_window_minutes",
        "remind_every_minutes",
        "remind_max",
        "escalation",
        "escalation_after_minutes",
        "escalation_channels",
        "detection",
        "detection_fields",
        "detection_history_days",
        "detection_steps",
        "detection_by",
        "detection_within_minutes",
    }
    context = {
        "nav": "alerts",
        "rule": rule,
        "template": template_get(template_slug),
        "template_slug": template_slug,
        "values": values,
        "errors": fields,
        "error_summary": [
            {"label": error_label(path, conditions), "message": message, "anchor": error_anchor(path)}
            for path, message in errors.items()
        ],
        "condition_error_list": [
            {"label": error_label(path, conditions), "message": message}
            for path, message in condition_errors(errors).items()
        ],
        "editor_data": {**_editor_data(), "errors": condition_errors(errors)},
        "channels": list(channels_by_name()),
        "selected_channels": set(values.get("channels") or []),
        "escalation_channels": set(values.get("escalation_channels") or []),
        "priorities": Priority.choices,
        "advanced_open": bool(advanced & set(fields)),
        "advanced_summary": _advanced_summary(values),
        "detection_steps": sequence_steps(_detection_of_values(values), conditions),
        "both_actions": values.get("generate_alerts") and values.get("send_notifications"),
        "source_event": source_event,
        "preview_days": PREVIEW_DAYS,
        "lookback_hours": settings.ALERTSITE_EXISTING_LOOKBACK_HOURS,
        "action_url": request.get_full_path(),
        "alerts_url": alerts_of_rule_url(rule.pk) if rule is not None else "",
    }
    return render(request, "console/rules/form.html", context, status=status)


def _advanced_summary(values: dict[str, Any]) -> str:
    """Say what the collapsed Advanced section holds, so a template's grouping is not hidden."""
    parts = []
    if values.get("group_by", "").strip():
        window = values.get("group_window_minutes") or "0"
        within = f" within {window} minutes" if window.strip() not in ("", "0") else ""
        parts.append(f"grouped by {values['group_by'].strip()}{within}")
    if values.get("threshold_count", "").strip():
        parts.append(
            f"fires at {values['threshold_count']} events in {values.get('threshold_window_minutes') or '?'} minutes"
        )
    if values.get("remind_every_minutes", "").strip():
        parts.append(f"reminds every {values['remind_every_minutes']} minutes")
    if values.get("escalation_after_minutes", "").strip():
        parts.append(f"escalates after {values['escalation_after_minutes']} minutes")
    detection = _detection_of_values(values)
    if detection is not None:
        parts.append(detection_words(detection, values.get("conditions")))
    return "; ".join(parts) if parts else "grouping, threshold, reminders, escalation and detection: off"


def _detection_of_values(values: dict[str, Any]) -> dict[str, Any] | None:
    """The detection the form's values describe, for words only (never validated here)."""
    kind = values.get("detection_type") or ""
    if not kind:
        return None

    def keys(name: str) -> list[str]:
        return [key.strip() for key in str(values.get(name) or "").split(",") if key.strip()]

    steps = [int(part) for part in keys("detection_steps") if part.isdigit()] or None
    return {
        "type": kind,
        "fields": keys("detection_fields"),
        "history_days": values.get("detection_history_days"),
        "steps": steps,
        "by": keys("detection_by"),
        "within_minutes": values.get("detection_within_minutes"),
    }


def _errors_of(form: RuleForm, exc: RuleValidationError | None = None) -> dict[str, str]:
    errors = dict(exc.errors) if exc is not None else {}
    errors.update(form.errors)  # "not valid JSON" says more than "must be a list"
    return errors


@admins_only
def rule_new(request: HttpRequest) -> HttpResponse:
    """A new rule from a template (`?template=`), or from a stored event (`?from_event=`)."""
    template_slug = request.POST.get("template") or request.GET.get("template") or DEFAULT_TEMPLATE
    if template_get(template_slug) is None:
        messages.error(request, f"There is no rule template {template_slug!r}. Pick one of these.")
        return redirect("console-rule-templates")
    if request.method == "POST":
        form = form_parse(request.POST, template=template_slug)
        try:
            comment = comment_clean(form.comment)
            if form.errors:
                rule_validate(form.data)
                raise RuleValidationError({})
            rule = rule_create(data=form.data, actor=request.user, comment=comment)
        except RuleValidationError as exc:
            return _render_form(
                request,
                values=form.values,
                errors=_errors_of(form, exc),
                rule=None,
                template_slug=template_slug,
                status=400,
            )
        messages.success(request, f"Rule {rule.name!r} saved.")
        return redirect("console-rules")

    values = form_values(template_rule(template_slug))
    source_event = None
    from_event = request.GET.get("from_event", "").strip()
    if from_event:
        conditions, source_event = _from_event(from_event)
        if source_event is None:
            messages.warning(request, f"No stored event has the id {from_event!r}; start from a blank rule.")
        else:
            values = form_values({**template_rule(template_slug), "conditions": conditions})
    return _render_form(
        request, values=values, errors={}, rule=None, template_slug=template_slug, source_event=source_event
    )


def _render_read_only(request: HttpRequest, pk: int) -> HttpResponse:
    """The rule as readers see it: what it selects and does, in words, with nothing to change."""
    rule = get_object_or_404(_rules_queryset().select_related("created_by", "updated_by"), pk=pk)
    context = {
        "nav": "alerts",
        "rule": _decorate(rule),
        "conditions": [condition_words(condition) for condition in rule.conditions or []],
        "channels": list(rule.channels.all()),
        "advanced_summary": _advanced_summary(form_values(rule_values(rule))),
        "detection_words": detection_words(getattr(rule, "detection", None), rule.conditions),
        "lookback_hours": settings.ALERTSITE_EXISTING_LOOKBACK_HOURS,
    }
    return render(request, "console/rules/detail.html", context)


@readers_only
def rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """The rule form for admins; every other reader gets the same rule read-only (api.md 2: they read everything)."""
    if user_role(request.user) not in ADMINS:
        if request.method not in ("GET", "HEAD"):
            raise PermissionDenied("Only admins change rules.")
        return _render_read_only(request, pk)
    rule = get_object_or_404(Rule.objects.select_related("snoozed_by"), pk=pk)
    if request.method == "POST":
        form = form_parse(request.POST)
        try:
            comment = comment_clean(form.comment)
            if form.errors:
                rule_validate(form.data, instance=rule)
                raise RuleValidationError({})
            rule = rule_update(rule=rule, data=form.data, actor=request.user, comment=comment)
        except RuleValidationError as exc:
            return _render_form(
                request,
                values={**form.values, "template": rule.template},
                errors=_errors_of(form, exc),
                rule=rule,
                template_slug=rule.template,
                status=400,
            )
        messages.success(request, f"Rule {rule.name!r} saved.")
        return redirect("console-rules")
    return _render_form(
        request, values=form_values(rule_values(rule)), errors={}, rule=rule, template_slug=rule.template
    )


@admins_only
@require_POST
def rule_preview_fragment(request: HttpRequest) -> HttpResponse:
    """What the rule being edited would have matched in the last 7 days (rendered into the form)."""
    form = form_parse(request.POST)
    data = {key: form.data[key] for key in ("conditions", "group_by", "group_window_minutes", "threshold", "detection")}
    context: dict[str, Any] = {"days": PREVIEW_DAYS}
    if form.errors:
        context["problems"] = [{"label": "Conditions", "message": message} for message in form.errors.values()]
    elif not data["conditions"]:
        context["empty"] = True
    else:
        try:
            values = rule_validate(data, check_name=False)
        except RuleValidationError as exc:
            conditions = data["conditions"]
            context["problems"] = [
                {"label": error_label(path, conditions), "message": message} for path, message in exc.errors.items()
            ]
        else:
            since = timezone.now() - timedelta(days=PREVIEW_DAYS)
            context["result"] = rule_preview(values=values, since=since, sample_size=PREVIEW_SAMPLE)
            context["detection"] = values.get("detection")
    return render(request, "console/rules/_preview.html", context)


@admins_only
@require_POST
def rule_preview_change_fragment(request: HttpRequest, pk: int) -> HttpResponse:
    """ "What would change?": the events and alerts of the last 7 days that saving the form would
    add or remove, against the rule as saved (rendered into the form)."""
    rule = get_object_or_404(Rule, pk=pk)
    form = form_parse(request.POST)
    context: dict[str, Any] = {"days": PREVIEW_DAYS}
    if form.errors:
        context["problems"] = [{"label": "Conditions", "message": message} for message in form.errors.values()]
        return render(request, "console/rules/_preview_change.html", context)
    try:
        after = rule_validate(form.data, instance=rule, check_name=False)
    except RuleValidationError as exc:
        conditions = form.data["conditions"]
        context["problems"] = [
            {"label": error_label(path, conditions), "message": message} for path, message in exc.errors.items()
        ]
        return render(request, "console/rules/_preview_change.html", context)
    before = rule_values(rule)
    since = timezone.now() - timedelta(days=PREVIEW_DAYS)
    context["changed"] = [
        FIELD_LABELS.get(change["field"], change["field"]) for change in version_changes(before, after)
    ]
    context["result"] = rule_change_preview(before=before, after=after, since=since, sample_size=PREVIEW_SAMPLE)
    return render(request, "console/rules/_preview_change.html", context)


# -- Rule history ---------------------------------------------------------------------------------


@readers_only
def rule_history(request: HttpRequest, pk: int) -> HttpResponse:
    """The rule's versions, newest first, each with what it changed in words; admins restore."""
    rule = get_object_or_404(Rule, pk=pk)
    versions = RuleVersion.objects.filter(rule=rule).select_related("author").order_by("-version")
    page = Paginator(versions, VERSIONS_PER_PAGE).get_page(request.GET.get("page"))
    shown = list(page.object_list)
    # The version just older than the page, so its oldest row can still say what it changed.
    older = versions.filter(version=shown[-1].version - 1).first() if shown else None
    rows = history_words([*shown, older] if older is not None else shown, templates_by_slug())[: len(shown)]
    newest = versions.values_list("version", flat=True).first()
    for row in rows:
        row["current"] = row["version"].version == newest
    context = {
        "nav": "alerts",
        "rule": rule,
        "rows": rows,
        "page": page,
        "can_restore": user_role(request.user) in ADMINS,
    }
    return render(request, "console/rules/history.html", context)


@admins_only
@require_POST
def rule_restore_version(request: HttpRequest, pk: int, version: int) -> HttpResponse:
    """Restore one version (a new version equal to it); a refusal says why on the history page."""
    rule = get_object_or_404(Rule, pk=pk)
    old = get_object_or_404(RuleVersion, rule=rule, version=version)
    try:
        rule_restore(rule=rule, version=old, actor=request.user)
    except RuleValidationError as exc:
        messages.error(request, f"Could not restore version {version}: " + " ".join(exc.errors.values()))
    else:
        messages.success(request, f"Restored version {version} of {rule.name!r} as a new version.")
    return redirect("console-rule-history", pk=pk)

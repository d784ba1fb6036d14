"""Console pages for alerts: the dashboard (with live refresh and bulk moves) and the alert detail."""

from __future__ import annotations

from urllib.parse import urlencode

import orjson
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from alerts.models import Alert, AlertCategory, AlertSourceType, AlertTransition
from alerts.selectors import alerts_assigned, alerts_matching
from alerts.services import (
    AlertInputError,
    InvalidTransition,
    alert_assign,
    alert_note_add,
    alert_transition,
    alerts_bulk_transition,
)
from alerts.states import ACTIONS, AlertStatus, action_allowed
from alertsite.accounts.selectors import responders
from alertsite.console import next_url, readers_only, responders_only
from alertsite.ids import id_or_none
from alertsite.priority import PRIORITY_RANK
from alertsite.timeranges import TIME_RANGE_CHOICES, TIME_RANGES

PAGE_SIZE = 50
RULE_CHOICES_MAX = 200
SORTS = {
    "created": ("created_at", "id"),
    "priority": ("priority_rank", "created_at", "id"),
    "status": ("status", "created_at", "id"),
    "events": ("event_count", "created_at", "id"),
}
BULK_ACTIONS = ("acknowledge", "resolve")  # the bulk form's buttons
HIGHLIGHT_KEYS = ('"event_type"', '"initiated_by"', '"email"', '"username"', '"client_ip"', '"success"', '"timestamp"')


def dashboard_filters(request: HttpRequest) -> dict:
    """The dashboard's filters from the query string, with the vendor's default: open + acknowledged."""
    params = request.GET
    assignee = params.get("assignee", "").strip().lower()
    statuses = [s for s in params.getlist("status") for s in s.split(",") if s in AlertStatus.values]
    if "status" not in params:
        statuses = [AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED]
    return {
        "status": statuses,
        "priority": [p for p in params.getlist("priority") if p in ("high", "medium", "low")],
        "category": [c for c in params.getlist("category") if c in AlertCategory.values],
        "source_type": params.get("source_type", "") if params.get("source_type", "") in AlertSourceType.values else "",
        "rule": params.get("rule", ""),
        "rule_q": params.get("rule_q", "").strip(),
        "assignee": assignee if assignee in ("me", "none") or id_or_none(assignee) is not None else "",
        "range": params.get("range", "") if params.get("range", "") in TIME_RANGES else "",
        "q": params.get("q", "").strip(),
        "sort": params.get("sort", "created") if params.get("sort", "created") in SORTS else "created",
        "dir": "asc" if params.get("dir") == "asc" else "desc",
    }


def filtered_alerts(filters: dict, user) -> QuerySet[Alert]:
    queryset = Alert.objects.select_related("assignee")
    if filters["status"]:
        queryset = queryset.filter(status__in=filters["status"])
    if filters["priority"]:
        queryset = queryset.filter(priority__in=filters["priority"])
    if filters["category"]:
        queryset = queryset.filter(category__in=filters["category"])
    if filters["source_type"]:
        queryset = queryset.filter(source_type=filters["source_type"])
    rule_pk = id_or_none(filters["rule"])
    if rule_pk is not None:
        queryset = queryset.filter(rule_id=rule_pk)
    if filters["rule_q"]:
        queryset = queryset.filter(rule_name__icontains=filters["rule_q"])
    if filters["assignee"]:
        queryset = alerts_assigned(queryset, filters["assignee"], user=user)
    if filters["range"]:
        queryset = queryset.filter(created_at__gte=timezone.now() - TIME_RANGES[filters["range"]])
    queryset = alerts_matching(queryset, filters["q"])
    if filters["sort"] == "priority":
        queryset = queryset.annotate(priority_rank=PRIORITY_RANK)
    prefix = "-" if filters["dir"] == "desc" else ""
    return queryset.order_by(*(prefix + field for field in SORTS[filters["sort"]]))


def _query(filters: dict, **overrides) -> str:
    data = {**filters, **overrides}
    pairs = [("status", s) for s in data["status"]] or [("status", "")]
    pairs += [("priority", p) for p in data["priority"]]
    pairs += [("category", c) for c in data["category"]]
    keys = ("source_type", "rule", "rule_q", "assignee", "range", "q", "sort", "dir")
    pairs += [(key, data[key]) for key in keys if data.get(key)]
    if data.get("page", 1) != 1:
        pairs.append(("page", data["page"]))
    return urlencode(pairs)


@readers_only
def alert_list(request: HttpRequest) -> HttpResponse:
    filters = dashboard_filters(request)
    try:
        page = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        page = 1
    queryset = filtered_alerts(filters, request.user)
    # No COUNT over a table of millions: fetch one row more to know whether there is a next page.
    rows = list(queryset[(page - 1) * PAGE_SIZE : page * PAGE_SIZE + 1])
    has_next = len(rows) > PAGE_SIZE
    alerts = rows[:PAGE_SIZE]
    from rules.models import Rule

    rule_choices = list(Rule.objects.order_by("name").values_list("pk", "name")[: RULE_CHOICES_MAX + 1])
    context = {
        "nav": "alerts",
        "alerts": alerts,
        "filters": filters,
        "page": page,
        "has_next": has_next,
        "next_query": _query(filters, page=page + 1),
        "prev_query": _query(filters, page=page - 1),
        "base_query": _query(filters),
        "sort_links": {
            key: _query(filters, sort=key, dir="asc" if filters["sort"] == key and filters["dir"] == "desc" else "desc")
            for key in SORTS
        },
        # A dropdown for a handful of rules; past RULE_CHOICES_MAX, a "rule name contains" box
        # (10,000 <option>s cost ~400 ms to render and 700 KiB to send).
        "rules": rule_choices if len(rule_choices) <= RULE_CHOICES_MAX else None,
        "assignees": responders(),
        "statuses": AlertStatus.choices,
        "categories": AlertCategory.choices,
        "source_types": AlertSourceType.choices,
        "ranges": [("", "Any time"), *TIME_RANGE_CHOICES],
        "live": page == 1 and filters["sort"] == "created" and filters["dir"] == "desc",
        "after": max((alert.pk for alert in alerts), default=0),
    }
    return render(request, "console/alerts/list.html", context)


@readers_only
def alert_rows_new(request: HttpRequest) -> HttpResponse:
    """Polled by htmx: rows newer than `after` that match the filters, prepended to the table."""
    filters = dashboard_filters(request)
    try:
        after = int(request.GET.get("after", "0"))
    except ValueError:
        after = 0
    new = list(filtered_alerts(filters, request.user).filter(pk__gt=after)[:PAGE_SIZE])
    context = {
        "alerts": new,
        "after": max([after, *(alert.pk for alert in new)]),
        "base_query": _query(filters),
        "live": True,
    }
    return render(request, "console/alerts/partials/new_rows.html", context)


@require_POST
@responders_only
def alert_bulk(request: HttpRequest) -> HttpResponse:
    action = request.POST.get("action", "")
    back = next_url(request, "/insights/alerts/")
    ids = [pk for pk in map(id_or_none, request.POST.getlist("ids")) if pk is not None]
    if action not in BULK_ACTIONS or not ids:
        messages.warning(request, "Select at least one alert, then Acknowledge or Resolve.")
        return redirect(back)
    try:
        result = alerts_bulk_transition(
            ids=ids, to=ACTIONS[action], actor=request.user, note=request.POST.get("note", "")
        )
    except AlertInputError as exc:
        messages.error(request, exc.message)
        return redirect(back)
    verb = "Acknowledged" if action == "acknowledge" else "Resolved"
    text = f"{verb} {len(result.updated)} alert{'s' if len(result.updated) != 1 else ''}"
    if result.skipped:
        text += f", {len(result.skipped)} skipped ({'; '.join(s['reason'] for s in result.skipped[:3])})"
    (messages.warning if result.skipped else messages.success)(request, text + ".")
    return redirect(back)


def pretty_event(payload: dict | None) -> str:
    """The event as indented JSON, escaped, with its key fields highlighted."""
    if payload is None:
        return ""
    lines = orjson.dumps(payload, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode().splitlines()
    out = []
    for line in lines:
        safe = escape(line)
        if line.lstrip().startswith(HIGHLIGHT_KEYS):
            safe = f'<span class="hl">{safe}</span>'
        out.append(safe)
    return mark_safe("\n".join(out))  # every line was escaped above


@readers_only
def alert_detail(request: HttpRequest, pk: int) -> HttpResponse:
    alert = get_object_or_404(
        Alert.objects.select_related("event", "assignee", "acknowledged_by", "resolved_by", "rule"), pk=pk
    )
    transitions = AlertTransition.objects.filter(alert=alert).select_related("actor")
    grouped = alert.alert_events.select_related("event").defer("event__payload").order_by("-event_timestamp")[:100]
    deliveries = alert.deliveries.select_related("channel").order_by("-created_at")[:50]
    context = {
        "nav": "alerts",
        "alert": alert,
        "event_json": pretty_event(alert.event.payload if alert.event else None),
        "transitions": transitions,
        "notes": alert.notes.select_related("author"),
        "grouped": grouped,
        "deliveries": deliveries,
        "assignees": responders(),
        "can_acknowledge": action_allowed(alert.status, "acknowledge"),
        "can_resolve": action_allowed(alert.status, "resolve"),
        "can_reopen": action_allowed(alert.status, "reopen"),
    }
    return render(request, "console/alerts/detail.html", context)


@require_POST
@responders_only
def alert_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    alert = get_object_or_404(Alert, pk=pk)
    try:
        if action in ACTIONS:
            alert_transition(alert=alert, to=ACTIONS[action], actor=request.user, note=request.POST.get("note", ""))
            messages.success(
                request, f"{alert.reference}: {action}d." if action != "reopen" else f"{alert.reference} reopened."
            )
        elif action == "note":
            alert_note_add(alert=alert, author=request.user, text=request.POST.get("text", ""))
            messages.success(request, "Note added.")
        elif action == "assign":
            value = request.POST.get("user", "")
            user_pk = id_or_none(value)
            assignee = get_user_model().objects.filter(pk=user_pk).first() if user_pk is not None else None
            alert_assign(alert=alert, assignee=assignee, actor=request.user)
            messages.success(request, f"Assigned to {assignee.username}." if assignee else "Unassigned.")
        else:
            return HttpResponse(status=404)
    except InvalidTransition as exc:
        messages.error(request, str(exc))
    except AlertInputError as exc:
        messages.error(request, exc.message)
    return redirect("console-alert-detail", pk=alert.pk)

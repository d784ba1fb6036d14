"""Console pages for alerts: the dashboard (with live refresh and bulk moves) and the alert detail."""

from __future__ import annotations

from datetime import UTC

import orjson
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from alerts.filters import DEFAULT_ORDERING, AlertFilter
from alerts.models import Alert, AlertCategory, AlertSourceType, AlertTransition
from alerts.services import (
    AlertInputError,
    InvalidTransition,
    alert_assign,
    alert_note_add,
    alert_snooze,
    alert_transition,
    alert_unsnooze,
    alerts_bulk_snooze,
    alerts_bulk_transition,
    alerts_bulk_unsnooze,
)
from alerts.source_names import alerts_source_names
from alerts.states import ACTIONS, AlertStatus, action_allowed
from alerts.subjects import alert_source_name_for
from alertsite.accounts.selectors import responders
from alertsite.console import next_url, readers_only, responders_only, snooze_body
from alertsite.ids import id_or_none
from alertsite.snooze import SnoozeInputError
from alertsite.timeranges import TIME_RANGE_CHOICES
from channels.selectors import deliveries_of_alert
from rules.selectors import group_values, rule_choices

PAGE_SIZE = 50
RULE_CHOICES_MAX = 200
DELIVERIES_SHOWN = 50
# The columns the dashboard sorts by, each by its `ordering` name.
SORT_COLUMNS = ("priority", "status", "event_count", "created_at")
BULK_ACTIONS = ("acknowledge", "resolve", "snooze", "unsnooze")  # the bulk form's buttons
BULK_VERBS = {"acknowledge": "Acknowledged", "resolve": "Resolved", "snooze": "Snoozed", "unsnooze": "Unsnoozed"}
HIGHLIGHT_KEYS = ('"event_type"', '"initiated_by"', '"email"', '"username"', '"client_ip"', '"success"', '"timestamp"')


def dashboard_filterset(request: HttpRequest) -> AlertFilter:
    """The dashboard's filters: the API's AlertFilter, read as a console page reads it (open +
    acknowledged unless the query says otherwise, old bookmark names accepted, bad values ignored)."""
    return AlertFilter.for_console(
        request.GET, queryset=Alert.objects.select_related("assignee", "snoozed_by"), request=request
    )


@readers_only
def alert_list(request: HttpRequest) -> HttpResponse:
    filterset = dashboard_filterset(request)
    try:
        page = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        page = 1
    # No COUNT over a table of millions: fetch one row more to know whether there is a next page.
    rows = list(filterset.qs[(page - 1) * PAGE_SIZE : page * PAGE_SIZE + 1])
    has_next = len(rows) > PAGE_SIZE
    alerts = rows[:PAGE_SIZE]
    alerts_source_names(alerts)
    rule_options = rule_choices(limit=RULE_CHOICES_MAX + 1)
    filters = filterset.console_values()
    ordering = filters["ordering"] or DEFAULT_ORDERING
    context = {
        "nav": "alerts",
        "alerts": alerts,
        "filters": filters,
        "ordering": ordering,
        "sort_label": f"by {ordering.lstrip('-').replace('_', ' ')}, {'descending' if ordering.startswith('-') else 'ascending'}",
        "page": page,
        "has_next": has_next,
        "next_query": filterset.console_query(page=page + 1),
        "prev_query": filterset.console_query(page=page - 1 if page > 2 else ""),
        "base_query": filterset.console_query(),
        # A column's link sorts by it, descending first; a second click turns it around.
        "sort_links": {
            column: filterset.console_query(ordering=column if ordering == f"-{column}" else f"-{column}")
            for column in SORT_COLUMNS
        },
        # A dropdown for a handful of rules; past RULE_CHOICES_MAX, a "rule name contains" box
        # (10,000 <option>s cost ~400 ms to render and 700 KiB to send).
        "rules": rule_options if len(rule_options) <= RULE_CHOICES_MAX else None,
        "assignees": responders(),
        "statuses": AlertStatus.choices,
        "categories": AlertCategory.choices,
        "source_types": AlertSourceType.choices,
        "ranges": [("", "Any time"), *TIME_RANGE_CHOICES],
        "live": page == 1 and ordering == DEFAULT_ORDERING,
        "after": max((alert.pk for alert in alerts), default=0),
    }
    return render(request, "console/alerts/list.html", context)


@readers_only
def alert_rows_new(request: HttpRequest) -> HttpResponse:
    """Polled by htmx: rows newer than `after` that match the filters, prepended to the table."""
    filterset = dashboard_filterset(request)
    try:
        after = int(request.GET.get("after", "0"))
    except ValueError:
        after = 0
    new = list(filterset.qs.filter(pk__gt=after)[:PAGE_SIZE])
    alerts_source_names(new)
    context = {
        "alerts": new,
        "after": max([after, *(alert.pk for alert in new)]),
        "base_query": filterset.console_query(),
        "live": True,
    }
    return render(request, "console/alerts/partials/new_rows.html", context)


@require_POST
@responders_only
def alert_bulk(request: HttpRequest) -> HttpResponse:
    action = "snooze" if request.POST.get("snooze") else request.POST.get("action", "")
    back = next_url(request, "/insights/alerts/")
    ids = [pk for pk in map(id_or_none, request.POST.getlist("ids")) if pk is not None]
    if action not in BULK_ACTIONS or not ids:
        messages.warning(request, "Select at least one alert, then Acknowledge, Resolve or Snooze.")
        return redirect(back)
    try:
        if action == "snooze":
            result = alerts_bulk_snooze(ids=ids, body=snooze_body(request.POST), actor=request.user)
        elif action == "unsnooze":
            result = alerts_bulk_unsnooze(ids=ids, actor=request.user)
        else:
            result = alerts_bulk_transition(
                ids=ids, to=ACTIONS[action], actor=request.user, note=request.POST.get("note", "")
            )
    except AlertInputError as exc:
        messages.error(request, exc.message)
        return redirect(back)
    except SnoozeInputError as exc:
        messages.error(request, f"Could not snooze: {exc.field}: {exc.message}")
        return redirect(back)
    text = f"{BULK_VERBS[action]} {len(result.updated)} alert{'s' if len(result.updated) != 1 else ''}"
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
        Alert.objects.select_related(
            "event", "assignee", "acknowledged_by", "resolved_by", "rule", "snoozed_by", "suppressed_by"
        ),
        pk=pk,
    )
    transitions = AlertTransition.objects.filter(alert=alert).select_related("actor")
    grouped = (
        alert.alert_events.select_related("event")
        .defer("event__payload")
        .order_by(F("step").asc(nulls_last=True), "-event_timestamp")[:100]
    )
    deliveries = deliveries_of_alert(alert.pk, limit=DELIVERIES_SHOWN)
    payload = alert.event.payload if alert.event else None
    context = {
        "nav": "alerts",
        "alert": alert,
        "event_json": pretty_event(payload),
        "source_name": alert_source_name_for(payload, alert.source_type, alert.source_id),
        # The values the alert groups on, not the SHA-1 of them (None: shown as the key itself).
        "group_values": group_values(alert.rule.group_by if alert.rule else (), payload, alert.group_key),
        "transitions": transitions,
        "notes": alert.notes.select_related("author"),
        "grouped": grouped,
        "deliveries": deliveries,
        "assignees": responders(),
        "can_acknowledge": action_allowed(alert.status, "acknowledge"),
        "can_resolve": action_allowed(alert.status, "resolve"),
        "can_reopen": action_allowed(alert.status, "reopen"),
        "can_snooze": alert.status != AlertStatus.RESOLVED,
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
        elif action == "snooze":
            alert = alert_snooze(alert=alert, body=snooze_body(request.POST), actor=request.user)
            until = timezone.localtime(alert.snoozed_until, UTC).strftime("%Y-%m-%d %H:%M")
            messages.success(request, f"{alert.reference} snoozed until {until} UTC.")
        elif action == "unsnooze":
            alert_unsnooze(alert=alert, actor=request.user)
            messages.success(request, f"{alert.reference} is no longer snoozed.")
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
    except SnoozeInputError as exc:
        messages.error(request, f"Could not snooze {alert.reference}: {exc.field}: {exc.message}")
    return redirect(next_url(request, reverse("console-alert-detail", args=[alert.pk])))

"""Console pages of Settings > Maintenance Windows: list, add/edit with a preview, delete.

Every role reads the list; only admins add, change, delete (the server enforces it). The form's
times are read in the window's own time zone (what "Saturday 22:00" means to whoever plans
the patching); the API takes RFC 3339 instants.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from alerts.maintenance import MaintenanceInputError, zone_names, zone_parse
from alerts.models import MaintenanceWindow
from alerts.selectors import PREVIEW_DAYS, window_preview, windows_listed
from alerts.services.maintenance import (
    window_body,
    window_create,
    window_delete,
    window_spec_from_body,
    window_update,
)
from alertsite.console import admins_only, readers_only
from alertsite.errors import FieldErrors
from alertsite.priority import Priority
from events.models import EventType
from rules.selectors import rule_choices, rule_ids_existing, rule_names

LIST_URL = "/settings/maintenance-windows/"
NAV = "maintenance"
FIELD_LABELS = {
    "name": "Name",
    "reason": "Reason",
    "starts_at": "Starts",
    "ends_at": "Ends",
    "timezone": "Time zone",
    "recurrence": "Repeats",
    "scope.rules": "Rules",
    "scope.priorities": "Priorities",
    "scope.event_types": "Event types",
    "mute": "Mute",
}
RECURRENCE_PRESETS = [
    ("", "Once"),
    ("RRULE:FREQ=DAILY", "Every day"),
    ("RRULE:FREQ=WEEKLY;BYDAY=SA,SU", "Every Saturday and Sunday"),
    ("RRULE:FREQ=WEEKLY;BYDAY=SA", "Every Saturday"),
    ("RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", "Every weekday"),
    ("RRULE:FREQ=MONTHLY;BYDAY=1SU", "First Sunday of the month"),
]


def _scope_words(window: MaintenanceWindow, names: dict[int, str]) -> list[str]:
    words = []
    if window.scope_rules:
        words.append("Rules: " + ", ".join(names.get(pk, f"#{pk} (deleted)") for pk in window.scope_rules))
    if window.scope_priorities:
        words.append("Priorities: " + ", ".join(window.scope_priorities))
    if window.scope_event_types:
        words.append("Event types: " + ", ".join(window.scope_event_types))
    return words or ["Everything"]


@readers_only
def window_list(request: HttpRequest) -> HttpResponse:
    rows = windows_listed()
    names = rule_names({pk for window, _ in rows for pk in window.scope_rules})
    shown = [
        {
            "window": window,
            "status": status,
            "scope": _scope_words(window, names),
            "repeats": _repeats_words(window.recurrence),
            "starts_local": window.starts_at.astimezone(ZoneInfo(window.timezone)),
            "ends_local": window.ends_at.astimezone(ZoneInfo(window.timezone)),
        }
        for window, status in rows
    ]
    current = [row for row in shown if row["status"]["active_now"] or row["status"]["next_start"] is not None]
    ended = [row for row in shown if row not in current]
    return render(
        request, "console/maintenance/list.html", {"nav": NAV, "current": current, "ended": ended, "any": bool(rows)}
    )


def _repeats_words(recurrence: str) -> str:
    for value, label in RECURRENCE_PRESETS:
        if value == recurrence:
            return label
    return recurrence


def _local_to_iso(raw: str, zone_name: str) -> str:
    """`datetime-local` (2026-03-28T22:00) read in the window's zone; other text goes through to be named."""
    raw = raw.strip()
    try:
        zone = zone_parse(zone_name)
    except MaintenanceInputError:
        zone = ZoneInfo("UTC")  # the time zone field says what is wrong
    try:
        naive = datetime.fromisoformat(raw)
    except ValueError:
        return raw
    if naive.tzinfo is not None:
        return raw
    return naive.replace(tzinfo=zone).isoformat()


def form_body(request: HttpRequest) -> dict[str, Any]:
    """The API's window body from the console form."""
    post = request.POST
    zone = post.get("timezone", "").strip() or "UTC"
    recurrence = post.get("recurrence_custom", "").strip() or post.get("recurrence", "").strip()
    rules = []
    for raw in post.getlist("scope_rules"):
        try:
            rules.append(int(raw))
        except ValueError:
            continue
    return {
        "name": post.get("name", ""),
        "reason": post.get("reason", ""),
        "starts_at": _local_to_iso(post.get("starts_local", ""), zone),
        "ends_at": _local_to_iso(post.get("ends_local", ""), zone),
        "timezone": zone,
        "recurrence": recurrence or None,
        "scope": {
            "rules": rules,
            "priorities": post.getlist("scope_priorities"),
            "event_types": post.getlist("scope_event_types"),
        },
        "mute": post.get("mute", "notifications"),
    }


def _local_input(value: Any, zone_name: str) -> str:
    if isinstance(value, datetime):
        try:
            value = value.astimezone(zone_parse(zone_name))
        except MaintenanceInputError:
            pass
        return value.strftime("%Y-%m-%dT%H:%M")
    return str(value or "")[:16]


def form_context(body: dict[str, Any], errors: dict[str, str], window: MaintenanceWindow | None) -> dict[str, Any]:
    zone = body.get("timezone") or "UTC"
    scope = body.get("scope") or {}
    recurrence = body.get("recurrence") or ""
    presets = [value for value, _ in RECURRENCE_PRESETS]
    return {
        "nav": NAV,
        "window": window,
        "values": body,
        "starts_local": _local_input(body.get("starts_at"), zone),
        "ends_local": _local_input(body.get("ends_at"), zone),
        "recurrence_presets": [(value, label, value == recurrence) for value, label in RECURRENCE_PRESETS],
        "recurrence_custom": "" if recurrence in presets else recurrence,
        "rules": [(pk, name, pk in (scope.get("rules") or [])) for pk, name in rule_choices(limit=2000)],
        "priorities": [(value, label, value in (scope.get("priorities") or [])) for value, label in Priority.choices],
        "event_types": [
            (name, name in (scope.get("event_types") or []))
            for name in EventType.objects.order_by("name").values_list("name", flat=True)
        ],
        "zones": sorted(_common_zones()),
        "errors": {key.replace(".", "_"): message for key, message in errors.items()},
        "error_list": [(FIELD_LABELS.get(key, key), message) for key, message in errors.items()],
        "preview_days": PREVIEW_DAYS,
    }


def _common_zones() -> set[str]:
    return {name for name in zone_names() if "/" in name and not name.startswith(("Etc/", "SystemV/"))} | {"UTC"}


@admins_only
def window_new(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        body = form_body(request)
        try:
            window = window_create(data=body, actor=request.user, rules_known=rule_ids_existing)
        except FieldErrors as exc:
            return render(request, "console/maintenance/form.html", form_context(body, exc.errors, None), status=400)
        messages.success(request, f"Maintenance window {window.name!r} added.")
        return redirect(LIST_URL)
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    initial = {
        "starts_at": now + timezone.timedelta(hours=1),
        "ends_at": now + timezone.timedelta(hours=3),
        "timezone": "UTC",
        "mute": "notifications",
    }
    return render(request, "console/maintenance/form.html", form_context(initial, {}, None))


@admins_only
def window_edit(request: HttpRequest, pk: int) -> HttpResponse:
    window = get_object_or_404(MaintenanceWindow, pk=pk)
    if request.method == "POST":
        body = form_body(request)
        try:
            window_update(window=window, data=body, actor=request.user, rules_known=rule_ids_existing)
        except FieldErrors as exc:
            return render(request, "console/maintenance/form.html", form_context(body, exc.errors, window), status=400)
        messages.success(request, f"Maintenance window {body['name'].strip()!r} saved.")
        return redirect(LIST_URL)
    return render(request, "console/maintenance/form.html", form_context(window_body(window), {}, window))


@require_POST
@admins_only
def window_remove(request: HttpRequest, pk: int) -> HttpResponse:
    window = get_object_or_404(MaintenanceWindow, pk=pk)
    window_delete(window=window, actor=request.user)
    messages.success(request, f"Maintenance window {window.name!r} deleted.")
    return redirect(LIST_URL)


@require_POST
@admins_only
def window_preview_fragment(request: HttpRequest) -> HttpResponse:
    """What the form's window would have muted over the last 7 days (the Preview button)."""
    context: dict[str, Any] = {"days": PREVIEW_DAYS}
    try:
        spec = window_spec_from_body(form_body(request), rules_known=rule_ids_existing)
    except FieldErrors as exc:
        context["problems"] = [(FIELD_LABELS.get(key, key), message) for key, message in exc.errors.items()]
    else:
        context["result"] = window_preview(spec)
    return render(request, "console/maintenance/_preview.html", context)

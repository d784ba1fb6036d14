"""Console pages of Settings > Data Sources: list with state and lag, add/edit, Test, Poll now, Pause."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from alertsite.console import admins_only, readers_only
from alertsite.crypto import MASK
from events.sources.config import DEFAULT_BASE_URL, SOURCE_SERVICES, source_config_public
from events.sources.models import Source
from events.sources.services import (
    SourceValidationError,
    source_create,
    source_delete,
    source_pause,
    source_poll_now,
    source_status,
    source_test,
    source_update,
)

LIST_URL = "/settings/data-sources/"
NUMBERS = ("poll_interval_seconds", "page_limit", "overlap_seconds", "timeout_seconds")
FIELD_LABELS = {
    "base_url": "API base URL",
    "api_key": "API key",
    "org_ids": "Organization IDs",
    "services": "Services",
    "start_time": "Start time",
    "poll_interval_seconds": "Poll every (seconds)",
    "page_limit": "Events a page",
    "overlap_seconds": "Overlap (seconds)",
    "timeout_seconds": "Timeout (seconds)",
}


def _row(source: Source) -> dict[str, Any]:
    status = source_status(source)
    backfill = status["backfill"] or {}
    return {
        "source": source,
        "status": status,
        # Progress once the first poll has run (before it, "Never run" says it all).
        "progress": round(100 * min(backfill.values())) if backfill and source.last_run_at else None,
    }


@readers_only
def source_list(request: HttpRequest) -> HttpResponse:
    rows = [_row(source) for source in Source.objects.prefetch_related("cursors").order_by("name")]
    # While a poll runs or a backfill is under way, the table refreshes itself.
    refresh = any(row["status"]["polling"] or row["progress"] is not None for row in rows)
    return render(request, "console/sources/list.html", {"nav": "sources", "rows": rows, "refresh": refresh})


def form_data(request: HttpRequest) -> dict[str, Any]:
    """The API's source body from the console form; numbers that don't parse go through as text (the service names them)."""
    post = request.POST
    config: dict[str, Any] = {
        "base_url": post.get("base_url", "").strip(),
        "api_key": post.get("api_key", ""),
        "org_ids": [org.strip() for org in post.get("org_ids", "").replace(",", "\n").splitlines() if org.strip()],
        "services": post.getlist("services") or ["all"],
        "start_time": _start_time(post.get("start_time", "").strip()),
    }
    for name in NUMBERS:
        raw = post.get(name, "").strip()
        try:
            config[name] = int(raw)
        except ValueError:
            config[name] = raw
    return {"name": post.get("name", ""), "enabled": post.get("enabled") == "on", "config": config}


def _start_time(raw: str) -> str:
    """`datetime-local` sends 2026-12-01T00:00 with no zone: the console means UTC."""
    if raw and len(raw) == 16 and raw[10] == "T":
        return raw + ":00Z"
    return raw


def _local(value: Any) -> str:
    if isinstance(value, str) and len(value) >= 16:
        return value[:16]
    return value.strftime("%Y-%m-%dT%H:%M") if isinstance(value, datetime) else ""


def form_context(values: dict[str, Any], errors: dict[str, str], source: Source | None) -> dict[str, Any]:
    config = values.get("config") or {}
    field_errors: dict[str, str] = {}
    for path, message in errors.items():
        key = path.removeprefix("config.").split("[")[0]
        field_errors.setdefault(key, message)
    return {
        "nav": "sources",
        "source": source,
        "values": values,
        "config": config,
        "org_ids_text": "\n".join(config.get("org_ids") or []),
        "start_local": _local(config.get("start_time")),
        "services": [(service, service in (config.get("services") or ["all"])) for service in SOURCE_SERVICES],
        "key_stored": source is not None and config.get("api_key") == MASK and "api_key" not in field_errors,
        "errors": field_errors,
        "error_list": [(FIELD_LABELS.get(k, k), v) for k, v in field_errors.items()],
        "status": source_status(source) if source else None,
    }


@admins_only
def source_new(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        data = form_data(request)
        try:
            source = source_create(data=data, actor=request.user)
        except SourceValidationError as exc:
            return render(request, "console/sources/form.html", form_context(data, exc.errors, None), status=400)
        messages.success(
            request, f"Source {source.name!r} added: it polls within a few seconds. Use Test to check the key."
        )
        return redirect(LIST_URL)
    initial = {
        "enabled": True,
        "config": {
            "base_url": DEFAULT_BASE_URL,
            "services": ["all"],
            "start_time": timezone.now() - timezone.timedelta(hours=24),
            "poll_interval_seconds": 60,
            "page_limit": 1000,
            "overlap_seconds": 300,
            "timeout_seconds": 30,
        },
    }
    return render(request, "console/sources/form.html", form_context(initial, {}, None))


@admins_only
def source_edit(request: HttpRequest, pk: int) -> HttpResponse:
    source = get_object_or_404(Source, pk=pk)
    if request.method == "POST":
        data = form_data(request)
        if not data["config"]["api_key"]:
            data["config"]["api_key"] = MASK  # left empty: keep the stored key
        stored_start = source.config.get("start_time")
        if request.POST.get("start_time", "").strip() == _local(stored_start):
            # The form shows minutes: unchanged, it means the stored time (no backfill restart).
            data["config"]["start_time"] = stored_start
        try:
            source_update(source=source, data=data, actor=request.user)
        except SourceValidationError as exc:
            return render(request, "console/sources/form.html", form_context(data, exc.errors, source), status=400)
        messages.success(request, f"Source {data['name'].strip()!r} saved.")
        return redirect(LIST_URL)
    values = {"name": source.name, "enabled": source.enabled, "config": source_config_public(source.config)}
    return render(request, "console/sources/form.html", form_context(values, {}, source))


@require_POST
@admins_only
def source_remove(request: HttpRequest, pk: int) -> HttpResponse:
    source = get_object_or_404(Source, pk=pk)
    source_delete(source=source, actor=request.user)
    messages.success(request, f"Source {source.name!r} deleted; the events it pulled stay in the log.")
    return redirect(LIST_URL)


@require_POST
@admins_only
def source_test_view(request: HttpRequest, pk: int) -> HttpResponse:
    source = get_object_or_404(Source, pk=pk)
    outcome = source_test(source=source)
    if request.htmx:
        return render(request, "console/sources/partials/test_result.html", {"outcome": outcome})
    if outcome["ok"]:
        messages.success(request, f"{source.name}: the key works.")
    else:
        messages.error(request, f"{source.name}: {outcome['error']}")
    return redirect(LIST_URL)


@require_POST
@admins_only
def source_poll_view(request: HttpRequest, pk: int) -> HttpResponse:
    source = get_object_or_404(Source, pk=pk)
    result = source_poll_now(source=source)
    if result.busy:
        messages.warning(request, f"{source.name}: a poll is already running; its progress shows below.")
    elif result.error:
        messages.error(request, f"{source.name}: {result.error}")
    else:
        more = " The rest of the backlog goes on in the background." if result.more else ""
        messages.success(
            request,
            f"{source.name}: {result.accepted} new events from {result.pages} page{'s' if result.pages != 1 else ''}"
            f" ({result.duplicates} already stored, {result.skipped} skipped).{more}",
        )
    return redirect(LIST_URL)


@require_POST
@admins_only
def source_pause_view(request: HttpRequest, pk: int) -> HttpResponse:
    source = get_object_or_404(Source, pk=pk)
    pause = source.enabled
    source_pause(source=source, paused=pause, actor=request.user)
    messages.success(request, f"{source.name} {'paused' if pause else 'resumed'}.")
    return redirect(LIST_URL)

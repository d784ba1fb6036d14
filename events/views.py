"""Console page for the event log (Insights > Events)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.dateparse import parse_datetime

from alertsite.console import readers_only
from alertsite.ids import id_or_none
from alertsite.timeranges import TIME_RANGE_CHOICES
from events.catalog import SERVICES
from events.filters import AuditEventFilter
from events.models import AuditEvent
from events.selectors import event_type_names

PAGE_SIZE = 50


@readers_only
def event_list(request: HttpRequest) -> HttpResponse:
    """The log newest first, filtered by the API's AuditEventFilter (`?event_type=`, `?search=`, ...)."""
    params = request.GET
    filterset = AuditEventFilter.for_console(params, queryset=AuditEvent.objects.order_by("-timestamp", "-id"))
    queryset = filterset.qs
    # Keyset paging ("Older"): no OFFSET and no COUNT over the event log.
    try:
        before_ts = parse_datetime(params.get("before_ts", ""))
    except ValueError:  # well-formed but impossible (month 13): the first page, as for any bad value
        before_ts = None
    before_id = params.get("before_id", "")
    if before_ts is not None and id_or_none(before_id) is not None:
        queryset = queryset.filter(Q(timestamp__lt=before_ts) | Q(timestamp=before_ts, id__lt=id_or_none(before_id)))
    rows = list(queryset[: PAGE_SIZE + 1])
    events = rows[:PAGE_SIZE]
    older = ""
    if len(rows) > PAGE_SIZE:
        last = events[-1]
        older = filterset.console_query(before_ts=last.timestamp.isoformat(), before_id=last.pk)
    filters = filterset.console_values()
    context = {
        "nav": "events",
        "events": events,
        "filters": filters,
        # The API's filter names work here too; what the form has no field for still shows.
        "window": {name: filters[name] for name in ("since", "until") if filters.get(name)},
        "without_window": filterset.console_query(since="", until=""),
        "older_query": older,
        "paged": bool(before_id),
        "event_types": with_current(event_type_names(), filters["event_type"]),
        "services": with_current(SERVICES, filters["service"]),
        "ranges": [("", "Any time"), *TIME_RANGE_CHOICES],
    }
    return render(request, "console/events/list.html", context)


def with_current(options: Iterable[str], current: str) -> list[str]:
    """The dropdown's options plus the value a link asked for when it isn't one of them (an
    uncatalogued type, or the API's comma-separated `a,b`), so the form shows what is applied."""
    names = list(options)
    return names if not current or current in names else [current, *names]

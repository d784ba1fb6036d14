"""Console page for the event log (Insights > Events)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from alertsite.console import readers_only
from alertsite.ids import id_or_none
from alertsite.timeranges import TIME_RANGE_CHOICES, TIME_RANGES
from events.catalog import SERVICES
from events.models import AuditEvent, EventType

PAGE_SIZE = 50


@readers_only
def event_list(request: HttpRequest) -> HttpResponse:
    params = request.GET
    filters = {
        "type": params.get("type", "").strip(),
        "service": params.get("service", "").strip(),
        "success": params.get("success", "") if params.get("success", "") in ("true", "false") else "",
        "range": params.get("range", "") if params.get("range", "") in TIME_RANGES else "",
        "q": params.get("q", "").strip(),
    }
    queryset = AuditEvent.objects.order_by("-timestamp", "-id")
    if filters["type"]:
        queryset = queryset.filter(event_type=filters["type"])
    if filters["service"]:
        queryset = queryset.filter(service=filters["service"])
    if filters["success"]:
        queryset = queryset.filter(success=filters["success"] == "true")
    if filters["range"]:
        queryset = queryset.filter(timestamp__gte=timezone.now() - TIME_RANGES[filters["range"]])
    if filters["q"]:
        q = filters["q"]
        queryset = queryset.filter(
            Q(event_id=q) | Q(initiator__icontains=q) | Q(resource__icontains=q) | Q(client_ip__startswith=q)
        )
    # Keyset paging ("Older"): no OFFSET and no COUNT over the event log.
    before_ts, before_id = parse_datetime(params.get("before_ts", "") or ""), params.get("before_id", "")
    if before_ts is not None and id_or_none(before_id) is not None:
        queryset = queryset.filter(Q(timestamp__lt=before_ts) | Q(timestamp=before_ts, id__lt=id_or_none(before_id)))
    rows = list(queryset[: PAGE_SIZE + 1])
    events = rows[:PAGE_SIZE]
    older = ""
    if len(rows) > PAGE_SIZE:
        last = events[-1]
        older = urlencode(
            {**{k: v for k, v in filters.items() if v}, "before_ts": last.timestamp.isoformat(), "before_id": last.pk}
        )
    context = {
        "nav": "events",
        "events": events,
        "filters": filters,
        "older_query": older,
        "paged": bool(before_id),
        "event_types": EventType.objects.values_list("name", flat=True),
        "services": SERVICES,
        "ranges": [("", "Any time"), *TIME_RANGE_CHOICES],
    }
    return render(request, "console/events/list.html", context)

"""Reads of alerts: the summary widget, metrics, the events an unresolved alert still needs."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import BooleanField, Count, Exists, ExpressionWrapper, OuterRef, Q, QuerySet
from django.utils import timezone

from alerts.maintenance import WindowSpec, current_end, next_start, occurrences, pattern_before
from alerts.models import Alert, AlertEvent, MaintenanceWindow, reference_for, reference_parse
from alerts.states import UNRESOLVED, AlertStatus
from alertsite.ids import id_or_none
from alertsite.priority import PRIORITIES_HIGH_FIRST
from channels.models import Delivery, NotificationKind


def alert_reference(pk: int | None) -> str:
    """`ALR-000123`: how people and other apps' pages name an alert."""
    return reference_for(pk)


def events_of_unresolved_alerts() -> QuerySet:
    """Retention guard: events that an open or acknowledged alert points at (triggering or grouped)."""
    return AlertEvent.objects.filter(alert__status__in=UNRESOLVED).values("event_id")


def snoozed_now(now: datetime | None = None) -> Q:
    """Alerts whose snooze is still running (the periodic job clears ended ones a little later)."""
    return Q(snoozed_until__gt=now or timezone.now())


def alerts_awake(queryset: QuerySet[Alert] | None = None, now: datetime | None = None) -> QuerySet[Alert]:
    """Alerts not snoozed right now: what the bell, the widget and "newest open alerts" show."""
    queryset = queryset if queryset is not None else Alert.objects.all()
    return queryset.exclude(snoozed_now(now))


def alerts_open_count() -> int:
    """The bell: open alerts nobody has acknowledged yet, snoozed ones left out."""
    return alerts_awake(Alert.objects.filter(status=AlertStatus.OPEN)).count()


def alerts_unresolved_by_priority(now: datetime | None = None) -> dict[str, dict[str, int]]:
    """Unresolved alerts by `open`, `acknowledged` (neither snoozed) and `snoozed`, then priority
    (every priority listed): one query, answered from the (status, priority, snoozed_until) index."""
    now = now or timezone.now()
    by_priority: dict[str, dict[str, int]] = {
        key: dict.fromkeys(PRIORITIES_HIGH_FIRST, 0) for key in (*UNRESOLVED, "snoozed")
    }
    rows = (
        Alert.objects.filter(status__in=UNRESOLVED)
        .annotate(is_snoozed=ExpressionWrapper(snoozed_now(now), output_field=BooleanField()))
        .values("status", "priority", "is_snoozed")
        .annotate(n=Count("*"))
        .order_by()
    )
    for row in rows:
        key = "snoozed" if row["is_snoozed"] else row["status"]
        by_priority[key][row["priority"]] = by_priority[key].get(row["priority"], 0) + row["n"]
    return by_priority


def alert_summary() -> dict[str, Any]:
    """Counts for the Open Alerts widget and the bell: two indexed queries.

    A snoozed alert counts in `snoozed` (by priority in `snoozed_by_priority`), not in `open`
    or `acknowledged`, until its snooze ends.
    """
    now = timezone.now()
    by_priority = alerts_unresolved_by_priority(now)
    resolved_24h = Alert.objects.filter(resolved_at__gte=now - timedelta(hours=24)).count()
    return {
        "open": sum(by_priority[AlertStatus.OPEN].values()),
        "acknowledged": sum(by_priority[AlertStatus.ACKNOWLEDGED].values()),
        "snoozed": sum(by_priority["snoozed"].values()),
        "resolved_24h": resolved_24h,
        "open_by_priority": by_priority[AlertStatus.OPEN],
        "acknowledged_by_priority": by_priority[AlertStatus.ACKNOWLEDGED],
        "snoozed_by_priority": by_priority["snoozed"],
    }


def _percentiles(values: list[int]) -> dict[str, float | None]:
    if not values:
        return {"count": 0, "median": None, "p90": None}
    ordered = sorted(values)
    p90 = ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]  # nearest rank
    return {"count": len(ordered), "median": float(statistics.median(ordered)), "p90": float(p90)}


def alert_metrics(*, since: datetime, noisiest: int = 10) -> dict[str, Any]:
    """MTTA and MTTR (median, p90, in seconds) by priority and by rule, plus the noisiest rules."""
    query = Alert.objects.filter(created_at__gte=since).values_list(
        "priority", "rule_id", "rule_name", "seconds_to_acknowledge", "seconds_to_resolve"
    )
    rows: Iterable[tuple[str, int | None, str, int | None, int | None]] = (
        query.iterator(chunk_size=5000) if connection.vendor == "postgresql" else query
    )
    ack_by_priority: dict[str, list[int]] = {p: [] for p in PRIORITIES_HIGH_FIRST}
    res_by_priority: dict[str, list[int]] = {p: [] for p in PRIORITIES_HIGH_FIRST}
    per_rule: dict[Any, dict[str, Any]] = {}
    for priority, rule_id, rule_name, to_ack, to_resolve in rows:
        entry = per_rule.setdefault(rule_id, {"rule": {"id": rule_id, "name": rule_name}, "ack": [], "res": [], "n": 0})
        entry["n"] += 1
        if to_ack is not None:
            ack_by_priority.setdefault(priority, []).append(to_ack)
            entry["ack"].append(to_ack)
        if to_resolve is not None:
            res_by_priority.setdefault(priority, []).append(to_resolve)
            entry["res"].append(to_resolve)
    by_rule = sorted(per_rule.values(), key=lambda e: (-e["n"], str(e["rule"]["name"])))
    return {
        "since": since,
        "by_priority": {
            priority: {"mtta": _percentiles(ack_by_priority[priority]), "mttr": _percentiles(res_by_priority[priority])}
            for priority in PRIORITIES_HIGH_FIRST
        },
        "by_rule": [
            {"rule": e["rule"], "alerts": e["n"], "mtta": _percentiles(e["ack"]), "mttr": _percentiles(e["res"])}
            for e in by_rule
        ],
        "noisiest_rules": [{"rule": e["rule"], "alerts": e["n"]} for e in by_rule[:noisiest]],
    }


class UnknownAssignee(ValueError):
    """An assignee filter that is neither a user id, `me` nor `none`."""


def assignee_parse(value: str) -> str | int:
    """`value` as the assignee filter reads it: "me", "none" or a user id. Raises UnknownAssignee."""
    value = value.strip().lower()
    if value in ("me", "none"):
        return value
    user_pk = id_or_none(value)
    if user_pk is None:
        raise UnknownAssignee(f"Unknown assignee {value[:50]!r}; use a user id, 'me' or 'none'.")
    return user_pk


def alerts_assigned(queryset: QuerySet[Alert], value: str, *, user: Any) -> QuerySet[Alert]:
    """`value` is a user id, `me` or `none` (the assignee filter of the API and the console)."""
    assignee = assignee_parse(value)
    if assignee == "none":
        return queryset.filter(assignee__isnull=True)
    if assignee == "me":
        return queryset.filter(assignee=user) if user is not None and user.is_authenticated else queryset.none()
    return queryset.filter(assignee_id=int(assignee))


def alerts_matching(queryset: QuerySet[Alert], text: str) -> QuerySet[Alert]:
    """Search: a reference (ALR-000123) finds that alert, anything else the title or rule name."""
    text = text.strip()
    if not text:
        return queryset
    pk = reference_parse(text)
    if pk is not None:
        return queryset.filter(pk=pk)
    words = Q(title__icontains=text) | Q(rule_name__icontains=text)
    number = id_or_none(text)
    # "000123" is a reference without its prefix as often as a number in a title: find both.
    return queryset.filter(words | Q(pk=number)) if number is not None else queryset.filter(words)


# Maintenance windows: how each stands now, and what a window would have muted (the preview).

PREVIEW_DAYS = 7
PREVIEW_SAMPLE = 10


def window_status(spec: WindowSpec, now: datetime | None = None) -> dict[str, Any]:
    """`active_now`, `active_until` (end of the open occurrence) and `next_start` (the next one)."""
    now = now or timezone.now()
    until = current_end(spec, now)
    return {"active_now": until is not None, "active_until": until, "next_start": next_start(spec, now)}


def windows_listed(now: datetime | None = None) -> list[tuple[MaintenanceWindow, dict[str, Any]]]:
    """Every window with its status: active first, then by next start; past one-offs last."""
    now = now or timezone.now()
    rows = [(window, window_status(window.spec(), now)) for window in MaintenanceWindow.objects.all()]

    def order(row: tuple[MaintenanceWindow, dict[str, Any]]) -> tuple[int, datetime, int]:
        window, status = row
        if status["active_now"]:
            return (0, status["active_until"], window.pk)
        if status["next_start"] is not None:
            return (1, status["next_start"], window.pk)
        return (2, window.ends_at, window.pk)

    return sorted(rows, key=order)


def window_preview(spec: WindowSpec, *, now: datetime | None = None, days: int = PREVIEW_DAYS) -> dict[str, Any]:
    """What the window would have muted over the last `days` days, from the stored alerts.

    Each alert is replayed by its triggering event's timestamp and its rule, priority and event
    type, as evaluation decides; its notification counts when an `alert.created` was written for
    it. An hourly, daily or weekly window whose first occurrence is still ahead is replayed as
    its pattern, moved back by whole weeks. Two queries (counts, sample) whatever the number of alerts: the occurrences become time
    ranges in SQL.
    """
    now = now or timezone.now()
    since = now - timedelta(days=days)
    # A repeating window that starts later is previewed as its pattern (maintenance.pattern_before).
    spans = occurrences(pattern_before(spec, since), since, now)
    result: dict[str, Any] = {
        "since": since,
        "until": now,
        "mute": spec.mute,
        "occurrences": [{"starts_at": begin, "ends_at": end} for begin, end in spans],
        "alerts": 0,
        "notifications": 0,
        "sample": [],
    }
    if not spans:
        return result
    inside = Q()
    for begin, end in spans:
        inside |= Q(event__timestamp__gte=max(begin, since), event__timestamp__lt=min(end, now))
    alerts = Alert.objects.filter(inside)
    if spec.rule_ids:
        alerts = alerts.filter(rule_id__in=spec.rule_ids)
    if spec.priorities:
        alerts = alerts.filter(priority__in=spec.priorities)
    if spec.event_types:
        alerts = alerts.filter(event_type__in=spec.event_types)
    notified = Exists(Delivery.objects.filter(alert_id=OuterRef("pk"), kind=NotificationKind.ALERT_CREATED))
    counts = alerts.annotate(notified=notified).aggregate(
        alerts=Count("pk"), notifications=Count("pk", filter=Q(notified=True))
    )
    result["alerts"], result["notifications"] = counts["alerts"], counts["notifications"]
    sample = alerts.order_by("-event__timestamp", "-pk").values(
        "pk", "rule_id", "rule_name", "priority", "title", "event_type", "event__timestamp"
    )[:PREVIEW_SAMPLE]
    result["sample"] = [
        {
            "id": row["pk"],
            "reference": reference_for(row["pk"]),
            "title": row["title"],
            "rule": {"id": row["rule_id"], "name": row["rule_name"]},
            "priority": row["priority"],
            "event_type": row["event_type"],
            "timestamp": row["event__timestamp"],
        }
        for row in sample
    ]
    return result

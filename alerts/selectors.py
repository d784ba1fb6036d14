"""Reads of alerts: the summary widget, metrics, the events an unresolved alert still needs."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import BooleanField, Count, ExpressionWrapper, Q, QuerySet
from django.utils import timezone

from alerts.models import Alert, AlertEvent, reference_for, reference_parse
from alerts.states import UNRESOLVED, AlertStatus
from alertsite.ids import id_or_none
from alertsite.priority import PRIORITIES_HIGH_FIRST


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

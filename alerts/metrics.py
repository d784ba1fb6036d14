"""Reads behind Insights > Alert Metrics and the home sparkline: alert load and response times over a period.

Each function is one aggregate query whatever the number of alerts (the page costs four). PostgreSQL
computes the MTTA/MTTR percentiles itself (ordered-set aggregates);
other databases (SQLite in development) return a (week, seconds) histogram and the percentiles
are read off it here, with the same definitions as `alerts.selectors.alert_metrics`: the median
of the values (the mean of the two middle ones for an even count) and the nearest-rank p90.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db import connection
from django.db.models import Count, Max, QuerySet
from django.db.models.functions import TruncDate, TruncWeek
from django.utils import timezone

from alerts.models import Alert, AlertCategory, AlertSourceType
from alertsite.priority import PRIORITIES_HIGH_FIRST

PERIODS = (7, 30, 90)  # days the page offers
DEFAULT_PERIOD = 30
NOISIEST = 10
NO_SOURCE_LABEL = "Neither user nor device"


@dataclass(frozen=True)
class MetricsWindow:
    """The last `days` whole UTC days, today included: the same days whatever the hour."""

    days: int
    start: datetime

    @property
    def dates(self) -> list[date]:
        first = self.start.date()
        return [first + timedelta(days=i) for i in range(self.days)]

    @property
    def weeks(self) -> list[date]:
        """The Monday of every ISO week the window touches, oldest first."""
        first = self.start.date()
        monday = first - timedelta(days=first.weekday())
        last = self.dates[-1]
        return [monday + timedelta(weeks=i) for i in range((last - monday).days // 7 + 1)]


def metrics_window(days: int = DEFAULT_PERIOD, now: datetime | None = None) -> MetricsWindow:
    """The window of `days` (one of PERIODS, else the default) ending today (UTC)."""
    days = days if days in PERIODS else DEFAULT_PERIOD
    today = (now or timezone.now()).astimezone(UTC).date()
    return MetricsWindow(days=days, start=datetime.combine(today - timedelta(days=days - 1), time.min, tzinfo=UTC))


def period_parse(value: str | None) -> int:
    """`?days=` as the page reads it: 7, 30 or 90; anything else is the default period."""
    try:
        days = int(value or "")
    except ValueError:
        return DEFAULT_PERIOD
    return days if days in PERIODS else DEFAULT_PERIOD


def _in_window(window: MetricsWindow) -> QuerySet[Alert]:
    return Alert.objects.filter(created_at__gte=window.start).order_by()


# -- alerts per day by priority -------------------------------------------------------------------


@dataclass
class DayCounts:
    day: date
    by_priority: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PRIORITIES_HIGH_FIRST, 0))

    @property
    def total(self) -> int:
        return sum(self.by_priority.values())


def alerts_per_day(window: MetricsWindow) -> list[DayCounts]:
    """Alerts raised each day of the window by priority, every day listed (zeros included)."""
    days = {day: DayCounts(day) for day in window.dates}
    rows = (
        _in_window(window)
        .annotate(day=TruncDate("created_at", tzinfo=UTC))
        .values("day", "priority")
        .annotate(n=Count("*"))
    )
    for row in rows:
        entry = days.get(_as_date(row["day"]))
        if entry is not None and row["priority"] in entry.by_priority:
            entry.by_priority[row["priority"]] += row["n"]
    return list(days.values())


# -- MTTA and MTTR per week -----------------------------------------------------------------------


@dataclass(frozen=True)
class Spread:
    """Median and nearest-rank p90 of some durations in seconds (None when there are none)."""

    count: int = 0
    median: float | None = None
    p90: float | None = None


@dataclass(frozen=True)
class WeekTimes:
    week: date  # its Monday
    mtta: Spread
    mttr: Spread


# One aggregate a week, side by side: each week is an index range scan whose values PostgreSQL
# sorts in memory. GROUP BY week instead sorts the whole period by week first (7.5 s against
# about 1 s for 90 days of a million alerts on the bench machine).
_WEEKLY_PERCENTILES_SQL = """
SELECT w.start, s.*
FROM unnest(%s::timestamptz[], %s::timestamptz[]) AS w(start, stop)
CROSS JOIN LATERAL (
    SELECT count(seconds_to_acknowledge),
           percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds_to_acknowledge),
           percentile_disc(0.9) WITHIN GROUP (ORDER BY seconds_to_acknowledge),
           count(seconds_to_resolve),
           percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds_to_resolve),
           percentile_disc(0.9) WITHIN GROUP (ORDER BY seconds_to_resolve)
    FROM {table}
    WHERE created_at >= w.start AND created_at < w.stop
) AS s
"""


def response_times_per_week(window: MetricsWindow) -> list[WeekTimes]:
    """MTTA and MTTR (median, p90 in seconds) of the alerts raised in each week of the window."""
    weeks: dict[date, tuple[Spread, Spread]] = {week: (Spread(), Spread()) for week in window.weeks}
    if connection.vendor == "postgresql":
        mondays = [datetime.combine(week, time.min, tzinfo=UTC) for week in window.weeks]
        starts = [max(monday, window.start) for monday in mondays]
        stops = [monday + timedelta(weeks=1) for monday in mondays]
        with connection.cursor() as cursor:
            cursor.execute(_WEEKLY_PERCENTILES_SQL.format(table=Alert._meta.db_table), [starts, stops])
            for start, ack_n, ack_median, ack_p90, res_n, res_median, res_p90 in cursor.fetchall():
                weeks[_as_date(start - timedelta(days=start.astimezone(UTC).weekday()))] = (
                    Spread(ack_n, _float(ack_median), _float(ack_p90)),
                    Spread(res_n, _float(res_median), _float(res_p90)),
                )
    else:
        by_week = _in_window(window).annotate(week=TruncWeek("created_at", tzinfo=UTC)).values("week")
        histograms: dict[date, tuple[dict[int, int], dict[int, int]]] = {}
        counted = by_week.annotate(n=Count("*")).values_list(
            "week", "seconds_to_acknowledge", "seconds_to_resolve", "n"
        )
        for week_start, to_ack, to_resolve, n in counted:
            ack, res = histograms.setdefault(_as_date(week_start), ({}, {}))
            if to_ack is not None:
                ack[to_ack] = ack.get(to_ack, 0) + n
            if to_resolve is not None:
                res[to_resolve] = res.get(to_resolve, 0) + n
        for monday, (ack, res) in histograms.items():
            weeks[monday] = (spread_of_histogram(ack), spread_of_histogram(res))
    return [WeekTimes(week, mtta, mttr) for week, (mtta, mttr) in sorted(weeks.items())]


def spread_of_histogram(counts: dict[int, int]) -> Spread:
    """Median and nearest-rank p90 of the values `counts` holds (value -> how many times)."""
    total = sum(counts.values())
    if not total:
        return Spread()
    ordered = sorted(counts.items())

    def at(index: int) -> int:  # the index-th value (0-based) of the sorted values
        seen = 0
        for value, n in ordered:
            seen += n
            if index < seen:
                return value
        return ordered[-1][0]

    middle = total // 2
    median = float(at(middle)) if total % 2 else (at(middle - 1) + at(middle)) / 2
    return Spread(total, median, float(at(max(0, math.ceil(0.9 * total) - 1))))


# -- noisiest rules, categories, source types -----------------------------------------------------


@dataclass(frozen=True)
class Share:
    """One bar of a ranking: its label, how many alerts, and what it links to (if anything)."""

    key: str
    label: str
    alerts: int
    rule_id: int | None = None


def noisiest_rules(window: MetricsWindow, limit: int = NOISIEST) -> list[Share]:
    """The rules that raised the most alerts in the window, most first (deleted rules as one)."""
    rows = (
        _in_window(window)
        .values("rule_id")
        .annotate(alerts=Count("*"), name=Max("rule_name"))
        .order_by("-alerts", "rule_id")[:limit]
    )
    return [
        Share(
            key=str(row["rule_id"] or ""),
            label=row["name"] if row["rule_id"] is not None else "Deleted rules",
            alerts=row["alerts"],
            rule_id=row["rule_id"],
        )
        for row in rows
    ]


@dataclass
class Breakdown:
    by_category: list[Share]
    by_source_type: list[Share]


def alerts_by_category_and_source(window: MetricsWindow) -> Breakdown:
    """Alerts of the window by category and by source type (user, device, neither), largest first."""
    categories: dict[str, int] = {}
    sources: dict[str, int] = {}
    rows = _in_window(window).values_list("category", "source_type").annotate(n=Count("*"))
    for category, source_type, n in rows:
        key = category or AlertCategory.OTHER.value
        categories[key] = categories.get(key, 0) + n
        sources[source_type] = sources.get(source_type, 0) + n
    category_labels: dict[str, str] = dict(AlertCategory.choices)
    source_labels: dict[str, str] = {**dict(AlertSourceType.choices), "": NO_SOURCE_LABEL}
    return Breakdown(
        by_category=_ranked(categories, category_labels),
        by_source_type=_ranked(sources, source_labels),
    )


def _ranked(counts: dict[str, int], labels: dict[str, str]) -> list[Share]:
    return [
        Share(key=key, label=labels.get(key, key), alerts=n)
        for key, n in sorted(counts.items(), key=lambda item: (-item[1], labels.get(item[0], item[0])))
        if n
    ]


# -- the page as a whole --------------------------------------------------------------------------


@dataclass
class AlertMetricsPage:
    window: MetricsWindow
    per_day: list[DayCounts]
    per_week: list[WeekTimes]
    noisiest: list[Share]
    breakdown: Breakdown

    @property
    def total(self) -> int:
        return sum(day.total for day in self.per_day)

    @property
    def totals_by_priority(self) -> dict[str, int]:
        return {p: sum(day.by_priority[p] for day in self.per_day) for p in PRIORITIES_HIGH_FIRST}


def alert_metrics_page(days: int = DEFAULT_PERIOD, now: datetime | None = None) -> AlertMetricsPage:
    """Everything Insights > Alert Metrics shows: four aggregate queries."""
    window = metrics_window(days, now)
    return AlertMetricsPage(
        window=window,
        per_day=alerts_per_day(window),
        per_week=response_times_per_week(window),
        noisiest=noisiest_rules(window),
        breakdown=alerts_by_category_and_source(window),
    )


def _as_date(value: Any) -> date:
    """TruncDate/TruncWeek answer a date or an aware datetime depending on the database."""
    return value.astimezone(UTC).date() if isinstance(value, datetime) else value


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


# -- snapshots: the page as JSON and back ---------------------------------------------------------


def page_as_json(page: AlertMetricsPage) -> dict[str, Any]:
    """The page as plain JSON (lists of values), what AlertMetricsSnapshot.data holds."""

    def spread(s: Spread) -> list[Any]:
        return [s.count, s.median, s.p90]

    def shares(items: list[Share]) -> list[list[Any]]:
        return [[s.key, s.label, s.alerts, s.rule_id] for s in items]

    return {
        "days": page.window.days,
        "start": page.window.start.isoformat(),
        "per_day": [[d.day.isoformat(), *(d.by_priority[p] for p in PRIORITIES_HIGH_FIRST)] for d in page.per_day],
        "per_week": [[w.week.isoformat(), *spread(w.mtta), *spread(w.mttr)] for w in page.per_week],
        "noisiest": shares(page.noisiest),
        "by_category": shares(page.breakdown.by_category),
        "by_source_type": shares(page.breakdown.by_source_type),
    }


def page_from_json(data: dict[str, Any]) -> AlertMetricsPage:
    """The inverse of page_as_json."""

    def shares(rows: list[list[Any]]) -> list[Share]:
        return [Share(key=key, label=label, alerts=alerts, rule_id=rule_id) for key, label, alerts, rule_id in rows]

    window = MetricsWindow(days=int(data["days"]), start=datetime.fromisoformat(data["start"]))
    return AlertMetricsPage(
        window=window,
        per_day=[
            DayCounts(date.fromisoformat(day), dict(zip(PRIORITIES_HIGH_FIRST, counts, strict=True)))
            for day, *counts in data["per_day"]
        ],
        per_week=[
            WeekTimes(date.fromisoformat(week), Spread(*values[:3]), Spread(*values[3:]))
            for week, *values in data["per_week"]
        ],
        noisiest=shares(data["noisiest"]),
        breakdown=Breakdown(by_category=shares(data["by_category"]), by_source_type=shares(data["by_source_type"])),
    )

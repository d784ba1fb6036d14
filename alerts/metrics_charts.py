"""Insights > Alert Metrics as charts and tables: geometry (alertsite.charts) and the numbers of each chart.

Each chart has one `Table`: the page shows it beside the chart (with durations in words) and the
CSV download writes the same rows (durations in seconds), so the two can never disagree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.urls import reverse

from alerts.metrics import AlertMetricsPage, DayCounts, Share, WeekTimes
from alertsite.charts import (
    HBar,
    LineChart,
    Series,
    StackedBars,
    duration_label,
    duration_scale,
    horizontal_bars,
    line_chart,
    stacked_bars,
)
from alertsite.priority import PRIORITIES_HIGH_FIRST, Priority

# Bottom-up stacking order, low first; colours are the console's badge colours (console.css), and
# medium and low also carry a pattern (templates/console/charts/defs.html) so no colour is needed.
PRIORITY_SERIES = [
    Series(Priority.LOW.value, "Low", "url(#chart-fill-low)"),
    Series(Priority.MEDIUM.value, "Medium", "url(#chart-fill-medium)"),
    Series(Priority.HIGH.value, "High", "#b42318"),
]
MEDIAN = Series("median", "Median", "#0b5cad", dash="", marker="circle")
P90 = Series("p90", "p90", "#6e40c9", dash="6 4", marker="square")


@dataclass(frozen=True)
class Table:
    """A chart's numbers: `rows` hold raw values (the CSV), `shown` the same rows as the page prints them."""

    columns: list[str]
    csv_columns: list[str]
    rows: list[list[Any]]
    shown: list[list[str]]


def day_label(day: date) -> str:
    return f"{day:%b} {day.day}"


# -- tables ---------------------------------------------------------------------------------------


def per_day_table(days: list[DayCounts]) -> Table:
    counts = [[*(day.by_priority[p] for p in PRIORITIES_HIGH_FIRST), day.total] for day in days]
    return Table(
        columns=["Day", "High", "Medium", "Low", "Total"],
        csv_columns=["day", "high", "medium", "low", "total"],
        rows=[[day.day.isoformat(), *row] for day, row in zip(days, counts, strict=True)],
        shown=[[day.day.isoformat(), *(f"{n:,}" for n in row)] for day, row in zip(days, counts, strict=True)],
    )


def per_week_table(weeks: list[WeekTimes]) -> Table:
    rows: list[list[Any]] = [
        [
            week.week.isoformat(),
            week.mtta.count,
            week.mtta.median,
            week.mtta.p90,
            week.mttr.count,
            week.mttr.median,
            week.mttr.p90,
        ]
        for week in weeks
    ]
    return Table(
        columns=[
            "Week of",
            "Acknowledged",
            "MTTA median",
            "MTTA p90",
            "Resolved",
            "MTTR median",
            "MTTR p90",
        ],
        csv_columns=[
            "week_start",
            "acknowledged",
            "mtta_median_seconds",
            "mtta_p90_seconds",
            "resolved",
            "mttr_median_seconds",
            "mttr_p90_seconds",
        ],
        rows=rows,
        shown=[
            [
                w.week.isoformat(),
                f"{w.mtta.count:,}",
                duration_label(w.mtta.median),
                duration_label(w.mtta.p90),
                f"{w.mttr.count:,}",
                duration_label(w.mttr.median),
                duration_label(w.mttr.p90),
            ]
            for w in weeks
        ],
    )


def shares_table(shares: list[Share], first: str, csv_first: str, *, with_rule_id: bool = False) -> Table:
    if with_rule_id:
        rows: list[list[Any]] = [[s.label, s.rule_id if s.rule_id is not None else "", s.alerts] for s in shares]
        return Table(
            columns=[first, "Rule id", "Alerts"],
            csv_columns=[csv_first, "rule_id", "alerts"],
            rows=rows,
            shown=[[str(r[0]), str(r[1]), f"{r[2]:,}"] for r in rows],
        )
    rows = [[s.key, s.label, s.alerts] for s in shares]
    return Table(
        columns=[first, "Alerts"],
        csv_columns=[csv_first, "label", "alerts"],
        rows=rows,
        shown=[[str(r[1]), f"{r[2]:,}"] for r in rows],
    )


# -- CSV: each chart's table, by the name its download link uses ----------------------------------


CSV_TABLES: dict[str, Callable[[AlertMetricsPage], Table]] = {
    "alerts-per-day": lambda page: per_day_table(page.per_day),
    "response-times": lambda page: per_week_table(page.per_week),
    "noisiest-rules": lambda page: shares_table(page.noisiest, "Rule", "rule", with_rule_id=True),
    "by-category": lambda page: shares_table(page.breakdown.by_category, "Category", "category"),
    "by-source-type": lambda page: shares_table(page.breakdown.by_source_type, "Source type", "source_type"),
}


# -- charts ---------------------------------------------------------------------------------------


def per_day_chart(days: list[DayCounts], *, sparkline: bool = False) -> StackedBars:
    columns = [(day_label(day.day), day.by_priority) for day in days]
    if sparkline:
        return stacked_bars(columns, PRIORITY_SERIES, height=56, width=280, axes=False)
    return stacked_bars(columns, PRIORITY_SERIES)


def response_time_charts(weeks: list[WeekTimes]) -> dict[str, LineChart | None]:
    """MTTA and MTTR, median and p90 per week, each in the unit its largest value reads best in."""
    labels = [day_label(week.week) for week in weeks]
    charts: dict[str, LineChart | None] = {}
    for name in ("mtta", "mttr"):
        spreads = [getattr(week, name) for week in weeks]
        peak = max((s.p90 or 0 for s in spreads), default=0)
        if not any(s.count for s in spreads):
            charts[name] = None
            continue
        divisor, unit = duration_scale(peak)
        charts[name] = line_chart(
            labels, [(MEDIAN, [s.median for s in spreads]), (P90, [s.p90 for s in spreads])], scale=divisor, unit=unit
        )
    return charts


def noisiest_bars(shares: list[Share]) -> list[HBar]:
    return horizontal_bars(
        [
            (s.label, s.alerts, reverse("console-rule-edit", args=[s.rule_id]) if s.rule_id is not None else "")
            for s in shares
        ]
    )


def share_bars(shares: list[Share]) -> list[HBar]:
    return horizontal_bars([(s.label, s.alerts, "") for s in shares])

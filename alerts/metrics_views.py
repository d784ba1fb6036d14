"""Insights > Alert Metrics: the page (charts with their tables) and one CSV a chart; every role reads."""

from __future__ import annotations

import csv
import io

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from alerts.metrics import PERIODS, period_parse
from alerts.metrics_charts import (
    CSV_TABLES,
    MEDIAN,
    P90,
    noisiest_bars,
    per_day_chart,
    per_day_table,
    per_week_table,
    response_time_charts,
    share_bars,
    shares_table,
)
from alerts.services.metrics_snapshots import alert_metrics_current, refresh_interval
from alertsite.console import readers_only


@readers_only
def alert_metrics(request: HttpRequest) -> HttpResponse:
    days = period_parse(request.GET.get("days"))
    page, as_of = alert_metrics_current(days)
    context = {
        "nav": "metrics",
        "days": page.window.days,
        "periods": PERIODS,
        "page": page,
        "as_of": as_of,
        "refresh_minutes": max(1, round(refresh_interval().total_seconds() / 60)),
        "per_day_chart": per_day_chart(page.per_day),
        "per_day_table": per_day_table(page.per_day),
        "response_charts": response_time_charts(page.per_week),
        "line_series": [MEDIAN, P90],
        "per_week_table": per_week_table(page.per_week),
        "noisiest_bars": noisiest_bars(page.noisiest),
        "noisiest_table": shares_table(page.noisiest, "Rule", "rule", with_rule_id=True),
        "category_bars": share_bars(page.breakdown.by_category),
        "source_bars": share_bars(page.breakdown.by_source_type),
    }
    return render(request, "console/alerts/metrics.html", context)


@readers_only
def alert_metrics_csv(request: HttpRequest, chart: str) -> HttpResponse:
    """One chart's numbers as CSV, from the same snapshot as the page (durations in seconds)."""
    if chart not in CSV_TABLES:
        raise Http404("No such chart.")
    days = period_parse(request.GET.get("days"))
    page, _ = alert_metrics_current(days)
    table = CSV_TABLES[chart](page)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(table.csv_columns)
    writer.writerows(["" if value is None else value for value in row] for row in table.rows)
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="alert-metrics-{chart}-{page.window.days}d.csv"'
    return response

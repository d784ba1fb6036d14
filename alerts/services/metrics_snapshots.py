"""Keep Insights > Alert Metrics cheap to read: one stored snapshot a period, refreshed by a periodic job.

Aggregating a month of alerts costs seconds at a million alerts (bench/console.py), far over what
a page may take, so the job recomputes each period every ALERTSITE_METRICS_REFRESH_SECONDS and pages
read the snapshot in one query. A page that finds no snapshot, one for an older window (the UTC
day moved on) or one older than twice the interval (no job is running) computes the figures itself
and stores them, so the page is never staler than that.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from alerts.metrics import PERIODS, AlertMetricsPage, alert_metrics_page, metrics_window, page_as_json, page_from_json
from alerts.models import AlertMetricsSnapshot


def refresh_interval() -> timedelta:
    return timedelta(seconds=settings.ALERTSITE_METRICS_REFRESH_SECONDS)


def alert_metrics_refresh(days: int, now: datetime | None = None) -> tuple[AlertMetricsPage, datetime]:
    """Compute the period's figures (four aggregate queries) and store them as its snapshot."""
    now = now or timezone.now()
    page = alert_metrics_page(days, now)
    AlertMetricsSnapshot.objects.update_or_create(
        days=page.window.days,
        defaults={"window_start": page.window.start, "computed_at": now, "data": page_as_json(page)},
    )
    return page, now


def alert_metrics_refresh_all(now: datetime | None = None) -> int:
    """The periodic job: every period the page offers. Returns how many were refreshed."""
    for days in PERIODS:
        alert_metrics_refresh(days, now)
    return len(PERIODS)


def alert_metrics_current(days: int, now: datetime | None = None) -> tuple[AlertMetricsPage, datetime]:
    """(figures, as of when) for the period: the snapshot when it is current, else computed now."""
    now = now or timezone.now()
    window = metrics_window(days, now)
    snapshot = AlertMetricsSnapshot.objects.filter(days=window.days).first()
    if (
        snapshot is None
        or snapshot.window_start != window.start
        or snapshot.computed_at < now - 2 * refresh_interval()
        or snapshot.computed_at > now
    ):
        return alert_metrics_refresh(window.days, now)
    return page_from_json(snapshot.data), snapshot.computed_at

"""Celery tasks of alerts: thin adapters over alerts.services (reminders, snooze expiry)."""

from __future__ import annotations

from celery import shared_task

from alerts.services import alert_snoozes_expire, reminders_run
from alerts.services.metrics_snapshots import alert_metrics_refresh_all


@shared_task(name="alerts.tasks.reminders_task")
def reminders_task() -> dict[str, int]:
    run = reminders_run()
    return {"reminders": run.reminders, "escalations": run.escalations}


@shared_task(name="alerts.tasks.alert_snoozes_expire_task")
def alert_snoozes_expire_task() -> int:
    """End alert snoozes whose time has come: each alert is back on the bell, with an audit event."""
    return alert_snoozes_expire()


@shared_task(name="alerts.tasks.alert_metrics_refresh_task")
def alert_metrics_refresh_task() -> int:
    """Recompute the Alert Metrics snapshot of every period (7, 30, 90 days)."""
    return alert_metrics_refresh_all()

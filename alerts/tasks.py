"""Celery tasks of alerts: thin adapters over alerts.services."""

from __future__ import annotations

from celery import shared_task

from alerts.services import alert_snoozes_expire


@shared_task(name="alerts.tasks.alert_snoozes_expire_task")
def alert_snoozes_expire_task() -> int:
    """End alert snoozes whose time has come: each alert is back on the bell, with an audit event."""
    return alert_snoozes_expire()

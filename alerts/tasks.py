"""The beat job that sends due reminders and escalations (alerts.services.reminders)."""

from __future__ import annotations

from celery import shared_task

from alerts.services import reminders_run


@shared_task(name="alerts.tasks.reminders_task")
def reminders_task() -> dict[str, int]:
    run = reminders_run()
    return {"reminders": run.reminders, "escalations": run.escalations}

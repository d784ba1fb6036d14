"""A small in-process scheduler for the embedded default.

Production runs `celery beat`; the embedded default has no broker, so `manage.py serve`
runs the same CELERY_BEAT_SCHEDULE from a daemon thread, calling each task in-process.
Retries, sweeps and the retention purge therefore still happen on a laptop.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from celery.schedules import maybe_schedule
from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone
from django.utils.module_loading import autodiscover_modules

from alertsite.celery import app

logger = logging.getLogger(__name__)


class EmbeddedScheduler(threading.Thread):
    def __init__(self, schedule: dict | None = None, tick_seconds: float = 1.0) -> None:
        super().__init__(name="alertsite-scheduler", daemon=True)
        # A worker imports every app's tasks module at start; this process must too, or a
        # task that nothing else imported yet (the delivery sweep) is "not registered".
        autodiscover_modules("tasks")
        self.entries = {
            name: (entry["task"], maybe_schedule(entry["schedule"]))
            for name, entry in (schedule if schedule is not None else settings.CELERY_BEAT_SCHEDULE).items()
        }
        self.last_run: dict[str, datetime] = dict.fromkeys(self.entries, timezone.now())
        self.tick_seconds = tick_seconds
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.tick_seconds):
            self.run_due()

    def run_due(self) -> list[str]:
        """Run every entry that is due now; return their names."""
        ran = []
        for name, (task_name, schedule) in self.entries.items():
            due, _ = schedule.is_due(self.last_run[name])
            if not due:
                continue
            self.last_run[name] = timezone.now()
            try:
                app.tasks[task_name].apply(throw=True)
                ran.append(name)
            except Exception:
                logger.exception("scheduled job failed", extra={"job": name})
            finally:
                close_old_connections()
        return ran

    def stop(self) -> None:
        self.stopped.set()

"""A small in-process scheduler for the embedded default.

Production runs `celery beat`; the embedded default has no broker, so the web process runs
the same CELERY_BEAT_SCHEDULE from a daemon thread, calling each task in-process. Retries,
sweeps and the retention purge therefore still happen on a laptop, however the product is
served (api.md section 1):

- `alertsite/wsgi.py` and `alertsite/asgi.py` call `embedded_scheduler_start()` when they
  create the application, so every process that serves requests has one: `runserver` (its
  serving child, not the autoreloader's watcher), gunicorn and uvicorn workers, `manage.py
  serve`. Tests, migrations, the shell, Celery and other commands never import those
  modules, so they never start one. One thread a process, whoever asks twice.
- One process a host runs the jobs: each thread tries a non-blocking `flock` on a lock file
  (ALERTSITE_SCHEDULER_LOCK_FILE, by default one per database in the temp directory) every
  tick; the holder runs the jobs, the others stand by and take over when it exits (the OS
  drops the lock of a dead process). The holder keeps each job's last run in the lock file,
  so a process that takes over (a restart, a recycled worker) goes on from there instead of
  starting every interval afresh (a daily purge would never run under workers recycled
  more often). Where there is no flock (Windows) or the lock file cannot be opened, every
  process runs them: the jobs are idempotent sweeps (claims by conditional UPDATE, unique
  rows), so a second run finds nothing left to do.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
from datetime import datetime
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

from celery.schedules import maybe_schedule
from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone
from django.utils.module_loading import autodiscover_modules

from alertsite.celery import app

logger = logging.getLogger(__name__)


class HostLock:
    """A non-blocking exclusive `flock` on a file, held until release() or the process exits."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd: int | None = None
        self.unavailable = fcntl is None

    def acquire(self) -> bool:
        """True when this process holds the lock (or no lock can be had, so everyone runs)."""
        if self.fd is not None or self.unavailable:
            return True
        try:
            # A new open file description each try: one inherited across fork() would share its lock.
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
        except OSError:
            logger.warning("cannot open the scheduler lock file; every process runs the jobs", exc_info=True)
            self.unavailable = True
            return True
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self.fd = fd
        return True

    def read_state(self) -> dict[str, str]:
        """What the last holder wrote (each job's last run); empty when there is nothing readable."""
        if self.fd is None:
            return {}
        os.lseek(self.fd, 0, os.SEEK_SET)
        try:
            state = json.loads(os.read(self.fd, 1 << 16) or b"{}")
        except ValueError:
            return {}
        return state if isinstance(state, dict) else {}

    def write_state(self, state: dict[str, str]) -> None:
        if self.fd is None:
            return
        os.lseek(self.fd, 0, os.SEEK_SET)
        os.ftruncate(self.fd, 0)
        os.write(self.fd, json.dumps(state).encode())

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing the only descriptor drops the lock
            self.fd = None


def default_lock_path() -> Path:
    """ALERTSITE_SCHEDULER_LOCK_FILE, else a file in the temp directory named after the database."""
    if settings.ALERTSITE_SCHEDULER_LOCK_FILE:
        return Path(settings.ALERTSITE_SCHEDULER_LOCK_FILE)
    database = settings.DATABASES["default"]
    identity = "|".join(str(database.get(key, "")) for key in ("ENGINE", "NAME", "HOST", "PORT"))
    digest = hashlib.sha256(identity.encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"alertsite-scheduler-{digest}.lock"


class EmbeddedScheduler(threading.Thread):
    def __init__(self, schedule: dict | None = None, tick_seconds: float = 1.0, lock: HostLock | None = None) -> None:
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
        self.lock = lock
        self.running_jobs = lock is None

    def run(self) -> None:
        try:
            while not self.stopped.wait(self.tick_seconds):
                if self.lock is not None and not self.lock.acquire():
                    continue  # another web process on this host runs the jobs
                if not self.running_jobs:
                    self.running_jobs = True
                    self.resume(self.lock.read_state() if self.lock is not None else {})
                    logger.info("periodic jobs run in this process", extra={"pid": os.getpid()})
                before = dict(self.last_run)
                self.run_due()
                if self.lock is not None and self.last_run != before:
                    self.lock.write_state({name: moment.isoformat() for name, moment in self.last_run.items()})
        finally:
            if self.lock is not None:
                self.lock.release()

    def resume(self, state: dict[str, str]) -> None:
        """Take the last runs another process recorded, so intervals go on where they were."""
        now = timezone.now()
        for name, text in state.items():
            if name not in self.last_run or not isinstance(text, str):
                continue
            try:
                moment = datetime.fromisoformat(text)
            except ValueError:
                continue
            if moment.tzinfo is not None and moment <= now:
                self.last_run[name] = moment

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


_process_scheduler: EmbeddedScheduler | None = None
_process_scheduler_pid: int | None = None
_start_lock = threading.Lock()


def embedded_scheduler_wanted() -> bool:
    """No broker (tasks run in-process) and not switched off by ALERTSITE_EMBEDDED_SCHEDULER."""
    return bool(settings.CELERY_TASK_ALWAYS_EAGER and settings.ALERTSITE_EMBEDDED_SCHEDULER)


def embedded_scheduler_start() -> EmbeddedScheduler | None:
    """Start this process's scheduler thread, once, when the embedded default wants one.

    Called where a web server creates the application (wsgi.py, asgi.py) and by `serve`.
    A process forked from one that had a thread (gunicorn --preload) has none: the parent's
    keeps running the jobs, and the pid check lets the child start its own if it asks.
    """
    global _process_scheduler, _process_scheduler_pid
    if not embedded_scheduler_wanted():
        return None
    with _start_lock:
        current = _process_scheduler
        if current is not None and _process_scheduler_pid == os.getpid() and current.is_alive():
            return current
        scheduler = EmbeddedScheduler(lock=HostLock(default_lock_path()))
        scheduler.start()
        _process_scheduler, _process_scheduler_pid = scheduler, os.getpid()
        return scheduler

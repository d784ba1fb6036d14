"""A real Celery worker process on the test database and the Redis broker, for pipeline tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def broker_url() -> str:
    return os.environ.get("CELERY_BROKER_URL", "")


def worker_env(**extra: str) -> dict[str, str]:
    """The environment of a production worker pointed at the test database."""
    database = connection.settings_dict
    url = (
        f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}/{database['NAME']}"
    )
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "alertsite.settings.base",
            "DATABASE_URL": url,
            "CELERY_BROKER_URL": broker_url(),
            "SECRET_KEY": settings.SECRET_KEY,
            "ALERTSITE_ENCRYPTION_KEY": settings.ALERTSITE_ENCRYPTION_KEY,
            "DEBUG": "false",
            "CONN_MAX_AGE": "0",
            "PYTHONPATH": str(ROOT),
            **extra,
        }
    )
    return env


class CeleryWorker:
    """`with CeleryWorker() as worker:` runs `celery worker` until the block ends (or `kill()`)."""

    def __init__(self, name: str = "w1", concurrency: int = 1, **env: str) -> None:
        self.name = name
        self.concurrency = concurrency
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None
        self.log = Path(tempfile.mkstemp(prefix=f"celery-{name}-", suffix=".log")[1])

    def start(self, timeout: float = 60.0) -> CeleryWorker:
        handle = self.log.open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "alertsite",
                "worker",
                "--hostname",
                f"{self.name}@%h",
                "--concurrency",
                str(self.concurrency),
                "--pool",
                "prefork",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel",
                "INFO",
            ],
            cwd=ROOT,
            env=worker_env(**self.env),
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if b" ready." in self.log.read_bytes():
                return self
            if self.process.poll() is not None:
                raise RuntimeError(f"celery worker exited:\n{self.output()}")
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"celery worker not ready after {timeout}s:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-5000:]

    def kill(self) -> None:
        """SIGKILL the whole process group: the worker dies mid-task, as in a crash."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> CeleryWorker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.05, describe=None):
    """Poll `predicate` until it returns something truthy; return it, or fail after `timeout`.

    Every 50 ms: a worker test waits for what a worker does, often several times, and a coarser
    step only adds its half to each wait."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    detail = f"\n{describe()}" if describe else ""
    raise AssertionError(f"condition not met within {timeout}s{detail}")

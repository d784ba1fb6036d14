"""alertsite as deployed (gunicorn, a Celery worker and beat) on a private PostgreSQL and Redis,
with a client that retries the way api.md asks, and the counts a fault test compares.

    with Stack(database_url, broker_url, receiver) as stack:
        stack.ingest(events)            # retried on 503 and dropped connections, same ids
        stack.wait_until_delivered(n)   # every pipeline stage caught up
"""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import psycopg

from tests.faults.servers import free_port, wait_until
from tests.workers import CeleryWorker

ROOT = Path(__file__).resolve().parents[2]
USERNAME = "fault"
TOKEN = "f" * 40  # a fixed key, written into the template database once
RULE = {
    "name": "Failed logins",
    "priority": "high",
    "conditions": [
        {"event_type": "user_login_attempt", "filters": [{"key": "success", "operator": "eq", "value": False}]}
    ],
    "send_notifications": True,
}
# Sweeps every 2 s picking up what waited 3 s: the faults' lost wake-ups and stuck rows come back fast.
FAST = {
    "ALERTSITE_EVALUATION_SWEEP_INTERVAL_SECONDS": "2",
    "ALERTSITE_EVALUATION_SWEEP_AFTER_SECONDS": "3",
    "ALERTSITE_DELIVERY_SWEEP_INTERVAL_SECONDS": "2",
    "ALERTSITE_DELIVERY_TIMEOUT_SECONDS": "2",
    "ALERTSITE_WEBHOOK_ALLOW_PRIVATE": "true",
    "ALLOWED_HOSTS": "127.0.0.1",
    "CONN_MAX_AGE": "60",  # the production default: reused connections that a restart breaks
}


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def template_prepare(env: dict[str, str]) -> None:
    """Migrate once and add the user and token every test's copy starts with."""
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(
        env,
        "shell",
        "-c",
        "from django.contrib.auth import get_user_model; from rest_framework.authtoken.models import Token; "
        f"u = get_user_model().objects.create_superuser({USERNAME!r}, 'fault@example.com', 'unused-Pw-4817'); "
        f"Token.objects.create(user=u, key={TOKEN!r})",
    )


class Process:
    """A long-running child (gunicorn, beat) with its own log and process group."""

    def __init__(self, name: str, command: list[str], env: dict[str, str]) -> None:
        self.name = name
        self.log = Path(tempfile.mkstemp(prefix=f"alertsite-{name}-", suffix=".log")[1])
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def output(self) -> str:
        return f"--- {self.name}\n" + self.log.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


@dataclass
class IngestLog:
    """What the retrying client saw: 202 answers' counts and every other status or error."""

    accepted: int = 0
    duplicates: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    retry_after: set[str] = field(default_factory=set)
    bodies_503: list[Any] = field(default_factory=list)


class Stack:
    def __init__(self, database_url: str, broker_url: str, **env: str) -> None:
        self.database_url = database_url
        self.broker_url = broker_url
        self.env_extra = {**FAST, **env}
        self.port = free_port()
        self.processes: list[Process] = []
        self.workers: list[CeleryWorker] = []
        self.log = IngestLog()
        self._lock = threading.Lock()

    def env(self) -> dict[str, str]:
        from tests.workers import worker_env

        return worker_env(DATABASE_URL=self.database_url, CELERY_BROKER_URL=self.broker_url, **self.env_extra)

    # -- processes
    def start(self) -> Stack:
        env = self.env()
        gunicorn = [sys.executable, "-m", "gunicorn", "alertsite.wsgi", "-w", "2", "-b", f"127.0.0.1:{self.port}"]
        self.processes.append(Process("gunicorn", gunicorn, env))
        schedule = Path(tempfile.mkdtemp(prefix="alertsite-beat-")) / "schedule"
        beat = [sys.executable, "-m", "celery", "-A", "alertsite", "beat", "-s", str(schedule), "-l", "INFO"]
        self.processes.append(Process("beat", beat, env))
        self.worker_start("w1")
        wait_until(self._healthy, timeout=60, what=f"gunicorn not healthy:\n{self.output()}")
        return self

    def worker_start(self, name: str) -> CeleryWorker:
        worker = CeleryWorker(
            name, concurrency=2, DATABASE_URL=self.database_url, CELERY_BROKER_URL=self.broker_url, **self.env_extra
        )
        self.workers.append(worker.start())
        return worker

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()
        for process in self.processes:
            process.stop()

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def output(self) -> str:
        return "\n".join([p.output() for p in self.processes] + [w.output() for w in self.workers])

    # -- HTTP
    def request(self, method: str, path: str, body: Any = None, timeout: float = 30) -> tuple[int, dict, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            headers = {"Authorization": f"Token {TOKEN}", "Content-Type": "application/json"}
            conn.request(method, path, body=None if body is None else orjson.dumps(body), headers=headers)
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    def _healthy(self) -> bool:
        try:
            return self.request("GET", "/healthz", timeout=5)[0] == 200
        except OSError:
            return False

    def setup_rule(self, hook_url: str) -> None:
        status, _, body = self.request(
            "POST", "/api/v1/channels", {"kind": "webhook", "name": "Hook", "config": {"url": hook_url}}
        )
        assert status == 201, body
        channel = orjson.loads(body)["id"]
        status, _, body = self.request("POST", "/api/v1/rules", {**RULE, "channels": [channel]})
        assert status == 201, body

    def ingest(self, events: list[dict], *, give_up_after: float = 60) -> None:
        """POST until a 202, the same body each time: after a 503 (waiting what Retry-After says,
        at most a second here) or a dropped connection. Ids make the repeats harmless."""
        deadline = time.monotonic() + give_up_after
        while True:
            try:
                status, headers, body = self.request("POST", "/api/v1/events", events)
            except OSError:
                with self._lock:
                    self.log.errors += 1
                status, headers, body = 0, {}, b""
            with self._lock:
                self.log.statuses[status] = self.log.statuses.get(status, 0) + 1
                if status == 202:
                    answer = orjson.loads(body)
                    self.log.accepted += answer["accepted"]
                    self.log.duplicates += answer["duplicates"]
                    return
                if status == 503:
                    self.log.retry_after.add(headers.get("Retry-After", ""))
                    self.log.bodies_503.append(orjson.loads(body))
            assert status in (0, 503), f"POST /api/v1/events answered {status}: {body[:300]!r}"
            assert time.monotonic() < deadline, f"no 202 within {give_up_after}s:\n{self.output()}"
            time.sleep(min(float(headers.get("Retry-After", 0.2)), 1.0))

    # -- counts, straight from the database
    def counts(self) -> dict[str, int]:
        with psycopg.connect(self.database_url, connect_timeout=5) as conn:

            def one(query: str) -> int:
                return int(conn.execute(query).fetchone()[0])

            return {
                "stored": one("SELECT count(*) FROM events_auditevent WHERE event_type = 'user_login_attempt'"),
                "pending": one("SELECT count(*) FROM events_pendingevaluation"),
                "evaluated": one(  # by evaluations, plus a request's own events counted by their storing
                    "SELECT (SELECT coalesce(sum(evaluated), 0) FROM events_evaluationcount)"
                    " + (SELECT coalesce(sum(evaluated), 0) FROM events_ingestcount)"
                ),
                "matched": one("SELECT count(*) FROM rules_rulematch"),
                "alerted": one("SELECT count(*) FROM alerts_alert"),
                "deliveries": one("SELECT count(*) FROM channels_delivery"),
                "sent": one("SELECT count(*) FROM channels_delivery WHERE status = 'sent'"),
            }

    def wait_until_caught_up(self, n: int, receiver: Any, timeout: float = 60) -> dict[str, int]:
        """Every stage at n: stored, evaluated, matched, alerted, deliveries sent, n delivery ids received."""
        latest: dict[str, int] = {}

        def done() -> bool:
            nonlocal latest
            try:
                latest = self.counts()
            except psycopg.OperationalError:
                return False
            latest["received"] = len({r.header("X-Alertsite-Delivery") for r in receiver.requests})
            return latest["sent"] == n and latest["received"] == n and latest["pending"] == 0

        try:
            wait_until(done, timeout=timeout, what="pipeline did not catch up")
        except RuntimeError as exc:
            raise AssertionError(f"{exc}: {latest}\n{self.output()}") from None
        return latest


def every_stage_once(n: int) -> dict[str, int]:
    """What `Stack.wait_until_caught_up` answers when n events each went through every stage once."""
    return {
        "stored": n,
        "pending": 0,
        "evaluated": n,
        "matched": n,
        "alerted": n,
        "deliveries": n,
        "sent": n,
        "received": n,
    }

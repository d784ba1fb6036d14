"""Delivery benchmark: webhook throughput of real Celery workers, and latency from the API to the webhook.

Run from the repository root: `.venv/bin/python bench/delivery.py [--deliveries 2000] [--rate 50] [--seconds 20]
[--kinds webhook,slack,teams,pagerduty]`.

In one run it prints
  (a) webhook deliveries/s to a local receiver with 1 and with 2 worker processes (separate
      `celery worker --pool prefork --concurrency 1` processes), for pending rows queued one per
      task (as an alert queues them) and 50 per task (as the sweep queues them);
  (b) end-to-end latency, event accepted by `POST /api/v1/events` -> webhook received, at a
      steady rate with a rule that raises an alert and notifies a webhook channel, through
      gunicorn (2 workers) and the 2 worker processes: median, p95, and received vs sent;
  (c) with `--templates`: webhook deliveries/s with 2 worker processes, 50 per task, to a
      channel without and with a message template (`config.template.body`), the cost of
      rendering and checking the JSON of each body.
The database comes from DATABASE_URL (default postgres://postgres@127.0.0.1:5432/alertsite_bench_delivery);
it is created and migrated if needed, and the tables the bench fills are emptied first.
The broker is Redis db 10 (BENCH_BROKER_URL), flushed before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
import psycopg
import redis
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from ingest import (  # noqa: E402 - needs bench/ on the path
    database_ensure,
    free_port,
    gunicorn_start,
    gunicorn_stop,
    healthz_wait,
    manage,
    superuser_ensure,
    token_obtain,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/alertsite_bench_delivery"
BROKER_URL = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/10")
TARGET_RATE = 200.0  # deliveries/s with 2 worker processes
TARGET_P95 = 1.0  # seconds, API -> webhook
DRAIN_SECONDS = 60.0  # how long part (b) waits for the last webhooks after the last event
WARM_UP = 20  # deliveries sent before each throughput measurement (connections, imports)
CLIENT_THREADS = 8  # senders in part (b); pacing is done by one scheduler thread
CHUNK = 50
PAYLOAD_TEMPLATE: dict[str, Any] = {
    "alert": {
        "id": 0,
        "reference": "ALR-000000",
        "status": "open",
        "priority": "high",
        "title": "Failed logins: ana@example.com from 203.0.113.7",
        "event_count": 1,
        "rule": {"id": 0, "name": "bench"},
    },
    "event": {
        "id": "",
        "event_type": "user_login_attempt",
        "service": "directory",
        "timestamp": "2025-03-02T09:16:41.077Z",
        "initiated_by": {"id": "61c0ffee0000000000000a02", "type": "user", "email": "ana@example.com"},
        "client_ip": "203.0.113.7",
        "geoip": {"country_code": "US", "region_name": "Oregon", "timezone": "America/Los_Angeles"},
        "useragent": {"name": "Chrome", "os": "Mac OS X", "version": "122.0.0.0", "device": "Other"},
        "success": False,
        "error_message": "invalid credentials",
        "mfa": False,
    },
}


# -- set-up ---------------------------------------------------------------------------------------


def bench_env(database_url: str) -> dict[str, str]:
    """A production deployment on the bench database: Redis broker, private destinations allowed (loopback)."""
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": database_url,
            "DJANGO_SETTINGS_MODULE": "alertsite.settings.base",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "DEBUG": "false",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "CELERY_BROKER_URL": BROKER_URL,
            "ALERTSITE_WEBHOOK_ALLOW_PRIVATE": "true",
            "ALERTSITE_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


def tables_empty(database_url: str) -> None:
    """Empty what the bench fills; CASCADE takes matches, alerts, deliveries and attempts along."""
    with psycopg.connect(database_url) as conn:
        conn.execute("TRUNCATE events_auditevent, rules_rule, channels_channel RESTART IDENTITY CASCADE")


class Workers:
    """`celery worker` processes on the bench environment; each in its own session so it stops as a group."""

    def __init__(self, env: dict[str, str], concurrencies: list[int], tag: str) -> None:
        self.env = env
        self.concurrencies = concurrencies
        self.tag = tag
        self.processes: list[subprocess.Popen[bytes]] = []
        self.logs: list[Path] = []

    def start(self, timeout: float = 60.0) -> Workers:
        binary = ROOT / ".venv" / "bin" / "celery"
        command = [str(binary)] if binary.exists() else [sys.executable, "-m", "celery"]
        for index, concurrency in enumerate(self.concurrencies, start=1):
            log = Path(tempfile.gettempdir()) / f"alertsite-bench-celery-{self.tag}-{index}.log"
            with log.open("wb") as handle:
                process = subprocess.Popen(
                    [
                        *command,
                        "-A",
                        "alertsite",
                        "worker",
                        "--hostname",
                        f"bench-{self.tag}-{index}@%h",
                        "--concurrency",
                        str(concurrency),
                        "--pool",
                        "prefork",
                        "--without-gossip",
                        "--without-mingle",
                        "--without-heartbeat",
                        "--loglevel",
                        "INFO",
                    ],
                    cwd=ROOT,
                    env=self.env,
                    stdout=handle,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            self.processes.append(process)
            self.logs.append(log)
        deadline = time.monotonic() + timeout
        for process, log in zip(self.processes, self.logs, strict=True):
            while b" ready." not in log.read_bytes():
                if process.poll() is not None:
                    raise SystemExit(f"celery worker exited with {process.returncode}:\n{log.read_text()[-3000:]}")
                if time.monotonic() > deadline:
                    raise SystemExit(f"celery worker not ready after {timeout:.0f}s:\n{log.read_text()[-3000:]}")
                time.sleep(0.2)
        return self

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)  # warm shutdown of the parent and its children
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def describe(self) -> str:
        count = len(self.concurrencies)
        each = ", ".join(str(c) for c in self.concurrencies)
        noun = "process" if count == 1 else "processes"
        return f"{count} worker {noun} (prefork, concurrency {each})"

    def __enter__(self) -> Workers:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()


# -- the webhook receiver -------------------------------------------------------------------------

RESPONSE = (
    b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\nConnection: close\r\n\r\n{"ok":true}'
)


@dataclass
class Arrival:
    at: float  # time.perf_counter() when the whole request was in
    delivery_id: str
    event_id: str


class Receiver:
    """A small asyncio HTTP/1.1 server in a thread: answers 200 at once and records every arrival.

    Arrivals are timed with the bench process's own perf_counter, so they compare directly with
    the send times of part (b).
    """

    def __init__(self) -> None:
        self.arrivals: list[Arrival] = []
        self.seen: set[str] = set()
        self.condition = threading.Condition()
        self.loop = asyncio.new_event_loop()
        self.port = 0
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="receiver", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> Receiver:
        self._thread.start()
        self._ready.wait(10)
        return self

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0, backlog=1024))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self.loop.run_forever()
        server.close()
        self.loop.run_until_complete(server.wait_closed())

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            headers = {}
            for line in head.decode("latin-1").split("\r\n")[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length") or 0))
            arrived = time.perf_counter()
            writer.write(RESPONSE)
            await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError):
            writer.close()
            return
        writer.close()
        try:
            event_id = str((orjson.loads(body).get("event") or {}).get("id", ""))
        except orjson.JSONDecodeError:
            event_id = ""
        self._record(Arrival(arrived, headers.get("x-alertsite-delivery", ""), event_id))

    def _record(self, arrival: Arrival) -> None:
        with self.condition:
            if arrival.delivery_id not in self.seen:  # a retried delivery arrives with the same id
                self.seen.add(arrival.delivery_id)
                self.arrivals.append(arrival)
            self.condition.notify_all()

    def reset(self) -> None:
        with self.condition:
            self.arrivals = []
            self.seen = set()

    def wait_for(self, count: int, timeout: float, *, progress: Callable[[], str] | None = None) -> bool:
        deadline = time.monotonic() + timeout
        with self.condition:
            while len(self.arrivals) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    if progress:
                        print(f"    timed out with {len(self.arrivals):,} of {count:,}: {progress()}")
                    return False
                self.condition.wait(min(left, 1.0))
        return True

    def stop(self) -> None:
        if self.loop.is_running():
            self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)


# -- (a) throughput -------------------------------------------------------------------------------


def django_setup(env: dict[str, str]) -> None:
    """Use the bench settings in this process too: it inserts rows and queues tasks like a web worker."""
    for key in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "SECRET_KEY", "DEBUG", "ALLOWED_HOSTS"):
        os.environ[key] = env[key]
    for key in ("CELERY_BROKER_URL", "ALERTSITE_WEBHOOK_ALLOW_PRIVATE", "ALERTSITE_ENCRYPTION_KEY"):
        os.environ[key] = env[key]
    import django

    django.setup()


def deliveries_insert(channel_id: int, tag: str, count: int) -> list[int]:
    """`count` pending alert.created rows for the channel, each with its own event id; return their pks."""
    from channels.models import Delivery, NotificationKind

    rows = []
    for n in range(count):
        payload = {
            "alert": {**PAYLOAD_TEMPLATE["alert"], "id": n + 1, "reference": f"ALR-{n + 1:06d}"},
            "event": {**PAYLOAD_TEMPLATE["event"], "id": f"{tag}-{n}"},
        }
        rows.append(
            Delivery(channel_id=channel_id, kind=NotificationKind.ALERT_CREATED, source=f"{tag}:{n}", payload=payload)
        )
    created = Delivery.objects.bulk_create(rows, batch_size=1000)
    return [row.pk for row in created]


def deliveries_queue(pks: list[int], chunk: int) -> None:
    from channels.tasks import deliver_task

    for start in range(0, len(pks), chunk):
        deliver_task.delay(pks[start : start + chunk])


def statuses_of(pks: list[int]) -> dict[str, int]:
    from django.db.models import Count

    from channels.models import Delivery

    rows = Delivery.objects.filter(pk__in=pks).values("status").annotate(n=Count("pk")).order_by("status")
    return {row["status"]: row["n"] for row in rows}


@dataclass
class Throughput:
    rate: float
    seconds: float
    received: int
    statuses: dict[str, int]


def throughput_run(receiver: Receiver, channel_id: int, tag: str, count: int, chunk: int) -> Throughput:
    """Queue `count` pending deliveries `chunk` per task; time from the first enqueue to the last arrival."""
    pks = deliveries_insert(channel_id, tag, count)
    receiver.reset()
    started = time.perf_counter()
    deliveries_queue(pks, chunk)
    receiver.wait_for(count, timeout=max(120.0, count / 5), progress=lambda: str(statuses_of(pks)))
    arrivals = receiver.arrivals
    finished = max((a.at for a in arrivals), default=time.perf_counter())
    elapsed = finished - started
    time.sleep(0.5)  # let the last attempts commit before reading the rows
    return Throughput(
        rate=len(arrivals) / elapsed if elapsed > 0 else 0.0,
        seconds=elapsed,
        received=len(arrivals),
        statuses=statuses_of(pks),
    )


def bench_throughput(env: dict[str, str], receiver: Receiver, channel_id: int, count: int) -> dict[str, float]:
    layouts = {"1 process": [1], "2 processes": [1, 1]}
    results: dict[str, float] = {}
    for label, concurrencies in layouts.items():
        with Workers(env, concurrencies, tag=label.split()[0]) as workers:
            warm = throughput_run(receiver, channel_id, f"warm-{label[0]}", WARM_UP * len(concurrencies), 1)
            if warm.received < WARM_UP * len(concurrencies):
                raise SystemExit(f"warm-up deliveries did not arrive: {warm.statuses}")
            for chunk in (1, CHUNK):
                result = throughput_run(receiver, channel_id, f"run-{label[0]}-{chunk}", count, chunk)
                per_task = "1 delivery per task" if chunk == 1 else f"{chunk} deliveries per task"
                print(
                    f"(a) {workers.describe()}, {per_task}: {result.rate:,.0f} deliveries/s "
                    f"({result.received:,}/{count:,} received in {result.seconds:.2f} s; rows {result.statuses})"
                )
                results[f"{label}/{chunk}"] = result.rate
    return results


TEMPLATE_BODY = (
    '{"text": {{ alert.title|json }}, "reference": {{ alert.reference|json }}, "priority": {{ alert.priority|json }},\n'
    ' "who": {{ event.initiated_by.email|json }}, "where": {{ event.client_ip|json }}, "link": {{ alert.url|json }}}'
)


def bench_templates(env: dict[str, str], receiver: Receiver, plain_id: int, templated_id: int, count: int) -> None:
    """(c) the same run to a channel without and with a body template."""
    with Workers(env, [1, 1], tag="t") as workers:
        throughput_run(receiver, plain_id, "warm-t", WARM_UP * 2, 1)
        rates = {}
        for label, channel_id in (("without a template", plain_id), ("with a body template", templated_id)):
            result = throughput_run(receiver, channel_id, f"tpl-{channel_id}", count, CHUNK)
            rates[label] = result.rate
            print(
                f"(c) {workers.describe()}, {CHUNK} deliveries per task, {label}: {result.rate:,.0f} deliveries/s "
                f"({result.received:,}/{count:,} received in {result.seconds:.2f} s; rows {result.statuses})"
            )
        plain, templated = rates.values()
        if plain:
            print(f"    templates cost {100 * (plain - templated) / plain:.0f}% of the throughput")


# -- (b) end-to-end latency -----------------------------------------------------------------------


def api_call(port: int, token: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
    conn.request(method, path, body=orjson.dumps(body) if body is not None else None, headers=headers)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, orjson.loads(data) if data else None


def login_event(event_id: str) -> bytes:
    event = {
        **PAYLOAD_TEMPLATE["event"],
        "id": event_id,
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }
    return orjson.dumps([event])


@dataclass
class Sent:
    sent_at: float
    accepted_at: float | None = None
    error: str = ""


@dataclass
class Latency:
    sent: dict[str, Sent] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def post_event(port: int, token: str, event_id: str, record: Latency) -> None:
    body = login_event(event_id)
    sent = Sent(time.perf_counter())
    with record.lock:
        record.sent[event_id] = sent
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request(
            "POST",
            "/api/v1/events",
            body=body,
            headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
        )
        response = conn.getresponse()
        data = response.read()
        conn.close()
    except OSError as exc:
        sent.error = f"{exc.__class__.__name__}: {exc}"
        return
    if response.status != 202:
        sent.error = f"{response.status}: {data[:200]!r}"
        return
    sent.accepted_at = time.perf_counter()


def paced_send(port: int, token: str, prefix: str, rate: float, seconds: float) -> tuple[Latency, float]:
    """One event per request at `rate` per second on a fixed schedule (late sends go at once, never skipped)."""
    record = Latency()
    total = int(rate * seconds)
    with ThreadPoolExecutor(CLIENT_THREADS, thread_name_prefix="sender") as pool:
        started = time.perf_counter()
        for n in range(total):
            due = started + n / rate
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            pool.submit(post_event, port, token, f"{prefix}-{n}", record)
    return record, time.perf_counter() - started


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def arrivals_by_event(arrivals: list[Arrival], database_url: str) -> dict[str, float]:
    """Arrival time by event id. A webhook's body names its event; a Slack, Teams or PagerDuty
    message does not, so those are matched through their X-Alertsite-Delivery id in the database."""
    found = {a.event_id: a.at for a in arrivals if a.event_id}
    unnamed = {a.delivery_id: a.at for a in arrivals if not a.event_id and a.delivery_id}
    if unnamed:
        with psycopg.connect(database_url) as conn:
            rows = conn.execute(
                "SELECT d.uuid::text, e.event_id FROM channels_delivery d JOIN alerts_alert a ON a.id = d.alert_id "
                "JOIN events_auditevent e ON e.id = a.event_id WHERE d.uuid::text = ANY(%s)",
                [list(unnamed)],
            ).fetchall()
        found.update({event_id: unnamed[uuid] for uuid, event_id in rows})
    return found


def kind_config(kind: str, url: str) -> dict[str, Any]:
    """A channel of `kind` whose requests go to the local receiver (it answers 200 to all)."""
    if kind == "webhook":
        return {"url": url}
    if kind == "pagerduty":  # the receiver stands in for the Events API (any 2xx is sent)
        return {"routing_key": "B3NCHKEY0123456789abcdefABCDEF01", "events_url": url}
    return {"webhook_url": url}


def bench_latency(
    env: dict[str, str], receiver: Receiver, database_url: str, rate: float, seconds: float, kind: str = "webhook"
) -> tuple[float, int, int]:
    password = secrets.token_urlsafe(24)
    superuser_ensure(env, password)
    port = free_port()
    log_path = Path(tempfile.gettempdir()) / f"alertsite-bench-delivery-gunicorn-{port}.log"
    server = gunicorn_start(env, port, log_path)
    workers = Workers(env, [1, 1], tag="e2e")
    try:
        healthz_wait(server, port, log_path)
        workers.start()
        token = token_obtain(env, port, password)
        status, channel = api_call(
            port,
            token,
            "POST",
            "/api/v1/channels",
            {"kind": kind, "name": f"bench e2e {kind}", "config": kind_config(kind, receiver.url)},
        )
        if status != 201:
            raise SystemExit(f"POST /api/v1/channels answered {status}: {channel}")
        rule_body = {
            "name": "bench",
            "conditions": [{"event_type": "user_login_attempt"}],
            "send_notifications": True,
            "channels": [channel["id"]],
            "generate_alerts": True,
        }
        status, rule = api_call(port, token, "POST", "/api/v1/rules", rule_body)
        if status != 201:
            raise SystemExit(f"POST /api/v1/rules answered {status}: {rule}")

        # Warm-up: each gunicorn worker and worker child opens its connections and loads the rule engine.
        receiver.reset()
        warm, _ = paced_send(port, token, "warm", rate=10, seconds=1)
        receiver.wait_for(len(warm.sent), timeout=60, progress=lambda: "warm-up")
        receiver.reset()

        record, elapsed = paced_send(port, token, "e2e", rate, seconds)
        sent = len(record.sent)
        accepted = {event_id: s for event_id, s in record.sent.items() if s.accepted_at is not None}
        receiver.wait_for(len(accepted), timeout=DRAIN_SECONDS, progress=lambda: "deliveries still missing")
        arrivals = arrivals_by_event(receiver.arrivals, database_url)
    finally:
        workers.stop()
        gunicorn_stop(server)
    errors = [s.error for s in record.sent.values() if s.error]
    if errors:
        print(f"    {len(errors)} requests failed, first: {errors[0]}")
    from_accepted = [arrivals[i] - s.accepted_at for i, s in accepted.items() if i in arrivals]
    from_sent = [arrivals[i] - s.sent_at for i, s in accepted.items() if i in arrivals]
    api_times = [s.accepted_at - s.sent_at for s in accepted.values()]
    received = len(from_accepted)
    print(
        f"(b) {sent:,} events sent in {elapsed:.1f} s ({sent / elapsed:.1f}/s, one per request), "
        f"{len(accepted):,} accepted, {received:,} webhooks received; gunicorn -w 2, {workers.describe()}"
    )
    if not from_accepted:
        return float("inf"), received, sent
    p95 = percentile(from_accepted, 0.95)
    print(
        f"    accepted -> webhook: median {statistics.median(from_accepted) * 1000:,.0f} ms, "
        f"p95 {p95 * 1000:,.0f} ms, max {max(from_accepted) * 1000:,.0f} ms"
    )
    print(
        f"    sent -> webhook: median {statistics.median(from_sent) * 1000:,.0f} ms, "
        f"p95 {percentile(from_sent, 0.95) * 1000:,.0f} ms; "
        f"API answer: median {statistics.median(api_times) * 1000:,.0f} ms, p95 {percentile(api_times, 0.95) * 1000:,.0f} ms"
    )
    stages_print(database_url)
    return p95, received, sent


STAGES_SQL = """
WITH e2e AS (
    SELECT e.received_at, a.created_at AS alerted, m.matched_at AS evaluated_at, d.claimed_at, d.last_attempt_at
    FROM channels_delivery d
    JOIN alerts_alert a ON a.id = d.alert_id
    JOIN events_auditevent e ON e.id = a.event_id
    JOIN rules_rulematch m ON m.event_id = e.id AND m.rule_id = a.rule_id
    WHERE e.event_id LIKE 'e2e-%' AND d.status = 'sent'
), spans AS (
    SELECT 'queued for evaluation' AS stage, 1 AS n, evaluated_at - received_at AS span FROM e2e
    UNION ALL SELECT 'evaluating (match to alert)', 2, alerted - evaluated_at FROM e2e
    UNION ALL SELECT 'queued for delivery', 3, claimed_at - alerted FROM e2e
    UNION ALL SELECT 'sending (claim to recorded)', 4, last_attempt_at - claimed_at FROM e2e
)
SELECT stage,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM span)) * 1000,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM span)) * 1000
FROM spans GROUP BY stage, n ORDER BY n
"""


def stages_print(database_url: str) -> None:
    """Where the time went, from the rows' own timestamps (the workers' and the database's clocks agree here)."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(STAGES_SQL).fetchall()
    if rows:
        text = "; ".join(f"{stage} {median:,.0f}/{p95:,.0f}" for stage, median, p95 in rows)
        print(f"    stages, median/p95 ms: {text}")


# -- main -----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=2000, help="Deliveries per throughput run (default 2000).")
    parser.add_argument("--rate", type=float, default=50.0, help="Events/s in part (b) (default 50).")
    parser.add_argument("--seconds", type=float, default=20.0, help="Duration of part (b) (default 20).")
    parser.add_argument("--skip-throughput", action="store_true", help="Run part (b) only.")
    parser.add_argument(
        "--kinds",
        default="webhook",
        help="Channel kinds whose throughput part (a) measures, comma-separated: webhook, slack, teams, pagerduty "
        "(default webhook; the local receiver stands in for each, the rows render as that kind's message).",
    )
    parser.add_argument("--skip-latency", action="store_true", help="Run part (a) only.")
    parser.add_argument(
        "--latency-kind",
        default="webhook",
        help="Channel kind of part (b): webhook (default), slack, teams or pagerduty (the local receiver stands in).",
    )
    parser.add_argument("--templates", action="store_true", help="Also run part (c): templates off and on.")
    parser.add_argument("--fresh", action="store_true", help="Drop and recreate the bench database first.")
    args = parser.parse_args()

    database_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    env = bench_env(database_url)
    version = database_ensure(database_url, fresh=args.fresh)
    manage(env, "migrate", "--noinput", "-v", "0")
    tables_empty(database_url)
    location = urlsplit(database_url)
    print(f"PostgreSQL {version} at {location.hostname}:{location.port or 5432}{location.path}; broker {BROKER_URL}")
    broker = redis.Redis.from_url(BROKER_URL)
    broker.flushdb()
    django_setup(env)
    from channels.services import channel_create

    receiver = Receiver().start()
    failed = False
    try:
        for kind in [] if args.skip_throughput else [k.strip() for k in args.kinds.split(",") if k.strip()]:
            config = kind_config(kind, receiver.url)
            channel = channel_create(
                data={"kind": kind, "name": f"bench throughput {kind}", "config": config}, actor=None
            )
            print(f"(a) kind {kind}")
            rates = bench_throughput(env, receiver, channel.pk, args.deliveries)
            best = max(rate for key, rate in rates.items() if key.startswith("2 processes"))
            verdict = "meets" if best >= TARGET_RATE else "below"
            print(f"    {kind}, 2 processes: best {best:,.0f} deliveries/s ({verdict} the {TARGET_RATE:.0f}/s target)")
            failed |= best < TARGET_RATE
        if args.templates:
            plain = channel_create(
                data={"kind": "webhook", "name": "bench plain", "config": {"url": receiver.url}}, actor=None
            )
            templated = channel_create(
                data={
                    "kind": "webhook",
                    "name": "bench templated",
                    "config": {"url": receiver.url, "template": {"body": TEMPLATE_BODY}},
                },
                actor=None,
            )
            bench_templates(env, receiver, plain.pk, templated.pk, args.deliveries)
        if not args.skip_latency:
            print(f"(b) kind {args.latency_kind}")
            p95, received, sent = bench_latency(
                env, receiver, database_url, args.rate, args.seconds, kind=args.latency_kind
            )
            verdict = "meets" if p95 < TARGET_P95 and received == sent else "misses"
            print(f"    {verdict} the target: p95 under {TARGET_P95:.0f} s with every event delivered")
            failed |= verdict == "misses"
    finally:
        receiver.stop()
        broker.flushdb()
    if failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()

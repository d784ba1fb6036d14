"""Ingestion benchmark: POST /api/v1/events over real HTTP against raw PostgreSQL COPY.

Run from the repository root: `.venv/bin/python bench/ingest.py [--events 50000] [--batch-size 1000]`.

In one run it prints
  (a) rows/s of a bare `COPY` of simulated events into a minimal table (the ceiling),
  (b) events/s accepted by `POST /api/v1/events` through gunicorn (2 workers, 2 client threads),
  (c) the ratio of the two against the 25% target,
and checks how many rows the API stored. The database comes from DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/alertsite_bench); it is created and migrated if needed,
and its events table is emptied before the API run.
"""

from __future__ import annotations

import argparse
import http.client
import os
import queue
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from base64 import b64encode
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson
import psycopg
import redis
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from alertsite.demo.simulator import EventSimulator  # noqa: E402 - needs ROOT on the path

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/alertsite_bench"
TARGET_PERCENT = 25.0
CLIENT_THREADS = 2
SERVER_WORKERS = 2
BENCH_USER = "bench"
COPY_TABLE = "bench_copy_event"
BROKER_URL = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/14")


# -- set-up ---------------------------------------------------------------------------------------


def server_env(database_url: str, broker_url: str = BROKER_URL) -> dict[str, str]:
    """The environment of a production deployment on this database, with Redis as the broker.

    Evaluation is queued on the broker (one task per batch) as in production; no worker
    runs during the bench, so the figure is ingestion alone. The queue is emptied after.
    """
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": database_url,
            "DJANGO_SETTINGS_MODULE": "alertsite.settings.base",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "DEBUG": "false",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "CELERY_BROKER_URL": broker_url,
        }
    )
    env.setdefault("ALERTSITE_ENCRYPTION_KEY", b64encode(secrets.token_bytes(32)).decode())
    return env


def database_ensure(database_url: str, *, fresh: bool = False) -> str:
    """Create the bench database when it is missing (first dropping it if `fresh`); return the server version."""
    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    maintenance = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as conn:
        if fresh:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"created database {name}")
        return str(conn.execute("SHOW server_version").fetchone()[0])


def manage(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run `manage.py` with the bench environment; on failure show what it said."""
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if check and result.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def superuser_ensure(env: dict[str, str], password: str) -> None:
    """Create the bench superuser, or give an existing one this run's password."""
    result = manage(
        {
            **env,
            "DJANGO_SUPERUSER_USERNAME": BENCH_USER,
            "DJANGO_SUPERUSER_PASSWORD": password,
            "DJANGO_SUPERUSER_EMAIL": "bench@example.com",
        },
        "createsuperuser",
        "--noinput",
        check=False,
    )
    if result.returncode == 0:
        return
    if "already taken" not in result.stderr:
        raise SystemExit(f"createsuperuser failed:\n{result.stderr}")
    reset = (
        "import os; from django.contrib.auth import get_user_model; "
        f"u = get_user_model().objects.get(username={BENCH_USER!r}); "
        "u.set_password(os.environ['BENCH_PASSWORD']); u.is_active = True; u.is_superuser = True; u.save()"
    )
    manage({**env, "BENCH_PASSWORD": password}, "shell", "-c", reset)


def token_obtain(env: dict[str, str], port: int, password: str) -> str:
    """Log in through the API; fall back to `drf_create_token` if the endpoint is not there."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    body = orjson.dumps({"username": BENCH_USER, "password": password})
    conn.request("POST", "/api/v1/auth/token", body=body, headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    data = response.read()
    conn.close()
    if response.status == 200:
        return str(orjson.loads(data)["token"])
    print(f"POST /api/v1/auth/token answered {response.status}; using manage.py drf_create_token")
    output = manage(env, "drf_create_token", BENCH_USER).stdout
    return output.split("Generated token ", 1)[1].split()[0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def gunicorn_start(env: dict[str, str], port: int, log_path: Path) -> subprocess.Popen[bytes]:
    binary = ROOT / ".venv" / "bin" / "gunicorn"
    command = str(binary) if binary.exists() else (shutil.which("gunicorn") or "gunicorn")
    with log_path.open("wb") as log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [command, "alertsite.wsgi", "-w", str(SERVER_WORKERS), "-b", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def healthz_wait(server: subprocess.Popen[bytes], port: int, log_path: Path, timeout: float = 60.0) -> None:
    """Wait until /healthz answers 200; fail early if gunicorn dies."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with {server.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/healthz")
            status = conn.getresponse().status
            conn.close()
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"gunicorn did not become healthy in {timeout:.0f}s:\n{log_path.read_text()[-3000:]}")


def gunicorn_stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.terminate()  # SIGTERM: the master shuts its workers down gracefully
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


# -- measurements ---------------------------------------------------------------------------------


def bench_copy(database_url: str, events: list[dict[str, Any]]) -> float:
    """COPY the events into a bare table (PK + one index); return rows/s."""
    rows = [(e["id"], e["event_type"], e["timestamp"], orjson.dumps(e).decode()) for e in events]
    with psycopg.connect(database_url) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {COPY_TABLE}")
        conn.execute(
            f"CREATE TABLE {COPY_TABLE} (event_id text PRIMARY KEY, event_type text NOT NULL, "
            "timestamp timestamptz NOT NULL, payload jsonb NOT NULL)"
        )
        conn.execute(f"CREATE INDEX {COPY_TABLE}_type_time ON {COPY_TABLE} (event_type, timestamp)")
        conn.commit()
        started = time.perf_counter()
        with conn.cursor() as cursor:
            with cursor.copy(f"COPY {COPY_TABLE} (event_id, event_type, timestamp, payload) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        conn.commit()
        elapsed = time.perf_counter() - started
        stored = conn.execute(f"SELECT count(*) FROM {COPY_TABLE}").fetchone()[0]
        conn.execute(f"DROP TABLE {COPY_TABLE}")
        conn.commit()
    if stored != len(rows):
        raise SystemExit(f"COPY stored {stored} rows of {len(rows)}")
    return len(rows) / elapsed


@dataclass
class ClientResult:
    accepted: int = 0
    duplicates: int = 0
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def client_run(port: int, token: str, bodies: queue.SimpleQueue[bytes], start: threading.Barrier) -> ClientResult:
    """POST bodies until the queue is empty, on one keep-alive connection (reopened if the server closes it)."""
    result = ClientResult()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Content-Type": "application/json", "Authorization": f"Token {token}"}
    start.wait()
    while True:
        try:
            body = bodies.get_nowait()
        except queue.Empty:
            break
        sent = time.perf_counter()
        conn.request("POST", "/api/v1/events", body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
        result.latencies.append(time.perf_counter() - sent)
        if response.status != 202:
            result.errors.append(f"{response.status}: {data[:300]!r}")
            continue
        answer = orjson.loads(data)
        result.accepted += answer["accepted"]
        result.duplicates += answer["duplicates"]
    conn.close()
    return result


def bench_api(port: int, token: str, bodies: list[bytes]) -> tuple[float, ClientResult]:
    """POST the pre-encoded bodies from CLIENT_THREADS threads; return events/s accepted and the totals."""
    work: queue.SimpleQueue[bytes] = queue.SimpleQueue()
    for body in bodies:
        work.put(body)
    start = threading.Barrier(CLIENT_THREADS + 1)
    results: list[ClientResult] = []

    def run() -> None:
        results.append(client_run(port, token, work, start))

    threads = [threading.Thread(target=run, name=f"client-{i}") for i in range(CLIENT_THREADS)]
    for thread in threads:
        thread.start()
    start.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    total = ClientResult()
    for result in results:
        total.accepted += result.accepted
        total.duplicates += result.duplicates
        total.latencies += result.latencies
        total.errors += result.errors
    return total.accepted / elapsed, total


def warm_up(port: int, token: str) -> None:
    """Let each worker open its database connection before the clock starts."""
    for _ in range(SERVER_WORKERS * 3):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", "/api/v1/event-types", headers={"Authorization": f"Token {token}"})
        conn.getresponse().read()
        conn.close()


def api_measure(
    env: dict[str, str], database_url: str, bodies: list[bytes], broker_url: str = BROKER_URL
) -> tuple[float, ClientResult]:
    """The whole API part: a `bench` superuser, an empty `events_auditevent`, gunicorn started,
    a token, a warm-up, the timed POSTs of `bodies`, gunicorn stopped and the broker flushed."""
    password = secrets.token_urlsafe(24)
    superuser_ensure(env, password)
    with psycopg.connect(database_url) as conn:
        conn.execute("TRUNCATE events_auditevent RESTART IDENTITY CASCADE")

    port = free_port()
    log_path = Path(tempfile.gettempdir()) / f"alertsite-bench-gunicorn-{port}.log"
    server = gunicorn_start(env, port, log_path)
    try:
        healthz_wait(server, port, log_path)
        token = token_obtain(env, port, password)
        warm_up(port, token)
        return bench_api(port, token, bodies)
    finally:
        gunicorn_stop(server)
        redis.Redis.from_url(broker_url).flushdb()


def api_describe(api_rate: float, totals: ClientResult, batch_size: int) -> str:
    """One line about the API run (and a line about failed requests before it, if any)."""
    failed = f"{len(totals.errors)} requests failed, first: {totals.errors[0]}\n    " if totals.errors else ""
    latencies = sorted(totals.latencies) or [0.0]
    return (
        f"{failed}POST /api/v1/events, batches of {batch_size:,}, {CLIENT_THREADS} client threads, "
        f"gunicorn -w {SERVER_WORKERS}: {api_rate:,.0f} events/s accepted "
        f"({totals.accepted:,} accepted, {totals.duplicates:,} duplicates, {len(totals.latencies)} requests, "
        f"p50 {statistics.median(latencies) * 1000:,.0f} ms, max {latencies[-1] * 1000:,.0f} ms)"
    )


# -- main -----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=50_000, help="Events for each part (default 50000).")
    parser.add_argument("--batch-size", type=int, default=1000, help="Events per API request (default 1000).")
    parser.add_argument(
        "--fresh", action="store_true", help="Drop and recreate the bench database first (after migrations changed)."
    )
    args = parser.parse_args()
    if args.events < 1 or not 1 <= args.batch_size <= 1000:
        parser.error("--events must be positive and --batch-size between 1 and 1000 (the API limit).")

    database_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    env = server_env(database_url)
    version = database_ensure(database_url, fresh=args.fresh)
    manage(env, "migrate", "--noinput", "-v", "0")
    location = urlsplit(database_url)
    print(f"PostgreSQL {version} at {location.hostname}:{location.port or 5432}{location.path}")

    # Both parts get different events from one simulator, so every id is new.
    simulator = EventSimulator(seed=1)
    events = list(simulator.events(2 * args.events, start=datetime.now(UTC), rate_per_second=500))
    copy_events, api_events = events[: args.events], events[args.events :]
    sizes = [len(orjson.dumps(event)) for event in events]
    print(f"events: {args.events:,} a part from EventSimulator(seed=1), mean {statistics.mean(sizes):,.0f} bytes JSON")

    copy_rate = bench_copy(database_url, copy_events)
    print(f"(a) COPY into a bare table (PK + index on event_type, timestamp): {copy_rate:,.0f} rows/s")

    bodies = [orjson.dumps(api_events[i : i + args.batch_size]) for i in range(0, len(api_events), args.batch_size)]
    api_rate, totals = api_measure(env, database_url, bodies)
    print(f"(b) {api_describe(api_rate, totals, args.batch_size)}")
    percent = 100 * api_rate / copy_rate
    verdict = "meets" if percent >= TARGET_PERCENT else "below"
    print(f"(c) API / COPY = {percent:.1f}% ({verdict} the {TARGET_PERCENT:.0f}% target)")

    with psycopg.connect(database_url) as conn:
        # The bench's own sign-in is an event too (alertsite_login_attempt): count the POSTed ones.
        stored = conn.execute(
            "SELECT count(*) FROM events_auditevent WHERE event_type <> 'alertsite_login_attempt'"
        ).fetchone()[0]
    print(f"check: events_auditevent holds {stored:,} posted events (expected {len(api_events):,})")
    if stored != len(api_events) or totals.errors:
        raise SystemExit(1)


if __name__ == "__main__":
    main()

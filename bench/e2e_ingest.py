"""Sustained ingest + evaluate: events/s from the first POST until evaluation has caught up.

Run from the repository root: `.venv/bin/python bench/e2e_ingest.py [--events 50000] [--rules 100]`.

In one run, on PostgreSQL + Redis with gunicorn (-w 2) and a real Celery worker (-c 2):
  (a) rows/s of a bare COPY of the simulated events (bench/ingest.py's ceiling),
  (b) `measure_sustained`: N other simulated events POSTed in batches of 1,000 from 2 threads
      against R enabled rules (about 8% of the events match, each raising an alert), timed
      from the first POST until `GET /api/v1/events/evaluation` answers pending 0,
  (c) the ratio of the two.

`measure_sustained(events, rules, base_url, token)` is the reusable part (bench/e2e.py calls
it against servers it started itself): it needs a running API and worker, and an admin token.
The database comes from DATABASE_URL (default postgres://postgres@127.0.0.1:5432/alertsite_bench_e2e)
and is recreated each run; the broker is BENCH_BROKER_URL (default redis://127.0.0.1:6379/14),
flushed before and after. BENCH_ROOT runs the servers from another checkout (a baseline).
"""

from __future__ import annotations

import argparse
import http.client
import os
import queue
import random
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
import redis

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ingest as ingest_bench

from alertsite.demo.simulator import EventSimulator

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/alertsite_bench_e2e"
MATCH_SHARE = 0.08  # of the events, matched by some rule
BATCH = 1000
CLIENT_THREADS = 2
WORKER_CONCURRENCY = 2


# -- the reusable part ----------------------------------------------------------------------------


def _value_at(event: dict[str, Any], dotted: str) -> Any:
    value: Any = event
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def rules_for(events: list[dict[str, Any]], count: int, *, seed: int = 7) -> list[dict[str, Any]]:
    """`count` rule bodies of one `eq` filter each, picked so that about MATCH_SHARE of the
    events match one of them; the rest match nothing (they still cost the engine a look)."""
    rng = random.Random(seed)
    seen: Counter[tuple[str, str, str]] = Counter()
    for event in events:
        for key in ("initiated_by.email", "geoip.country_code", "initiated_by.username"):
            value = _value_at(event, key)
            if isinstance(value, str) and value:
                seen[(event["event_type"], key, value)] += 1
    candidates = list(seen.items())
    rng.shuffle(candidates)
    budget, chosen = MATCH_SHARE * len(events), []
    for (event_type, key, value), hits in candidates:
        if len(chosen) >= count:
            break
        if hits <= budget:
            chosen.append((event_type, key, value))
            budget -= hits  # an upper bound: an event may match two rules
    while len(chosen) < count:
        chosen.append(("user_login_attempt", "initiated_by.email", f"nobody{len(chosen)}@example.invalid"))
    return [
        {
            "name": f"bench e2e {n:03d} {event_type}",
            "priority": ("low", "medium", "high")[n % 3],
            "conditions": [{"event_type": event_type, "filters": [{"key": key, "operator": "eq", "value": value}]}],
        }
        for n, (event_type, key, value) in enumerate(chosen)
    ]


def _request(base_url: str, token: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=120)
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
    conn.request(method, path, body=None if body is None else orjson.dumps(body), headers=headers)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, (orjson.loads(data) if data else None)


def evaluation_progress(base_url: str, token: str) -> dict[str, Any]:
    status, body = _request(base_url, token, "GET", "/api/v1/events/evaluation")
    if status != 200:
        raise RuntimeError(f"GET /api/v1/events/evaluation answered {status}: {body}")
    return dict(body)


def _post_all(base_url: str, token: str, bodies: list[bytes]) -> list[str]:
    """POST the bodies from CLIENT_THREADS threads on keep-alive connections; answer the errors."""
    work: queue.SimpleQueue[bytes] = queue.SimpleQueue()
    for body in bodies:
        work.put(body)
    errors: list[str] = []
    parts = urlsplit(base_url)
    headers = {"Content-Type": "application/json", "Authorization": f"Token {token}"}

    def run() -> None:
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=120)
        while True:
            try:
                body = work.get_nowait()
            except queue.Empty:
                break
            conn.request("POST", "/api/v1/events", body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            if response.status != 202:
                errors.append(f"{response.status}: {data[:300]!r}")
        conn.close()

    threads = [threading.Thread(target=run) for _ in range(CLIENT_THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def measure_sustained(
    events: int,
    rules: int,
    base_url: str,
    token: str,
    *,
    timeout: float = 1800.0,
    seed: int = 2,
    progress_probe: Callable[[], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Create `rules` enabled rules, POST `events` simulated events, wait until none is pending.

    Needs the API at `base_url`, a worker consuming its broker, and an admin `token`. Event ids
    are fresh each call (a run prefix), so calls may repeat against one database. Answers the
    figures: `sustained_per_s` (events / seconds from the first POST until pending 0) and
    `accepted_per_s` (events / seconds the POSTs took), with the evaluation counts.
    `progress_probe` replaces the API's progress answer (a baseline without the endpoint).
    """
    probe = progress_probe or (lambda: evaluation_progress(base_url, token))
    run = uuid.uuid4().hex[:8]
    simulated = list(EventSimulator(seed=seed).events(events, start=datetime.now(UTC), rate_per_second=500))
    for n, event in enumerate(simulated):
        event["id"] = f"e2e-{run}-{n}"
    for body in rules_for(simulated, rules):
        body["name"] = f"{body['name']} {run}"
        status, answer = _request(base_url, token, "POST", "/api/v1/rules", body)
        if status != 201:
            raise RuntimeError(f"POST /api/v1/rules answered {status}: {answer}")
    bodies = [orjson.dumps(simulated[i : i + BATCH]) for i in range(0, len(simulated), BATCH)]
    before = probe()
    started = time.perf_counter()
    errors = _post_all(base_url, token, bodies)
    posted = time.perf_counter() - started
    deadline = started + timeout
    progress = probe()
    while progress["pending"] and time.perf_counter() < deadline:
        time.sleep(0.1)
        progress = probe()
    caught_up = time.perf_counter() - started
    return {
        "events": events,
        "rules": rules,
        "request_errors": len(errors),
        "first_error": errors[0] if errors else None,
        "accepted_seconds": posted,
        "accepted_per_s": events / posted,
        "sustained_seconds": caught_up,
        "sustained_per_s": events / caught_up,
        "evaluated": progress["evaluated_total"] - before["evaluated_total"],
        "pending_left": progress["pending"],
    }


# -- stand-alone run ------------------------------------------------------------------------------


def worker_start(root: Path, env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    celery = root / ".venv" / "bin" / "celery"
    with log_path.open("wb") as log:
        return subprocess.Popen(
            [str(celery), "-A", "alertsite", "worker", "-c", str(WORKER_CONCURRENCY), "--loglevel", "WARNING"],
            cwd=root,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def worker_stop(worker: subprocess.Popen[bytes]) -> None:
    """Stop the worker this run started (its own session: the pool children go with it)."""
    if worker.poll() is None:
        os.killpg(worker.pid, 15)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, 9)
            worker.wait()


def postgres_sessions(database_url: str) -> int:
    import psycopg

    with psycopg.connect(database_url) as conn:
        name = urlsplit(database_url).path.lstrip("/")
        row = conn.execute("SELECT sessions FROM pg_stat_database WHERE datname = %s", [name]).fetchone()
        return int(row[0]) if row else 0


def legacy_probe(database_url: str) -> Callable[[], dict[str, Any]]:
    """Progress read from the database, for code from before the endpoint (evaluated_at column)."""
    import psycopg

    def probe() -> dict[str, Any]:
        with psycopg.connect(database_url) as conn:
            pending, evaluated = conn.execute(
                "SELECT count(*) FILTER (WHERE evaluated_at IS NULL), "
                "count(*) FILTER (WHERE evaluated_at > received_at) FROM events_auditevent"
            ).fetchone()
        return {"pending": pending, "evaluated_total": evaluated}

    return probe


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=50_000, help="Events (default 50000).")
    parser.add_argument("--rules", type=int, default=100, help="Enabled rules (default 100).")
    args = parser.parse_args()

    root = Path(os.environ.get("BENCH_ROOT", ingest_bench.ROOT)).resolve()
    ingest_bench.ROOT = root  # gunicorn and manage.py run from there
    database_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    env = ingest_bench.server_env(database_url)
    broker = redis.Redis.from_url(ingest_bench.BROKER_URL)
    version = ingest_bench.database_ensure(database_url, fresh=True)
    ingest_bench.manage(env, "migrate", "--noinput", "-v", "0")
    print(f"PostgreSQL {version}; code from {root}; broker {ingest_bench.BROKER_URL}")

    copy_events = list(EventSimulator(seed=1).events(args.events, start=datetime.now(UTC), rate_per_second=500))
    copy_rate = ingest_bench.bench_copy(database_url, copy_events)
    print(f"(a) COPY into a bare table: {copy_rate:,.0f} rows/s")

    password = secrets.token_urlsafe(24)
    ingest_bench.superuser_ensure(env, password)
    broker.flushdb()
    port = ingest_bench.free_port()
    tmp = Path(tempfile.gettempdir())
    server_log, worker_log = tmp / f"alertsite-e2e-gunicorn-{port}.log", tmp / f"alertsite-e2e-worker-{port}.log"
    server = ingest_bench.gunicorn_start(env, port, server_log)
    worker = worker_start(root, env, worker_log)
    try:
        ingest_bench.healthz_wait(server, port, server_log)
        token = ingest_bench.token_obtain(env, port, password)
        ingest_bench.warm_up(port, token)
        base_url = f"http://127.0.0.1:{port}"
        has_endpoint = _request(base_url, token, "GET", "/api/v1/events/evaluation")[0] == 200
        probe = None if has_endpoint else legacy_probe(database_url)
        sessions_before = postgres_sessions(database_url)
        result = measure_sustained(args.events, args.rules, base_url, token, progress_probe=probe)
        sessions = postgres_sessions(database_url) - sessions_before
    finally:
        worker_stop(worker)
        ingest_bench.gunicorn_stop(server)
        broker.flushdb()
    print(
        f"(b) {result['events']:,} events, {result['rules']} rules: POSTs took {result['accepted_seconds']:.1f} s "
        f"({result['accepted_per_s']:,.0f}/s accepted); evaluation caught up after {result['sustained_seconds']:.1f} s: "
        f"{result['sustained_per_s']:,.0f} events/s sustained ({result['evaluated']:,} evaluated, "
        f"{result['pending_left']} left, {result['request_errors']} failed requests, "
        f"~{sessions:,} PostgreSQL sessions opened)"
    )
    print(f"(c) sustained / COPY = {100 * result['sustained_per_s'] / copy_rate:.1f}% (target 20%)")
    import psycopg

    with psycopg.connect(database_url) as conn:
        matches = conn.execute("SELECT count(*) FROM rules_rulematch").fetchone()[0]
        alerts = conn.execute("SELECT count(*) FROM alerts_alert").fetchone()[0]
    print(f"    {matches:,} matches ({100 * matches / args.events:.1f}% of the events), {alerts:,} alerts")
    if result["request_errors"] or result["pending_left"]:
        print(f"    first error: {result['first_error']}")
        raise SystemExit(1)


if __name__ == "__main__":
    main()

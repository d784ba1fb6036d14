"""Retention benchmark: API ingest while the purge deletes 1,000,000 expired events.

Run from the repository root: `.venv/bin/python bench/retention.py [--old-events 1000000]`.

In one run it
  1. loads N old events (120 days back, past the 90-day retention) with one set-based
     `INSERT ... SELECT generate_series(...)` into the real `events_auditevent` table (all
     its indexes, GIN included), payloads copied from simulated events of every type;
  2. measures `POST /api/v1/events` (batches of 1,000, gunicorn -w 2, 2 client threads) with
     no purge running: rounds of --round-events new events;
  3. starts `manage.py purge_events` (batches of ALERTSITE_RETENTION_BATCH_SIZE, one short
     transaction each) and measures the same ingest in rounds for as long as the purge runs;
  4. measures ingest once more after it, prints the three rates, the ratio during/without
     against the 80% target, the purge's own rate, and checks what is left: every new event
     and no old one.

The database comes from DATABASE_URL (default postgres://postgres@127.0.0.1:5432/alertsite_bench_retention).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from ingest import (  # noqa: E402
    bench_api,
    database_ensure,
    free_port,
    gunicorn_start,
    gunicorn_stop,
    healthz_wait,
    manage,
    server_env,
    superuser_ensure,
    token_obtain,
    warm_up,
)

from alertsite.demo.simulator import EventSimulator  # noqa: E402

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/alertsite_bench_retention"
TARGET_PERCENT = 80.0
BATCH = 1000
OLD_DAYS = 120

LOAD_SQL = """
INSERT INTO events_auditevent
    (event_id, event_type, service, "timestamp", initiator, resource, client_ip, success, received_at, causal_depth, payload)
SELECT 'old-' || g, t.event_type, t.service, ts, '', '', '', t.success, ts, 0,
       t.payload || jsonb_build_object('id', 'old-' || g, 'timestamp', to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))
FROM generate_series(%(start)s::bigint, %(stop)s::bigint) AS g
CROSS JOIN LATERAL (SELECT now() - make_interval(days => %(days)s) + g * interval '1 millisecond' AS ts) AS at
JOIN bench_templates AS t ON t.n = g %% %(templates)s
"""


def old_events_load(database_url: str, count: int) -> float:
    """Insert `count` expired events set-based, in chunks of 100,000 rows a statement; return seconds."""
    templates = list(EventSimulator(seed=7).events(200, start=datetime.now(UTC), rate_per_second=100))
    started = time.perf_counter()
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "CREATE TEMP TABLE bench_templates (n int, event_type text, service text, success boolean, payload jsonb)"
        )
        with conn.cursor().copy("COPY bench_templates FROM STDIN") as copy:
            for n, event in enumerate(templates):
                success = event.get("success")
                copy.write_row(
                    (
                        n,
                        event["event_type"],
                        event.get("service", ""),
                        success if isinstance(success, bool) else None,
                        orjson.dumps(event).decode(),
                    )
                )
        for start in range(0, count, 100_000):
            stop = min(start + 100_000, count) - 1
            conn.execute(LOAD_SQL, {"start": start, "stop": stop, "days": OLD_DAYS, "templates": len(templates)})
            conn.commit()
            print(f"  loaded {stop + 1:,} old events", flush=True)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE events_auditevent")
    return time.perf_counter() - started


class Rounds:
    """Bodies of fresh events, handed out round by round so no id repeats across the run."""

    def __init__(self, round_events: int) -> None:
        self.round_events = round_events
        self.simulator = EventSimulator(seed=11)
        self.sent = 0

    def next(self) -> list[bytes]:
        events = list(self.simulator.events(self.round_events, start=datetime.now(UTC), rate_per_second=1000))
        for event in events:
            event["id"] = f"new-{self.sent}"
            self.sent += 1
        return [orjson.dumps(events[i : i + BATCH]) for i in range(0, len(events), BATCH)]


def measure(port: int, token: str, rounds: Rounds, count: int) -> list[float]:
    rates = []
    for _ in range(count):
        rate, totals = bench_api(port, token, rounds.next())
        if totals.errors:
            raise SystemExit(f"requests failed: {totals.errors[:3]}")
        rates.append(rate)
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--old-events", type=int, default=1_000_000, help="Expired events to purge (default 1000000).")
    parser.add_argument("--round-events", type=int, default=10_000, help="Events per ingest round (default 10000).")
    parser.add_argument("--rounds", type=int, default=3, help="Rounds before and after the purge (default 3).")
    args = parser.parse_args()

    database_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    env = server_env(database_url, os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/14"))
    version = database_ensure(database_url, fresh=True)
    manage(env, "migrate", "--noinput", "-v", "0")
    print(f"PostgreSQL {version}, database {database_url.rsplit('/', 1)[1]}")

    seconds = old_events_load(database_url, args.old_events)
    print(f"loaded {args.old_events:,} events {OLD_DAYS} days old in {seconds:,.0f} s (set-based INSERT ... SELECT)")

    password = "bench-" + os.urandom(8).hex()
    superuser_ensure(env, password)
    port = free_port()
    log_path = Path(tempfile.gettempdir()) / f"alertsite-bench-retention-gunicorn-{port}.log"
    server = gunicorn_start(env, port, log_path)
    rounds = Rounds(args.round_events)
    try:
        healthz_wait(server, port, log_path)
        token = token_obtain(env, port, password)
        warm_up(port, token)
        before = measure(port, token, rounds, args.rounds)
        print(
            f"(a) ingest, no purge: {statistics.median(before):,.0f} events/s (rounds: "
            f"{', '.join(f'{r:,.0f}' for r in before)})",
            flush=True,
        )

        purge_log = Path(tempfile.gettempdir()) / "alertsite-bench-retention-purge.log"
        purge_started = time.perf_counter()
        with purge_log.open("wb") as log:
            purge = subprocess.Popen(
                [sys.executable, "manage.py", "purge_events", "--no-progress"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        during: list[float] = []
        while purge.poll() is None:
            rate, totals = bench_api(port, token, rounds.next())
            if totals.errors:
                raise SystemExit(f"requests failed during the purge: {totals.errors[:3]}")
            if purge.poll() is None:  # only rounds that ended with the purge still running count
                during.append(rate)
        purge_seconds = time.perf_counter() - purge_started
        print(f"    purge: {purge_log.read_text().strip()}")
        if purge.returncode != 0 or not during:
            raise SystemExit(f"purge failed or ended before one ingest round (exit {purge.returncode})")
        print(
            f"(b) ingest during the purge: {statistics.median(during):,.0f} events/s (median of {len(during)} "
            f"rounds: {', '.join(f'{r:,.0f}' for r in during)})"
        )
        print(
            f"    purge: {args.old_events:,} events in {purge_seconds:,.0f} s = {args.old_events / purge_seconds:,.0f} events/s deleted"
        )
        after = measure(port, token, rounds, args.rounds)
        print(
            f"(c) ingest after the purge: {statistics.median(after):,.0f} events/s (rounds: "
            f"{', '.join(f'{r:,.0f}' for r in after)})"
        )
    finally:
        gunicorn_stop(server)
        import redis

        redis.Redis.from_url(env["CELERY_BROKER_URL"]).flushdb()

    without = statistics.median(before + after)
    percent = 100 * statistics.median(during) / without
    verdict = "meets" if percent >= TARGET_PERCENT else "below"
    print(f"(d) during / without (median of (a) and (c)) = {percent:.0f}% ({verdict} the {TARGET_PERCENT:.0f}% target)")
    with psycopg.connect(database_url) as conn:
        old = conn.execute("SELECT count(*) FROM events_auditevent WHERE event_id LIKE 'old-%%'").fetchone()[0]
        new = conn.execute("SELECT count(*) FROM events_auditevent WHERE event_id LIKE 'new-%%'").fetchone()[0]
    print(f"check: {old:,} old events left (expected 0), {new:,} new events stored (expected {rounds.sent:,})")
    if old or new != rounds.sent:
        raise SystemExit(1)


if __name__ == "__main__":
    main()

"""Directory Insights compatible API benchmark: paging and aggregates over a million events.

Run from the repository root: `.venv/bin/python bench/insights.py [--events 1000000] [--page 10000]`.

PostgreSQL only. The database comes from DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/alertsite_bench_insights); it is created and migrated if
needed, and filled with simulated events (EventSimulator(seed=7), ~29 days at 0.4 events/s)
through the ingestion storage path (events.storage: COPY into a staging table, then one
INSERT ... ON CONFLICT per 10,000) unless it already holds exactly that many. Then, through
gunicorn over real HTTP (production settings, 2 workers), it measures
  (a) paging through every event with `POST /insights/directory/v1/events`, `limit` = --page,
      `search_after` from each answer's `X-Search_after`, one client (pages depend on each
      other): events/s, against the 50,000 events/s target;
  (b) `/events/count`, `/events/distinct` on `event_type` and `/events/interval` by hour over
      the same events: median and max of 5 calls in ms, against the 300 ms target.
It checks that the pages held every event exactly once in (timestamp, id) order.
"""

from __future__ import annotations

import argparse
import http.client
import os
import secrets
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from ingest import (  # noqa: E402 - needs bench/ on the path
    BENCH_USER,
    database_ensure,
    free_port,
    gunicorn_start,
    gunicorn_stop,
    healthz_wait,
    manage,
    server_env,
    superuser_ensure,
    token_obtain,
)

from alertsite.demo.simulator import EventSimulator  # noqa: E402

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/alertsite_bench_insights"
START = datetime(2026, 1, 1, tzinfo=UTC)
RATE_PER_SECOND = 0.4
LOAD_BATCH = 10_000
PAGING_TARGET = 50_000
AGGREGATE_TARGET_MS = 300
AGGREGATE_RUNS = 5
BASE = "/insights/directory/v1"


def events_load(env: dict[str, str], total: int) -> None:
    """Fill the events table with `total` simulated events through events.storage (skipped when it holds that many)."""
    os.environ.update(env)
    import django

    django.setup()
    from django.db import connection, transaction

    from events.storage import events_insert_new
    from events.validation import Limits, event_validate

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM events_auditevent")
        stored = cursor.fetchone()[0]
    if stored == total:
        print(f"events: reusing the {total:,} events stored")
        return
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE events_auditevent RESTART IDENTITY CASCADE")
    limits = Limits.from_settings()
    simulator = EventSimulator(seed=7)
    started = time.perf_counter()
    batch: list[Any] = []
    loaded = 0
    now = datetime.now(UTC)
    for index, event in enumerate(simulator.events(total, start=START, rate_per_second=RATE_PER_SECOND)):
        record = event_validate(event, index=index, limits=limits)
        if isinstance(record, list):
            raise SystemExit(f"simulated event {index} is invalid: {record}")
        batch.append(record)
        if len(batch) == LOAD_BATCH:
            with transaction.atomic():
                loaded += len(events_insert_new(batch, received_at=now))
            batch = []
            if loaded % 100_000 == 0:
                print(f"  loaded {loaded:,} ({time.perf_counter() - started:,.0f} s)", flush=True)
    if batch:
        with transaction.atomic():
            loaded += len(events_insert_new(batch, received_at=now))
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE events_auditevent")
    print(f"events: loaded {loaded:,} simulated events in {time.perf_counter() - started:,.0f} s")
    if loaded != total:
        raise SystemExit(f"expected {total:,} new events, stored {loaded:,} (duplicate simulated ids?)")


def post(conn: http.client.HTTPConnection, token: str, path: str, body: dict[str, Any]) -> tuple[bytes, Any]:
    conn.request(
        "POST", BASE + path, body=orjson.dumps(body), headers={"Content-Type": "application/json", "x-api-key": token}
    )
    response = conn.getresponse()
    data = response.read()
    if response.status != 200:
        raise SystemExit(f"POST {path} answered {response.status}: {data[:300]!r}")
    return data, response


def bench_paging(port: int, token: str, page: int, expected: int) -> float:
    """Page through every event; return events/s. Checks the count and that each cursor moves forward."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    body: dict[str, Any] = {"service": ["all"], "start_time": "2000-01-01T00:00:00Z", "limit": page, "sort": "ASC"}
    seen = pages = 0
    previous: tuple[str, int] | None = None
    started = time.perf_counter()
    while True:
        data, response = post(conn, token, "/events", body)
        count = int(response.getheader("X-Result-Count"))
        seen += count
        pages += 1
        cursor = orjson.loads(response.getheader("X-Search_after"))
        if count:
            position = (cursor[0], int(cursor[1]))
            if previous is not None and position <= previous:
                raise SystemExit(f"page {pages} did not move forward: {previous} then {position}")
            previous = position
        if count < int(response.getheader("X-Limit")):
            break
        body["search_after"] = cursor
    elapsed = time.perf_counter() - started
    conn.close()
    print(f"    {pages} pages, {seen:,} events, {elapsed:,.1f} s, last page {len(data):,} bytes")
    if seen != expected:
        raise SystemExit(f"paging saw {seen:,} events, expected {expected:,}")
    return seen / elapsed


def bench_aggregate(port: int, token: str, path: str, body: dict[str, Any]) -> tuple[float, float, Any]:
    """Median and max ms of AGGREGATE_RUNS calls (after one warm-up), and the last answer."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    post(conn, token, path, body)
    timings = []
    answer: Any = None
    for _ in range(AGGREGATE_RUNS):
        started = time.perf_counter()
        data, _ = post(conn, token, path, body)
        timings.append((time.perf_counter() - started) * 1000)
        answer = orjson.loads(data)
    conn.close()
    return statistics.median(timings), max(timings), answer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="Events in the log (default 1000000).")
    parser.add_argument("--page", type=int, default=10_000, help="limit of each page (default 10000, the maximum).")
    parser.add_argument("--fresh", action="store_true", help="Drop and recreate the bench database first.")
    args = parser.parse_args()
    if args.events < 1 or not 1 <= args.page <= 10_000:
        parser.error("--events must be positive and --page between 1 and 10000.")

    database_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    if not database_url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("bench/insights.py needs PostgreSQL (DATABASE_URL=postgres://...).")
    env = server_env(database_url)
    version = database_ensure(database_url, fresh=args.fresh)
    manage(env, "migrate", "--noinput", "-v", "0")
    print(f"PostgreSQL {version} at {database_url.rsplit('@', 1)[-1]}")
    events_load(env, args.events)
    with psycopg.connect(database_url) as conn:
        first, last = conn.execute("SELECT min(timestamp), max(timestamp) FROM events_auditevent").fetchone()
    print(f"events: {args.events:,} from {first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} UTC")
    print("load average before measuring: {:.2f} {:.2f} {:.2f} ({} cores)".format(*os.getloadavg(), os.cpu_count()))

    password = secrets.token_urlsafe(24)
    superuser_ensure(env, password)
    port = free_port()
    log_path = Path(tempfile.gettempdir()) / f"alertsite-bench-insights-gunicorn-{port}.log"
    server = gunicorn_start(env, port, log_path)
    try:
        healthz_wait(server, port, log_path)
        token = token_obtain(env, port, password)
        with psycopg.connect(database_url) as conn:  # the sign-in is an event too: keep the log at --events
            conn.execute("DELETE FROM events_auditevent WHERE event_type = 'alertsite_login_attempt'")
        print(f"(a) paging with limit {args.page:,}, one client, gunicorn -w 2, token of {BENCH_USER!r}:")
        rate = bench_paging(port, token, args.page, args.events)
        verdict = "meets" if rate >= PAGING_TARGET else "below"
        print(f"    {rate:,.0f} events/s ({verdict} the {PAGING_TARGET:,} events/s target)")
        whole = {"service": ["all"], "start_time": "2000-01-01T00:00:00Z"}
        print(f"(b) aggregates over all {args.events:,} events, median / max of {AGGREGATE_RUNS} calls:")
        cases = [
            ("count", "/events/count", whole, lambda a: f"count {a['count']:,}"),
            ("distinct event_type", "/events/distinct", {**whole, "field": "event_type"},
             lambda a: f"{len(a['buckets'])} buckets"),
            ("interval 1h", "/events/interval", {**whole, "interval_unit": "h", "interval_value": "1"},
             lambda a: f"{len(a['buckets'])} buckets"),
        ]  # fmt: skip
        for label, path, body, describe in cases:
            median, worst, answer = bench_aggregate(port, token, path, body)
            verdict = "meets" if median < AGGREGATE_TARGET_MS else "below"
            print(
                f"    {label:<20} {median:7,.0f} ms (max {worst:,.0f} ms; {describe(answer)}; "
                f"{verdict} the {AGGREGATE_TARGET_MS} ms target)"
            )
    finally:
        gunicorn_stop(server)
    print("load average after: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()

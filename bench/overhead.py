"""Overhead of operating features: ingest and console time with metrics + JSON logs on versus off,
and the time of a /metrics scrape over 1,000,000 alerts and 10,000 rules.

Run from the repository root: `.venv/bin/python bench/overhead.py [--pairs 5] [--events 20000]`.

In one run, on one database (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/alertsite_overhead,
created and migrated with bench/ingest.py's production-like settings):

1. Seeds --rules rules and --alerts alerts with set-based SQL (`INSERT ... SELECT generate_series`),
   unless the tables already hold that many.
2. --pairs interleaved pairs of runs, each with its own `gunicorn alertsite.wsgi -w 2`: the "off" run with
   OFF_SWITCHES, the "on" run with ON_SWITCHES, alternating which goes first. Each run POSTs --events
   new simulated events to /api/v1/events (batches of 1,000, 2 client threads, bench/ingest.py's client)
   and times --page-runs GETs of the Alerts dashboard (/insights/alerts/) by a logged-in admin.
3. Prints, for each figure, the median and spread (min-max) of on and off and the on/off ratio
   against the 5% target (ingest: on at least 95% of off; page: at most 105%).
4. Times --scrapes GETs of /metrics (with the bearer token) on the "on" server: median and max,
   against the 100 ms target.
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import os
import re
import secrets
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import orjson
import psycopg
import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# bench/ingest.py's helpers (server environment, gunicorn, token, the threaded POST client).
_spec = importlib.util.spec_from_file_location("bench_ingest", ROOT / "bench" / "ingest.py")
bench_ingest = importlib.util.module_from_spec(_spec)  # type: ignore[arg-type]
sys.modules["bench_ingest"] = bench_ingest
_spec.loader.exec_module(bench_ingest)  # type: ignore[union-attr]

from alertsite.demo.simulator import EventSimulator  # noqa: E402 - needs ROOT on the path

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/alertsite_overhead"
BROKER_URL = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/13")
METRICS_TOKEN = secrets.token_urlsafe(24)
TARGET_RATIO = 0.05
SCRAPE_TARGET_MS = 100.0
PAGE = "/insights/alerts/"

# The switches of each side. The "on" side is everything operating alertsite adds to a request:
# HTTP metrics, JSON access logs and the Content-Security-Policy middleware (django-csp).
ON_SWITCHES: dict[str, str] = {
    "ALERTSITE_CSP": "enforce",
    "ALERTSITE_HTTP_METRICS": "true",
    "LOG_FORMAT": "json",
    "ALERTSITE_ACCESS_LOG": "true",
    # PROMETHEUS_MULTIPROC_DIR is added per run (a fresh directory), as gunicorn -w 2 needs.
}
OFF_SWITCHES: dict[str, str] = {
    "ALERTSITE_CSP": "off",
    "ALERTSITE_HTTP_METRICS": "false",
    "LOG_FORMAT": "text",
    "ALERTSITE_ACCESS_LOG": "false",
}


# -- seeding ----------------------------------------------------------------------------------------

SEED_RULES = """
INSERT INTO rules_rule (name, description, enabled, priority, template, conditions, selected_event_types,
    generate_alerts, send_notifications, notify_on_acknowledge, notify_on_resolve, existing_conditions,
    group_by, group_window_minutes, created_at, updated_at, alert_count, match_count, backfill_status,
    backfill_total, backfill_done, backfill_matched, backfill_error, remind_max, snooze_note)
SELECT 'overhead rule ' || (%(start)s + i), '', false, (ARRAY['low','medium','high'])[1 + i %% 3], '',
    '[{"event_type": "user_login_attempt"}]'::jsonb, 'user_login_attempt', true, false, false, false, false,
    '[]'::jsonb, 0, now(), now(), 0, 0, '', 0, 0, 0, '', 3, ''
FROM generate_series(1, %(count)s) AS i
"""
SEED_ALERTS = """
INSERT INTO alerts_alert (rule_id, rule_name, priority, status, title, event_type, event_count, group_key,
    collecting, first_seen_at, last_seen_at, created_at, causal_depth, category, source_id, source_type,
    grouped, notify_channel_ids, notify_on_acknowledge, notify_on_resolve, resolved_at, acknowledged_at,
    escalation_channel_ids, remind_max, reminders_sent, snooze_note)
SELECT r.id, r.name, r.priority,
    CASE WHEN i %% 20 = 0 THEN 'open' WHEN i %% 20 = 1 THEN 'acknowledged' ELSE 'resolved' END,
    'Failed logins: user' || (i %% 5000) || '@example.com', 'user_login_attempt', 1, '', false,
    t, t, t, 0, 'directory', 'user' || (i %% 5000), 'user', false, '[]'::jsonb, false, false,
    CASE WHEN i %% 20 > 1 THEN t + interval '1 hour' END, CASE WHEN i %% 20 = 1 THEN t + interval '5 minutes' END,
    '[]'::jsonb, 0, 0, ''
FROM generate_series(1, %(count)s) AS i
CROSS JOIN LATERAL (SELECT now() - (i || ' seconds')::interval * 2 AS t) AS at(t)
JOIN rules_rule r ON r.id = %(first_rule)s + (i %% %(rules)s)
"""


def seed(database_url: str, *, rules: int, alerts: int) -> None:
    """Top rules and alerts up to the asked numbers, a statement each (5% open, 5% acknowledged)."""
    with psycopg.connect(database_url) as conn:
        have_rules = conn.execute("SELECT count(*) FROM rules_rule").fetchone()[0]
        if have_rules < rules:
            started = time.perf_counter()
            conn.execute(SEED_RULES, {"start": have_rules, "count": rules - have_rules})
            conn.commit()
            print(f"seeded {rules - have_rules:,} rules in {time.perf_counter() - started:.1f}s")
        have_alerts = conn.execute("SELECT count(*) FROM alerts_alert").fetchone()[0]
        if have_alerts < alerts:
            started = time.perf_counter()
            first, count = conn.execute("SELECT min(id), count(*) FROM rules_rule").fetchone()
            # Rule ids run from min(id) on without gaps here (the seed above made them).
            conn.execute(SEED_ALERTS, {"count": alerts - have_alerts, "first_rule": first, "rules": count})
            conn.commit()
            print(f"seeded {alerts - have_alerts:,} alerts in {time.perf_counter() - started:.1f}s")
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM (ANALYZE) alerts_alert")
        conn.execute("VACUUM (ANALYZE) rules_rule")


# -- one run ----------------------------------------------------------------------------------------


@dataclass
class Run:
    side: str
    events_per_second: float = 0.0
    page_ms: list[float] = field(default_factory=list)
    scrape_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def cookies_of(response: http.client.HTTPResponse) -> dict[str, str]:
    found = {}
    for header, value in response.getheaders():
        if header.lower() == "set-cookie":
            name, _, rest = value.partition("=")
            found[name.strip()] = rest.split(";", 1)[0]
    return found


def console_login(port: int, password: str) -> str:
    """Sign in through the login form, as a browser does; answer the Cookie header of the session."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/accounts/login/")
    response = conn.getresponse()
    page = response.read().decode()
    jar = cookies_of(response)
    token = re.search(r'name="csrfmiddlewaretoken"\s+value="([^"]+)"', page) or re.search(
        r'value="([^"]+)"\s+name="csrfmiddlewaretoken"', page
    )
    if token is None:
        raise SystemExit(f"the login page ({response.status}) has no CSRF token: {page[:500]}")
    body = f"username={bench_ingest.BENCH_USER}&password={password}&csrfmiddlewaretoken={token.group(1)}"
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Cookie": "; ".join(f"{k}={v}" for k, v in jar.items()),
        "Referer": f"http://127.0.0.1:{port}/accounts/login/",
    }
    conn.request("POST", "/accounts/login/", body=body, headers=headers)
    response = conn.getresponse()
    response.read()
    jar.update(cookies_of(response))
    conn.close()
    if response.status != 302 or "sessionid" not in jar:
        raise SystemExit(f"console login failed: {response.status}")
    return "; ".join(f"{k}={v}" for k, v in jar.items())


def timed_gets(port: int, path: str, headers: dict[str, str], runs: int, run: Run) -> list[float]:
    times = []
    for _ in range(runs + 2):  # two warm-ups
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        started = time.perf_counter()
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        response.read()
        elapsed = (time.perf_counter() - started) * 1000
        conn.close()
        if response.status != 200:
            run.errors.append(f"GET {path}: {response.status}")
        times.append(elapsed)
    return times[2:]


def run_once(
    side: str, env: dict[str, str], database_url: str, password: str, bodies: list[bytes], args: argparse.Namespace
) -> Run:
    run = Run(side)
    switches = dict(ON_SWITCHES if side == "on" else OFF_SWITCHES)
    multiproc = None
    if side == "on":
        multiproc = tempfile.TemporaryDirectory(prefix="alertsite-prom-")
        switches["PROMETHEUS_MULTIPROC_DIR"] = multiproc.name
    run_env = {**env, **switches, "ALERTSITE_METRICS_TOKEN": METRICS_TOKEN}
    if side == "off":
        run_env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    port = bench_ingest.free_port()
    log_path = Path(tempfile.gettempdir()) / f"alertsite-bench-overhead-{side}-{port}.log"
    server = bench_ingest.gunicorn_start(run_env, port, log_path)
    try:
        bench_ingest.healthz_wait(server, port, log_path)
        token = bench_ingest.token_obtain(run_env, port, password)
        bench_ingest.warm_up(port, token)
        rate, totals = bench_ingest.bench_api(port, token, bodies)
        run.events_per_second = rate
        run.errors += totals.errors
        cookie = console_login(port, password)
        run.page_ms = timed_gets(port, PAGE, {"Cookie": cookie}, args.page_runs, run)
        if side == "on":
            auth = {"Authorization": f"Bearer {METRICS_TOKEN}"}
            run.scrape_ms = timed_gets(port, "/metrics", auth, args.scrapes, run)
    finally:
        bench_ingest.gunicorn_stop(server)
        redis.Redis.from_url(BROKER_URL).flushdb()
        if multiproc is not None:
            multiproc.cleanup()
    return run


# -- report -----------------------------------------------------------------------------------------


def spread(values: list[float]) -> str:
    return f"median {statistics.median(values):,.1f} (min {min(values):,.1f}, max {max(values):,.1f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=5, help="Interleaved on/off pairs (default 5).")
    parser.add_argument("--events", type=int, default=20_000, help="Events POSTed a run (default 20000).")
    parser.add_argument("--page-runs", type=int, default=20, help="Timed dashboard GETs a run (default 20).")
    parser.add_argument("--scrapes", type=int, default=20, help="Timed /metrics GETs a run (default 20).")
    parser.add_argument("--alerts", type=int, default=1_000_000, help="Alerts to seed (default 1000000).")
    parser.add_argument("--rules", type=int, default=10_000, help="Rules to seed (default 10000).")
    parser.add_argument("--fresh", action="store_true", help="Drop and recreate the bench database first.")
    args = parser.parse_args()
    if args.pairs < 1 or args.events < 1000:
        parser.error("--pairs must be positive and --events at least 1000.")

    database_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    env = bench_ingest.server_env(database_url, BROKER_URL)
    env.update({"SESSION_COOKIE_SECURE": "false", "CSRF_COOKIE_SECURE": "false"})
    version = bench_ingest.database_ensure(database_url, fresh=args.fresh)
    bench_ingest.manage(env, "migrate", "--noinput", "-v", "0")
    bench_ingest.manage(env, "collectstatic", "--noinput", "-v", "0")  # the console pages need the manifest
    print(f"PostgreSQL {version}, database {database_url.rsplit('/', 1)[-1]}, load average {os.getloadavg()[0]:.1f}")
    seed(database_url, rules=args.rules, alerts=args.alerts)
    password = secrets.token_urlsafe(24)
    bench_ingest.superuser_ensure(env, password)

    # New ids every run (the event log keeps growing, equally for both sides thanks to the interleaving).
    simulator = EventSimulator(seed=int(time.time()))
    runs: list[Run] = []
    for pair in range(args.pairs):
        order = ("off", "on") if pair % 2 == 0 else ("on", "off")
        for side in order:
            events = list(simulator.events(args.events, start=datetime.now(UTC), rate_per_second=500))
            bodies = [orjson.dumps(events[i : i + 1000]) for i in range(0, len(events), 1000)]
            run = run_once(side, env, database_url, password, bodies, args)
            runs.append(run)
            page = statistics.median(run.page_ms)
            print(f"pair {pair + 1} {side:>3}: {run.events_per_second:,.0f} events/s, dashboard median {page:.1f} ms")
            if run.errors:
                print(f"  {len(run.errors)} errors, first: {run.errors[0]}")

    on = [r for r in runs if r.side == "on"]
    off = [r for r in runs if r.side == "off"]
    ingest_on = [r.events_per_second for r in on]
    ingest_off = [r.events_per_second for r in off]
    page_on = [statistics.median(r.page_ms) for r in on]
    page_off = [statistics.median(r.page_ms) for r in off]
    ingest_ratio = statistics.median(ingest_on) / statistics.median(ingest_off)
    page_ratio = statistics.median(page_on) / statistics.median(page_off)
    print(f"\ningest events/s   off {spread(ingest_off)}")
    print(f"ingest events/s    on {spread(ingest_on)}")
    verdict = "meets" if ingest_ratio >= 1 - TARGET_RATIO else "misses"
    print(f"ingest on/off = {ingest_ratio:.3f} ({verdict} the target: at most {TARGET_RATIO:.0%} slower)")
    print(f"dashboard ms      off {spread(page_off)}")
    print(f"dashboard ms       on {spread(page_on)}")
    verdict = "meets" if page_ratio <= 1 + TARGET_RATIO else "misses"
    print(f"dashboard on/off = {page_ratio:.3f} ({verdict} the target: at most {TARGET_RATIO:.0%} slower)")
    scrapes = [ms for r in on for ms in r.scrape_ms]
    verdict = "meets" if statistics.median(scrapes) < SCRAPE_TARGET_MS else "misses"
    print(
        f"/metrics scrape over {args.alerts:,} alerts and {args.rules:,} rules: {spread(scrapes)} ms "
        f"({verdict} the {SCRAPE_TARGET_MS:.0f} ms target)"
    )
    print(f"load average at the end {os.getloadavg()[0]:.1f} (the machine is shared: figures are noisy)")
    if any(r.errors for r in runs):
        raise SystemExit(1)


if __name__ == "__main__":
    main()

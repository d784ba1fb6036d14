"""Console benchmark: server time and SQL query counts of Home (with its 7-day sparkline), the Alerts
dashboard, the Rules dashboard and Insights > Alert Metrics.

Run from the repository root: `.venv/bin/python bench/console.py [--rules 10000] [--profile]`.

It reuses bench/alerts.py: the same database (DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/alertsite_bench_alerts), created, migrated and seeded with COPY by
that script's `database_seed` when `alerts_alert` does not hold --alerts rows (1,000,000 by default;
a seeded database is reused as it is), and the same production-like settings (`alertsite.settings.base`,
DEBUG off). On top of that it tops `rules_rule` up to --rules rules (10,000 by default) with COPY,
as admins would write them (one to three events, filters or an expression, 85% enabled, a few
e-mail channels each), then VACUUM (ANALYZE).

Each page is fetched in-process through `django.test.Client` logged in as the bench admin with
`force_login` (session auth, as the console is used): 3 warm-ups, then 20 timed runs (median, p90),
then one more run under CaptureQueriesContext for the SQL query count. The figures are server time:
routing, session and auth, SQL, template rendering; no HTTP, no network, no browser. Every page is
also measured at another page of its table, to show that the number of queries does not grow with
the page number. `{% static %}` uses the plain storage (no collectstatic manifest is needed; a
manifest lookup is a dict lookup). Target: every page under 150 ms (median).

Alert Metrics and the sparkline read a snapshot a period that a periodic job recomputes
(alerts.services.metrics_snapshots); the bench first times that recomputation of each period
(the live aggregates, REFRESH_RUNS runs, median) and stores the snapshots, as the job would,
then measures the pages.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib.util
import io
import math
import os
import pstats
import random
import re
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

# bench/alerts.py under another name: a plain `import alerts` would shadow the Django app `alerts`.
_spec = importlib.util.spec_from_file_location("bench_alerts", ROOT / "bench" / "alerts.py")
bench_alerts = importlib.util.module_from_spec(_spec)
sys.modules["bench_alerts"] = bench_alerts
_spec.loader.exec_module(bench_alerts)

TARGET_MS = 150.0
RUNS = bench_alerts.RUNS
WARM_UPS = bench_alerts.WARM_UPS
REFRESH_RUNS = 3
RULES = 10_000
CHANNELS = 12
RULE_EVENT_TYPES = [
    *bench_alerts.EVENT_TYPES,
    "admin_totp_disable",
    "admin_password_change",
    "user_password_change",
    "association_change",
    "radius_auth_attempt",
    "sso_auth",
    "application_create",
    "group_create",
]
COUNTRIES = ["KP", "IR", "RU", "CN", "BY", "VE", "SY", "CU"]
RULE_COLUMNS = (
    "name, description, enabled, priority, template, conditions, selected_event_types, generate_alerts, "
    "send_notifications, notify_on_acknowledge, notify_on_resolve, existing_conditions, group_by, "
    "group_window_minutes, created_at, updated_at, alert_count, match_count, backfill_status, backfill_total, "
    "backfill_done, backfill_matched, backfill_error, created_by_id, updated_by_id, remind_max, snooze_note"
)


# -- seeding --------------------------------------------------------------------------------------


def condition_for(event_type: str, rng: random.Random) -> dict[str, Any]:
    """One condition as admins write them: no filter, a few filters, or (one in ten) an expression."""
    roll = rng.random()
    if roll < 0.2:
        return {"event_type": event_type, "match": "all", "filters": []}
    if roll < 0.3:
        domain = rng.choice(["example.com", "example.org", "contractors.example.com"])
        return {"event_type": event_type, "expression": f"success == false && initiated_by.email endsWith '@{domain}'"}
    filters: list[dict[str, Any]] = [{"key": "success", "operator": "eq", "value": False}]
    if rng.random() < 0.6:
        filters.append({"key": "geoip.country_code", "operator": "in", "value": rng.sample(COUNTRIES, k=3)})
    if rng.random() < 0.3:
        filters.append({"key": "client_ip", "operator": "not_in_cidr", "value": ["10.0.0.0/8", "192.168.0.0/16"]})
    return {"event_type": event_type, "match": rng.choice(["all", "all", "any"]), "filters": filters}


def channels_ensure(conn: psycopg.Connection, now: datetime) -> list[int]:
    """A dozen e-mail channels (plain JSON config, nothing to encrypt); return their ids."""
    existing = {name for (name,) in conn.execute("SELECT name FROM channels_channel")}
    with conn.cursor().copy(
        "COPY channels_channel (kind, name, enabled, config, created_at, updated_at, consecutive_failures, "
        "last_error) FROM STDIN"
    ) as copy:
        for i in range(1, CHANNELS + 1):
            name = f"Bench e-mail {i:02d}"
            if name not in existing:
                config = {"recipients": [f"soc{i}@example.com", f"oncall{i}@example.com"], "roles": []}
                copy.write_row(("email", name, True, orjson.dumps(config).decode(), now, now, 0, ""))
    return [
        pk for (pk,) in conn.execute("SELECT id FROM channels_channel WHERE name LIKE 'Bench e-mail %' ORDER BY id")
    ]


def rules_top_up(database_url: str, target: int) -> int:
    """COPY rules until `rules_rule` holds `target`; link about half of the new ones to 1-2 channels."""
    rng = random.Random(20250315)
    now = datetime.now(UTC)
    priorities = ["high"] * 2 + ["medium"] * 5 + ["low"] * 3
    with psycopg.connect(database_url) as conn:
        stored = int(conn.execute("SELECT count(*) FROM rules_rule").fetchone()[0])
        if stored >= target:
            return 0
        admin_id, _ = bench_alerts.users_ensure(conn)
        channel_ids = channels_ensure(conn, now)
        first = int(conn.execute("SELECT coalesce(max(id), 0) FROM rules_rule").fetchone()[0]) + 1
        missing = target - stored
        with conn.cursor().copy(f"COPY rules_rule ({RULE_COLUMNS}) FROM STDIN") as copy:
            for i in range(missing):
                types = rng.sample(RULE_EVENT_TYPES, k=rng.choice([1, 1, 1, 2, 3]))
                conditions = [condition_for(event_type, rng) for event_type in types]
                created = now - timedelta(days=rng.uniform(1, 400))
                notify = rng.random() < 0.5
                copy.write_row(
                    (
                        f"Console bench rule {first + i:05d} {types[0]}",
                        rng.choice(["", "Raised for the SOC on-call", f"Watch {types[0]} outside office hours"]),
                        rng.random() < 0.85,
                        rng.choice(priorities),
                        "event_based",
                        orjson.dumps(conditions).decode(),
                        f" {' '.join(types)} ",
                        True,
                        notify,
                        False,
                        notify and rng.random() < 0.5,
                        False,
                        "[]",
                        0,
                        created,
                        created,
                        0,
                        0,
                        "idle",
                        0,
                        0,
                        0,
                        "",
                        admin_id,
                        admin_id,
                        0,
                        "",
                    )
                )
        links = conn.execute(
            "SELECT id FROM rules_rule WHERE id >= %s AND send_notifications ORDER BY id", [first]
        ).fetchall()
        with conn.cursor().copy("COPY rules_rule_channels (rule_id, channel_id) FROM STDIN") as copy:
            for (rule_id,) in links:
                for channel_id in rng.sample(channel_ids, k=rng.choice([1, 1, 2])):
                    copy.write_row((rule_id, channel_id))
        conn.commit()
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) rules_rule, rules_rule_channels, channels_channel")
    return missing


# -- measuring ------------------------------------------------------------------------------------


@dataclass
class Page:
    label: str
    path: str
    times_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)
    queries: list[dict[str, str]] = field(default_factory=list)
    status: int = 200
    size: int = 0
    error: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.times_ms) if self.times_ms else math.nan

    @property
    def p90(self) -> float:
        ordered = sorted(self.times_ms)
        return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)] if ordered else math.nan

    @property
    def cpu(self) -> float:
        return statistics.median(self.cpu_ms) if self.cpu_ms else math.nan

    @property
    def sql_ms(self) -> float:
        return sum(float(q["time"]) for q in self.queries) * 1000

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.median <= TARGET_MS


def measure(client: Any, label: str, path: str) -> Page:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    result = Page(label, path)
    for run in range(WARM_UPS + RUNS):
        started, cpu_started = time.perf_counter(), time.process_time()
        response = client.get(path)
        elapsed = (time.perf_counter() - started) * 1000
        cpu = (time.process_time() - cpu_started) * 1000
        if response.status_code != 200:
            result.status = response.status_code
            result.error = response.get("Location", "") or response.content[:200].decode(errors="replace")
            return result
        if run >= WARM_UPS:
            result.times_ms.append(elapsed)
            result.cpu_ms.append(cpu)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    result.queries = list(captured.captured_queries)
    result.size = len(response.content)
    return result


def profile(client: Any, path: str, top: int = 12) -> None:
    """Where one request spends its time: the busiest functions, then this project's code by cumulative time."""
    profiler = cProfile.Profile()
    profiler.enable()
    client.get(path)
    profiler.disable()
    for title, order, restriction in (
        ("own time", "tottime", ()),
        ("project code, cumulative", "cumulative", (rf"{ROOT}/(?!\.venv)",)),
    ):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(*restriction, top)
        rows = [line for line in out.getvalue().splitlines() if re.match(r"\s+[\d/]+\s+\d", line)]
        print(f"    cProfile, {title}:  ncalls  tottime  cumtime  function")
        for line in rows[:top]:
            ncalls, tottime, _, cumtime, _, where = line.split(None, 5)
            print(f"      {ncalls:>10}  {float(tottime) * 1000:7.1f}  {float(cumtime) * 1000:7.1f}  {short(where)}")


def short(where: str) -> str:
    return where.replace(str(ROOT) + "/.venv/lib/", "").replace(str(ROOT) + "/", "")


def print_table(pages: list[Page]) -> None:
    width = max(len(p.label) for p in pages)
    print(
        f"\n{'page':<{width}}  {'median ms':>9}  {'p90 ms':>7}  {'cpu ms':>6}  {'sql ms':>6}  {'queries':>7}  {'KiB':>5}  "
        f"target {TARGET_MS:.0f} ms (median)"
    )
    for p in pages:
        if p.status != 200:
            print(f"{p.label:<{width}}  failed: HTTP {p.status} {p.error}")
            continue
        verdict = "ok" if p.ok else "MISSED"
        print(
            f"{p.label:<{width}}  {p.median:>9.1f}  {p.p90:>7.1f}  {p.cpu:>6.1f}  {p.sql_ms:>6.1f}  {len(p.queries):>7}  "
            f"{p.size / 1024:>5.0f}  {verdict}"
        )
    print()
    for p in pages:
        print(f"  {p.label}: {p.path}")


def metrics_refresh_measure() -> None:
    """Time the periodic job's work per period (live aggregates, no snapshot), then store every snapshot."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from alerts.metrics import PERIODS, alert_metrics_page
    from alerts.services.metrics_snapshots import alert_metrics_refresh_all

    print(f"\nAlert Metrics snapshot refresh (the periodic job's work, median of {REFRESH_RUNS} runs)")
    print(f"{'period':<8}  {'median ms':>9}  {'max ms':>7}  {'queries':>7}  {'alerts':>9}  slowest query")
    for days in PERIODS:
        times: list[float] = []
        for _ in range(REFRESH_RUNS):
            started = time.perf_counter()
            alert_metrics_page(days)
            times.append((time.perf_counter() - started) * 1000)
        with CaptureQueriesContext(connection) as captured:
            page = alert_metrics_page(days)
        slowest = max(captured.captured_queries, key=lambda q: float(q["time"]))
        print(
            f"{days:>3} days  {statistics.median(times):>9.1f}  {max(times):>7.1f}  {len(captured.captured_queries):>7}  "
            f"{page.total:>9,}  {float(slowest['time']) * 1000:.0f} ms: {' '.join(slowest['sql'].split())[:90]}"
        )
    alert_metrics_refresh_all()


def measurements(*, always_explain: bool, always_profile: bool) -> list[Page]:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.test.utils import override_settings

    from alerts.models import Alert
    from rules.models import Rule

    plain = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    override_settings(STORAGES={**settings.STORAGES, "staticfiles": plain}).enable()
    admin = get_user_model().objects.get(username=bench_alerts.ADMIN_USER)
    client = Client()
    client.force_login(admin)

    metrics_refresh_measure()
    rule_pages = math.ceil(Rule.objects.count() / 50)
    newest = Alert.objects.order_by("-id").values_list("id", flat=True).first() or 0
    live = "status=open&status=acknowledged&sort=created&dir=desc"
    plan = [
        ("Home (with the 7-day sparkline)", "/"),
        ("Alert Metrics, 30 days (default)", "/insights/alerts/metrics/"),
        ("Alert Metrics, 7 days", "/insights/alerts/metrics/?days=7"),
        ("Alert Metrics, 90 days", "/insights/alerts/metrics/?days=90"),
        ("(x) Alert Metrics CSV, per day, 90 days", "/insights/alerts/metrics/csv/alerts-per-day/?days=90"),
        ("Alerts dashboard, page 1", "/insights/alerts/"),
        ("Alerts dashboard, page 2", "/insights/alerts/?page=2"),
        ("Alerts dashboard, page 50", "/insights/alerts/?page=50"),
        ("Rules dashboard, page 1", "/insights/alerts/rules/"),
        ("Rules dashboard, page 2", "/insights/alerts/rules/?page=2"),
        (f"Rules dashboard, page {rule_pages} (last)", f"/insights/alerts/rules/?page={rule_pages}"),
        ("(x) Rules by alert count", "/insights/alerts/rules/?sort=-alert_count"),
        ("(x) Alerts, resolved, high", "/insights/alerts/?status=resolved&priority=high"),
        ("(x) bell (polled every 10 s)", "/bell/"),
        ("(x) new rows (polled every 5 s)", f"/insights/alerts/new-rows/?{live}&after={newest}"),
    ]
    pages = [measure(client, label, path) for label, path in plan]
    print_table(pages)

    groups: dict[str, list[int]] = {}
    for p in pages:
        if p.status == 200 and "page" in p.label and not p.label.startswith("(x)"):
            groups.setdefault(p.label.split(",")[0], []).append(len(p.queries))
    for name, counts in groups.items():
        same = len(set(counts)) == 1
        verdict = f"{counts[0]} on each of {len(counts)} pages" if same else f"VARIES by page: {counts}"
        print(f"  query count of the {name}: {verdict}")

    for p in pages:
        if p.status != 200 or (p.ok and not always_explain and not always_profile):
            continue
        print(f"\n{'MISSED' if not p.ok else 'detail'}: {p.label} ({p.median:.1f} ms, {len(p.queries)} queries)")
        for q in sorted(p.queries, key=lambda q: -float(q["time"]))[:5]:
            print(f"    {float(q['time']) * 1000:7.1f} ms  {q['sql'][:160]}")
        if not p.ok or always_explain:
            bench_alerts.explain(p.queries)
        if not p.ok or always_profile:
            profile(client, p.path)
    return pages


# -- main -----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alerts", type=int, default=1_000_000, help="Alerts in the database (default 1000000).")
    parser.add_argument("--rules", type=int, default=RULES, help="Rules in the database (default 10000).")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN every page's slowest query, not only misses.")
    parser.add_argument("--profile", action="store_true", help="cProfile every page, not only misses.")
    args = parser.parse_args()

    database_url = os.environ.get("DATABASE_URL", bench_alerts.DEFAULT_DATABASE_URL)
    env = bench_alerts.bench_env(database_url)
    version = bench_alerts.database_ensure(database_url)
    bench_alerts.manage({**os.environ, **env}, "migrate", "--noinput", "-v", "0")
    location = urlsplit(database_url)
    print(f"PostgreSQL {version} at {location.hostname}:{location.port or 5432}{location.path}")

    stored = bench_alerts.alert_count(database_url)
    if stored != args.alerts:
        print(f"seeding {args.alerts:,} alerts with bench/alerts.py's COPY (the table held {stored:,})")
        bench_alerts.database_seed(database_url, args.alerts)
    started = time.perf_counter()
    added = rules_top_up(database_url, args.rules)
    if added:
        print(f"added {added:,} rules with COPY in {time.perf_counter() - started:.1f}s")
    with psycopg.connect(database_url) as conn:
        counts = conn.execute(
            "SELECT (SELECT count(*) FROM alerts_alert), (SELECT count(*) FROM alerts_alert WHERE status <> 'resolved'), "
            "(SELECT count(*) FROM rules_rule), (SELECT count(*) FROM channels_channel)"
        ).fetchone()
    print(f"{counts[0]:,} alerts ({counts[1]:,} not resolved), {counts[2]:,} rules, {counts[3]:,} channels")

    os.environ.update(env)
    import django

    django.setup()
    load = os.getloadavg()[0]
    print(
        f"load average {load:.2f} on {os.cpu_count()} CPUs"
        + (" (busy machine: figures are inflated)" if load > 1 else "")
    )
    pages = measurements(always_explain=args.explain, always_profile=args.profile)
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    if any(p.status != 200 for p in pages):
        raise SystemExit(1)


if __name__ == "__main__":
    main()

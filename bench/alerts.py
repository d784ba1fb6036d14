"""Alerts API benchmark: list, filters, cursor pages and the summary over a million alerts with history.

Run from the repository root: `.venv/bin/python bench/alerts.py [--alerts 1000000] [--fresh] [--explain]`.

The database comes from DATABASE_URL (default postgres://postgres@127.0.0.1:5432/alertsite_bench_alerts);
it is created and migrated if needed. When `alerts_alert` does not hold exactly --alerts rows it is
seeded with COPY (never the ORM): ~200 rules, a few users, alerts over the last 90 days (5% open,
5% acknowledged, 90% resolved) with their status transitions, then VACUUM (ANALYZE). A re-run on a
seeded database skips straight to the measurements.

The requests run in-process through `django.test.Client` with production-like settings
(`alertsite.settings.base`, DEBUG off, token auth of an admin), so the figures are server time:
URL routing, auth, filtering, SQL, serialization and JSON rendering, without HTTP or a network.
Each request is timed 20 times after 3 warm-ups (median, p90); one more run counts its SQL queries.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import secrets
import statistics
import sys
import time
from base64 import b64encode
from collections.abc import Callable, Iterator
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

from ingest import database_ensure, manage  # noqa: E402 - needs bench/ on the path

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/alertsite_bench_alerts"
TARGET_MS = 100.0
RUNS = 20
WARM_UPS = 3
RULES = 200
CHUNK = 50_000  # alerts per COPY round (their transitions follow in a second COPY)
DAYS = 90
ADMIN_USER = "bench"
RESPONDERS = [f"bench_responder_{i}" for i in range(1, 6)]
EVENT_TYPES = [
    "user_login_attempt",
    "admin_login_attempt",
    "sso_auth",
    "ldap_bind",
    "user_lockout",
    "admin_lockout",
    "user_update",
    "user_create",
    "user_suspended",
    "group_update",
    "application_update",
]
STATUS_WEIGHTS = {"open": 5, "acknowledged": 5, "resolved": 90}
ALERT_COLUMNS = (
    "id, rule_id, rule_name, priority, status, title, event_type, event_count, group_key, collecting, "
    "first_seen_at, last_seen_at, created_at, acknowledged_at, acknowledged_by_id, resolved_at, resolved_by_id, "
    "assignee_id, seconds_to_acknowledge, seconds_to_resolve, causal_depth, category, source_type, source_id, "
    "grouped, notify_channel_ids, notify_on_acknowledge, notify_on_resolve, escalation_channel_ids, remind_max, "
    "reminders_sent, snooze_note"
)
# notify_channel_ids .. snooze_note: NOT NULL without a database default (the model fills them), so COPY names them.
ALERT_POLICY_DEFAULTS = ("[]", False, False, "[]", 0, 0, "")
TRANSITION_COLUMNS = "alert_id, from_status, to_status, actor_id, note, at, external_actor"
# The Directory Insights service (alert category) of each event type, and the subject kinds alerts are about.
EVENT_CATEGORIES = {"sso_auth": "sso", "ldap_bind": "ldap", "application_update": "saas_management"}
SOURCE_TYPES = {"user": 80, "device": 12, "": 8}
RESOLVE_NOTES = ["", "", "", "", "false positive", "user confirmed the login", "password reset done"]


# -- set-up ---------------------------------------------------------------------------------------


def bench_env(database_url: str) -> dict[str, str]:
    """Production-like settings on the bench database; the test client's host is allowed."""
    values = {
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "alertsite.settings.base",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DEBUG": "false",
        "ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
    }
    values["ALERTSITE_ENCRYPTION_KEY"] = os.environ.get("ALERTSITE_ENCRYPTION_KEY") or (
        b64encode(secrets.token_bytes(32)).decode()
    )
    return values


# -- seeding --------------------------------------------------------------------------------------


def users_ensure(conn: psycopg.Connection) -> tuple[int, list[int]]:
    """The admin (a superuser) and a few responders, by plain SQL; return their ids."""
    now = datetime.now(UTC)
    for username in [ADMIN_USER, *RESPONDERS]:
        admin = username == ADMIN_USER
        conn.execute(
            "INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff, "
            "is_active, date_joined) VALUES ('!', %s, %s, '', '', %s, %s, true, %s) ON CONFLICT (username) DO NOTHING",
            [admin, username, f"{username}@example.com", admin, now],
        )
    conn.execute(
        "INSERT INTO auth_user_groups (user_id, group_id) SELECT u.id, g.id FROM auth_user u, auth_group g "
        "WHERE u.username = ANY(%s) AND g.name = 'responder' "
        "AND NOT EXISTS (SELECT 1 FROM auth_user_groups x WHERE x.user_id = u.id AND x.group_id = g.id)",
        [RESPONDERS],
    )
    ids = dict(conn.execute("SELECT username, id FROM auth_user WHERE username = ANY(%s)", [[ADMIN_USER, *RESPONDERS]]))
    return ids[ADMIN_USER], [ids[name] for name in RESPONDERS]


def rules_seed(conn: psycopg.Connection, admin_id: int, now: datetime) -> list[tuple[int, str, str]]:
    """COPY ~200 minimal valid event-based rules; return (id, name, priority) in id order."""
    priorities = ["high"] * 3 + ["medium"] * 4 + ["low"] * 3
    columns = (
        "name, description, enabled, priority, template, conditions, selected_event_types, generate_alerts, "
        "send_notifications, notify_on_acknowledge, notify_on_resolve, existing_conditions, group_by, "
        "group_window_minutes, created_at, updated_at, alert_count, match_count, backfill_status, backfill_total, "
        "backfill_done, backfill_matched, backfill_error, created_by_id, updated_by_id, remind_max, snooze_note"
    )
    with conn.cursor().copy(f"COPY rules_rule ({columns}) FROM STDIN") as copy:
        for i in range(RULES):
            event_type = EVENT_TYPES[i % len(EVENT_TYPES)]
            conditions = orjson.dumps([{"event_type": event_type, "match": "all", "filters": []}]).decode()
            created = now - timedelta(days=DAYS + 1, minutes=i)
            copy.write_row(
                (
                    f"Bench rule {i + 1:03d} {event_type}",
                    "",
                    True,
                    priorities[i % len(priorities)],
                    "event_based",
                    conditions,
                    f" {event_type} ",
                    True,
                    False,
                    False,
                    False,
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
    return [tuple(row) for row in conn.execute("SELECT id, name, priority FROM rules_rule ORDER BY id")]


@dataclass
class Seeded:
    alerts: int = 0
    transitions: int = 0
    by_status: dict[str, int] = field(default_factory=dict)


def alert_chunks(
    total: int, rules: list[tuple[int, str, str]], responders: list[int], now: datetime, rng: random.Random
) -> Iterator[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
    """Yield (alert rows, transition rows) CHUNK alerts at a time, oldest first, ids 1..total in that order.

    Rules are Zipf-ish (a few noisy ones); an alert's priority is its rule's. Acknowledge and
    resolve times, their seconds_to_* and actors agree with the status, and never lie in the future.
    """
    end = now.timestamp() - 60
    start = end - DAYS * 86400
    step = (end - start) / total
    weights = [1 / (k + 1) ** 0.8 for k in range(len(rules))]
    rng.shuffle(weights)  # the noisiest rules land on random ids and priorities
    statuses, status_weights = list(STATUS_WEIGHTS), list(STATUS_WEIGHTS.values())
    stamp = datetime.fromtimestamp
    rand, randrange, lognorm, choice = rng.random, rng.randrange, rng.lognormvariate, rng.choice
    mu_ack, mu_res = math.log(900), math.log(4 * 3600)
    for first in range(0, total, CHUNK):
        count = min(CHUNK, total - first)
        picked_rules = rng.choices(rules, weights=weights, k=count)
        picked_statuses = rng.choices(statuses, weights=status_weights, k=count)
        picked_sources = rng.choices(list(SOURCE_TYPES), weights=list(SOURCE_TYPES.values()), k=count)
        alerts: list[tuple[Any, ...]] = []
        transitions: list[tuple[Any, ...]] = []
        for offset in range(count):
            pk = first + offset + 1
            rule_id, rule_name, priority = picked_rules[offset]
            status, source_type = picked_statuses[offset], picked_sources[offset]
            created_ts = start + (pk - 1 + rand()) * step
            created = stamp(created_ts, UTC)
            grouped = rand() < 0.1
            event_count = randrange(2, 50) if grouped else 1
            group_key = f"{randrange(16**40):040x}" if grouped else ""
            first_seen = stamp(created_ts - rand() * 120, UTC)
            last_seen = stamp(created_ts + rand() * 3600, UTC) if grouped else created
            if last_seen.timestamp() > end:
                last_seen = created
            who = f"user{randrange(20000):05d}@example.com"
            title = f"{rule_name}: {who} from 10.{randrange(256)}.{randrange(256)}.{randrange(1, 255)}"
            event_type = rule_name.rsplit(" ", 1)[1]
            assignee = choice(responders) if rand() < 0.3 else None
            age = end - created_ts
            ack_at = ack_by = res_at = res_by = to_ack = to_res = None
            if status == "acknowledged" or (status == "resolved" and rand() < 0.7):
                to_ack = int(min(lognorm(mu_ack, 1.2), age * 0.5))
                ack_at, ack_by = stamp(created_ts + to_ack, UTC), choice(responders)
                transitions.append((pk, "open", "acknowledged", ack_by, "", ack_at, ""))
            if status == "resolved":
                to_res = int(min((to_ack or 0) + lognorm(mu_res, 1.3), age * 0.99))
                to_res = max(to_res, to_ack or 0)
                res_at, res_by = stamp(created_ts + to_res, UTC), choice(responders)
                previous = "open" if ack_at is None else "acknowledged"
                transitions.append((pk, previous, "resolved", res_by, choice(RESOLVE_NOTES), res_at, ""))
            alerts.append(
                (
                    pk,
                    rule_id,
                    rule_name,
                    priority,
                    status,
                    title,
                    event_type,
                    event_count,
                    group_key,
                    False,
                    first_seen,
                    last_seen,
                    created,
                    ack_at,
                    ack_by,
                    res_at,
                    res_by,
                    assignee,
                    to_ack,
                    to_res,
                    0,
                    EVENT_CATEGORIES.get(event_type, "directory"),
                    source_type,
                    f"{randrange(16**24):024x}" if source_type else "",
                    grouped,
                    *ALERT_POLICY_DEFAULTS,
                )
            )
        yield alerts, transitions


def database_seed(database_url: str, total: int) -> Seeded:
    """Empty the alert and rule tables, then COPY rules, alerts and transitions in one transaction.

    The secondary indexes are dropped first and rebuilt after the load (all inside the transaction,
    so a failed run leaves the schema as it was); foreign-key triggers are skipped with
    session_replication_role = replica when the role may do that (the ids are generated consistent).
    """
    rng = random.Random(20250301)
    now = datetime.now(UTC)
    seeded = Seeded()
    with psycopg.connect(database_url) as conn:
        try:
            conn.execute("SET session_replication_role = replica")
            conn.commit()
        except psycopg.errors.InsufficientPrivilege:
            conn.rollback()
            print("    (not a superuser: foreign keys are checked during the load, which is slower)")
        conn.execute("SET maintenance_work_mem = '512MB'")
        conn.execute(
            "TRUNCATE alerts_alertevent, alerts_alertnote, alerts_alerttransition, alerts_alert, rules_rule "
            "RESTART IDENTITY CASCADE"
        )
        admin_id, responders = users_ensure(conn)
        rules = rules_seed(conn, admin_id, now)
        indexes = conn.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = current_schema() "
            "AND i.tablename IN ('alerts_alert', 'alerts_alerttransition') AND NOT EXISTS "
            "(SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)"
        ).fetchall()
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        started = time.perf_counter()
        with conn.cursor() as cursor:
            for alerts, transitions in alert_chunks(total, rules, responders, now, rng):
                with cursor.copy(f"COPY alerts_alert ({ALERT_COLUMNS}) FROM STDIN") as copy:
                    for row in alerts:
                        copy.write_row(row)
                with cursor.copy(f"COPY alerts_alerttransition ({TRANSITION_COLUMNS}) FROM STDIN") as copy:
                    for row in transitions:
                        copy.write_row(row)
                seeded.alerts += len(alerts)
                seeded.transitions += len(transitions)
                if seeded.alerts % 250_000 == 0 or seeded.alerts == total:
                    elapsed = time.perf_counter() - started
                    print(f"    copied {seeded.alerts:,} alerts, {seeded.transitions:,} transitions ({elapsed:.0f}s)")
        started = time.perf_counter()
        for _, definition in indexes:
            conn.execute(definition)
        print(f"    rebuilt {len(indexes)} indexes in {time.perf_counter() - started:.1f}s")
        for table in ("alerts_alert", "alerts_alerttransition", "rules_rule"):
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT coalesce(max(id), 1) FROM {table}))"
            )
        conn.execute(
            "UPDATE rules_rule r SET alert_count = a.n, last_triggered_at = a.last FROM "
            "(SELECT rule_id, count(*) n, max(created_at) last FROM alerts_alert GROUP BY rule_id) a "
            "WHERE a.rule_id = r.id"
        )
        conn.commit()
        seeded.by_status = dict(conn.execute("SELECT status, count(*) FROM alerts_alert GROUP BY status"))
    started = time.perf_counter()
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) alerts_alert, alerts_alerttransition, rules_rule, auth_user")
    print(f"    VACUUM (ANALYZE) in {time.perf_counter() - started:.1f}s")
    return seeded


def alert_count(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        return int(conn.execute("SELECT count(*) FROM alerts_alert").fetchone()[0])


# -- measuring ------------------------------------------------------------------------------------


@dataclass
class Measured:
    label: str
    path: str
    times_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)
    queries: list[dict[str, str]] = field(default_factory=list)
    status: int = 200
    rows: int | None = None
    error: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.times_ms) if self.times_ms else math.nan

    @property
    def cpu(self) -> float:
        return statistics.median(self.cpu_ms) if self.cpu_ms else math.nan

    @property
    def sql_ms(self) -> float:
        return sum(float(q["time"]) for q in self.queries) * 1000

    @property
    def p90(self) -> float:
        ordered = sorted(self.times_ms)
        return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)] if ordered else math.nan  # nearest rank

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.median <= TARGET_MS


def measure(label: str, path: str, call: Callable[[], Any]) -> Measured:
    """Time `call` RUNS times after WARM_UPS, then run it once more under CaptureQueriesContext."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    result = Measured(label, path)
    for run in range(WARM_UPS + RUNS):
        started, cpu_started = time.perf_counter(), time.process_time()
        response = call()
        elapsed = (time.perf_counter() - started) * 1000
        cpu = (time.process_time() - cpu_started) * 1000
        status = getattr(response, "status_code", 200)
        if status != 200:
            result.status, result.error = status, getattr(response, "content", b"")[:300].decode(errors="replace")
            return result
        if run >= WARM_UPS:
            result.times_ms.append(elapsed)
            result.cpu_ms.append(cpu)
    with CaptureQueriesContext(connection) as captured:
        response = call()
    result.queries = list(captured.captured_queries)
    if hasattr(response, "content"):
        body = orjson.loads(response.content)
        if isinstance(body, dict) and isinstance(body.get("results"), list):
            result.rows = len(body["results"])
    return result


def api_available() -> bool:
    """Whether this process' URLconf routes the alert list and the summary."""
    from django.urls import Resolver404, resolve

    try:
        resolve("/api/v1/alerts")
        resolve("/api/v1/alerts/summary")
    except Resolver404:
        return False
    return True


def api_wait(env: dict[str, str], minutes: int) -> bool:
    """Poll (a fresh process each minute) until the alerts API routes; True when it does."""
    check = "from django.urls import resolve; resolve('/api/v1/alerts'); resolve('/api/v1/alerts/summary')"
    for minute in range(1, minutes + 1):
        time.sleep(60)
        if manage({**os.environ, **env}, "shell", "-c", check, check=False).returncode == 0:
            print(f"the alerts API appeared after {minute} min")
            return True
        print(f"    still no /api/v1/alerts after {minute} min")
    return False


def explain(queries: list[dict[str, str]]) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) the slowest SELECT the request ran."""
    from django.db import connection

    selects = [q for q in queries if q["sql"].lstrip().upper().startswith("SELECT")]
    if not selects:
        print("    (no SELECT captured)")
        return
    slowest = max(selects, key=lambda q: float(q["time"]))
    print(f"    slowest query ({float(slowest['time']) * 1000:.1f} ms when captured):\n    {slowest['sql']}")
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {slowest['sql']}")
        for (line,) in cursor.fetchall():
            print(f"      {line}")


def page_path(url: str | None) -> str | None:
    """The path and query of a `next` link (the test client wants no scheme or host)."""
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def measurements(*, always_explain: bool) -> list[Measured]:
    from django.contrib.auth import get_user_model
    from django.test import Client
    from rest_framework.authtoken.models import Token

    from alerts.models import Alert
    from alerts.selectors import alert_summary
    from rules.models import Rule

    admin = get_user_model().objects.get(username=ADMIN_USER)
    token, _ = Token.objects.get_or_create(user=admin)
    client = Client(headers={"Authorization": f"Token {token.key}"})
    get = client.get

    # The noisiest and the quietest high-priority rule: the planner picks different indexes for them.
    noisy = Rule.objects.filter(priority="high").order_by("-alert_count", "id").first()
    quiet = Rule.objects.filter(priority="high").order_by("alert_count", "id").first()
    resolved_one = Alert.objects.filter(status="resolved", acknowledged_at__isnull=False).order_by("-id").first()

    results = [measure("selector alert_summary()", "(in-process, no HTTP layer)", alert_summary)]
    first = "/api/v1/alerts?status=open"
    filtered = f"/api/v1/alerts?status=open,acknowledged&priority=high&rule={noisy.pk}"
    results.append(measure("(1) open alerts, first page", first, lambda: get(first)))
    results.append(measure("(2) open+ack, high, one rule", filtered, lambda: get(filtered)))
    following = page_path(orjson.loads(get(first).content).get("next"))
    if following:
        results.append(measure("(3) open alerts, 2nd page", following, lambda: get(following)))
    else:
        results.append(Measured("(3) open alerts, 2nd page", first, status=0, error="the first page had no `next`"))
    results.append(measure("(4) summary", "/api/v1/alerts/summary", lambda: get("/api/v1/alerts/summary")))
    for size in (10, 50, 200):
        path = f"/api/v1/alerts?page_size={size}"
        results.append(measure(f"(5) all alerts, page_size={size}", path, lambda path=path: get(path)))
    extras = [
        ("(x) open+ack, high, quiet rule", f"/api/v1/alerts?status=open,acknowledged&priority=high&rule={quiet.pk}"),
        ("(x) detail with history", f"/api/v1/alerts/{resolved_one.pk}" if resolved_one else None),
        ("(x) search by reference", f"/api/v1/alerts?search=ALR-{resolved_one.pk:06d}" if resolved_one else None),
        ("(x) search common word", "/api/v1/alerts?search=login"),
        ("(x) search rare text", "/api/v1/alerts?search=user04711@"),
    ]
    for label, path in extras:
        if path:
            results.append(measure(label, path, lambda path=path: get(path)))

    print_table(results)
    missed = [r for r in results if r.status == 200 and not r.ok]
    for result in results if always_explain else missed:
        print(f"\nEXPLAIN for {result.label}: {result.path}")
        explain(result.queries)
    return results


def print_table(results: list[Measured]) -> None:
    """Wall time is the verdict; python cpu ms (this process) and sql ms (the counted run) show where it went."""
    width = max(len(r.label) for r in results)
    head = f"{'median ms':>9}  {'p90 ms':>7}  {'cpu ms':>6}  {'sql ms':>6}  {'queries':>7}  {'rows':>4}"
    print(f"\n{'request':<{width}}  {head}  target {TARGET_MS:.0f} ms (median)")
    for r in results:
        if r.status != 200:
            print(f"{r.label:<{width}}  failed: HTTP {r.status} {r.error}")
            continue
        verdict = "ok" if r.ok else "MISSED"
        rows = "" if r.rows is None else str(r.rows)
        print(
            f"{r.label:<{width}}  {r.median:>9.1f}  {r.p90:>7.1f}  {r.cpu:>6.1f}  {r.sql_ms:>6.1f}  "
            f"{len(r.queries):>7}  {rows:>4}  {verdict}"
        )
    print()
    for r in results:
        print(f"  {r.label}: {r.path}")


# -- main -----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alerts", type=int, default=1_000_000, help="Alerts to seed (default 1000000).")
    parser.add_argument("--fresh", action="store_true", help="Drop and recreate the bench database first.")
    parser.add_argument(
        "--explain", action="store_true", help="EXPLAIN every request's slowest query, not only misses."
    )
    parser.add_argument(
        "--wait-minutes", type=int, default=20, help="How long to wait for the alerts API (default 20)."
    )
    args = parser.parse_args()
    if args.alerts < 1:
        parser.error("--alerts must be positive.")

    database_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    env = bench_env(database_url)
    version = database_ensure(database_url, fresh=args.fresh)
    manage({**os.environ, **env}, "migrate", "--noinput", "-v", "0")
    location = urlsplit(database_url)
    print(f"PostgreSQL {version} at {location.hostname}:{location.port or 5432}{location.path}")

    stored = alert_count(database_url)
    if stored == args.alerts:
        print(f"alerts_alert already holds {stored:,} alerts: not re-seeding (--fresh to start over)")
    else:
        print(f"seeding {args.alerts:,} alerts with COPY (the table held {stored:,})")
        started = time.perf_counter()
        seeded = database_seed(database_url, args.alerts)
        mix = ", ".join(f"{status} {n:,}" for status, n in sorted(seeded.by_status.items()))
        print(
            f"seeded {seeded.alerts:,} alerts ({mix}) and {seeded.transitions:,} transitions "
            f"in {time.perf_counter() - started:.1f}s"
        )

    os.environ.update(env)
    import django

    django.setup()
    from alerts.selectors import alert_summary

    if not api_available():
        print("the alerts API is not routed yet; meanwhile the selector alone:")
        print_table([measure("selector alert_summary()", "(in-process)", alert_summary)])
        if not api_wait(env, args.wait_minutes):
            raise SystemExit(f"no /api/v1/alerts after {args.wait_minutes} minutes")
        argv = [a for a in sys.argv[1:] if a != "--fresh"]
        os.execv(sys.executable, [sys.executable, str(Path(__file__).resolve()), *argv])

    load = os.getloadavg()[0]
    print(
        f"load average {load:.2f} on {os.cpu_count()} CPUs"
        + (" (busy machine: figures are inflated)" if load > 1 else "")
    )
    results = measurements(always_explain=args.explain)
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    if any(r.status != 200 for r in results):
        raise SystemExit(1)


if __name__ == "__main__":
    main()

"""Noise-control benchmark (issue 14): evaluation with snoozed rules against none, and the backtest of a
rule change (`preview-change`), over a million stored events and 10,000 rules on PostgreSQL.

Run from the repository root: `.venv/bin/python bench/noise.py [--quick] [--keep]`.

The database comes from DATABASE_URL (default postgres://postgres@127.0.0.1:5432/alertsite_bench_noise):
dropped, recreated and migrated on every run, unless `--keep` finds it seeded with the same --events,
--rules and --days. Seeding is COPY, never the ORM: 12 e-mail channels, --rules rules made by
bench/rules.py's seeded `RuleFactory` (one condition of three filters, 10% expressions; half of them
notify one or two channels, 30% group by initiator), and --events `EventSimulator(seed=1)` events spread
over the last --days days, stored through `events.validation` (the API's columns) straight into
`events_auditevent` with its secondary indexes rebuilt after the load.

Then, in-process with production-like settings (`alertsite.settings.base`, DEBUG off; the broker is
kombu's in-memory transport, so the delivery tasks that commits queue cost their publishing and
nothing consumes them):
  (a) evaluation throughput: the newest --eval-events events are marked pending and evaluated the
      way a worker does (`rules.evaluation.events_evaluate`, batches of ALERTSITE_EVALUATION_BATCH_SIZE:
      the engine, RuleMatch rows, alerts, audit events, the outbox), once with no rule snoozed and once
      with --snoozed rules snoozed (a seeded random sample: both sides have about the same work, so
      the difference is what checking snoozes costs), in --pairs interleaved pairs (which side goes
      first alternates); everything the previous run wrote is removed before each run, outside the clock. Prints each run, the medians and their ratio
      (target: at most 10% slower), and the engine alone (`match_batch`) for comparison.
      `--windows N` (default 50) adds N maintenance windows open over the evaluated events to the
      second side (`window_bodies`: weekly, rule-scoped, priority and type scoped; all mute
      notifications, so both sides raise the same alerts).
  (b) `POST /api/v1/rules/{id}/preview-change` over the last 7 days, for two edits of a rule on the
      busiest event type: the service (`rules.preview.rule_change_preview`) called directly and the
      endpoint through `django.test.Client` with a token (target: under 2 s).
  (c) `POST /api/v1/maintenance-windows/preview` over the last 7 days (the selector the endpoint
      calls), replaying the alerts of one evaluation run, for a daily recurring window over every
      rule and a one-off window scoped to a priority (target: under 2 s).
Nothing is asserted on time: the figures are printed, with the load average before and after.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import math
import os
import random
import secrets
import statistics
import sys
import time
from base64 import b64encode
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import orjson
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/alertsite_bench_noise"
BENCH_USER = "bench"
CHANNELS = 12
COPY_CHUNK = 50_000
PREVIEW_DAYS = 7
PREVIEW_RUNS = 3
TARGET_SLOWER = 0.10  # (a): the side with snoozes (and windows) at most 10% slower
TARGET_PREVIEW_SECONDS = 2.0
WINDOWS_MISSING = "maintenance windows: not available in this build"
SEED_TABLE = "bench_noise_seed"
EVENT_COLUMNS = (
    "event_id",
    "event_type",
    "service",
    "timestamp",
    "initiator",
    "resource",
    "client_ip",
    "success",
    "causal_depth",
    "payload",
    "received_at",
)


def bench_module(name: str) -> ModuleType:
    """Another bench script, under a name that does not shadow the Django apps (`rules`, `alerts`)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


bench_ingest = bench_module("ingest")  # database_ensure, manage


# -- set-up ---------------------------------------------------------------------------------------


def bench_env(database_url: str) -> dict[str, str]:
    """Production-like settings on the bench database; the test client's host is allowed; an in-memory broker."""
    return {
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "alertsite.settings.base",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DEBUG": "false",
        "ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
        # Not eager (deliveries are not sent in this process) and no Redis: queued tasks stay in memory.
        "CELERY_BROKER_URL": "memory://localhost/",
        "ALERTSITE_ENCRYPTION_KEY": os.environ.get("ALERTSITE_ENCRYPTION_KEY")
        or b64encode(secrets.token_bytes(32)).decode(),
    }


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


# -- seeding --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sizes:
    events: int
    rules: int
    days: int


def seeded_sizes(conn: psycopg.Connection) -> tuple[Sizes, datetime] | None:
    row = conn.execute(
        "SELECT 1 FROM information_schema.tables WHERE table_name = %s AND table_schema = current_schema()",
        [SEED_TABLE],
    ).fetchone()
    if row is None:
        return None
    row = conn.execute(f"SELECT events, rules, days, seeded_at FROM {SEED_TABLE}").fetchone()
    return (Sizes(row[0], row[1], row[2]), row[3]) if row else None


def zero_value(data_type: str) -> Any:
    """A filler for a NOT NULL column the seed does not name (a column added after this script)."""
    if data_type in ("integer", "smallint", "bigint", "numeric", "double precision", "real"):
        return 0
    if data_type == "boolean":
        return False
    if data_type in ("json", "jsonb"):
        return "[]"
    if data_type.startswith("timestamp"):
        return datetime.now(UTC)
    return ""


class Table:
    """COPY rows into a table by column name: NOT NULL columns without a database default that the
    caller does not give get a zero value of their type (Django keeps defaults in Python, not in
    the schema, so a new field would otherwise break the COPY)."""

    def __init__(self, conn: psycopg.Connection, name: str, given: tuple[str, ...]) -> None:
        self.name, self.given = name, given
        missing = conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND table_name = %s AND is_nullable = 'NO' AND column_default IS NULL AND is_identity = 'NO' "
            "ORDER BY ordinal_position",
            [name],
        ).fetchall()
        self.filled = [(column, zero_value(kind)) for column, kind in missing if column not in given]
        if self.filled:
            print(f"    {name}: filling {', '.join(column for column, _ in self.filled)} with zero values")
        self.columns = ", ".join(f'"{column}"' for column in (*given, *(c for c, _ in self.filled)))
        self.extra = tuple(value for _, value in self.filled)

    def copy(self, cursor: psycopg.Cursor, rows: Iterator[tuple[Any, ...]] | list[tuple[Any, ...]]) -> int:
        count = 0
        with cursor.copy(f"COPY {self.name} ({self.columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row((*row, *self.extra))
                count += 1
        return count


def user_ensure(conn: psycopg.Connection) -> int:
    now = datetime.now(UTC)
    conn.execute(
        "INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff, "
        "is_active, date_joined) VALUES ('!', true, %s, '', '', 'bench@example.com', true, true, %s) "
        "ON CONFLICT (username) DO NOTHING",
        [BENCH_USER, now],
    )
    return int(conn.execute("SELECT id FROM auth_user WHERE username = %s", [BENCH_USER]).fetchone()[0])


def channels_seed(conn: psycopg.Connection) -> list[int]:
    """A dozen e-mail channels (plain JSON config, nothing to encrypt)."""
    now = datetime.now(UTC)
    table = Table(conn, "channels_channel", ("kind", "name", "enabled", "config", "created_at", "updated_at"))
    rows = [
        (
            "email",
            f"Bench e-mail {i:02d}",
            True,
            orjson.dumps({"recipients": [f"soc{i}@example.com"], "roles": []}).decode(),
            now,
            now,
        )
        for i in range(1, CHANNELS + 1)
    ]
    with conn.cursor() as cursor:
        table.copy(cursor, rows)
    return [pk for (pk,) in conn.execute("SELECT id FROM channels_channel ORDER BY id")]


def rule_conditions(bench_rules: ModuleType, count: int) -> list[dict[str, Any]]:
    """`count` conditions from bench/rules.py's RuleFactory (the same seeded mix as that bench)."""
    from alertsite.demo.simulator import EventSimulator
    from rules.conditions import conditions_parse
    from rules.expression import filters_to_expression

    simulator = EventSimulator(seed=1)
    sample = list(simulator.events(20_000, start=datetime(2025, 1, 6, 9, tzinfo=UTC), rate_per_second=500))
    factory = bench_rules.RuleFactory(simulator, sample, seed=7)
    conditions = []
    for index in range(count):
        event_type = factory.event_type()
        filters = [factory.equality(event_type), *factory.others(event_type)]
        factory.rng.shuffle(filters)
        if math.floor((index + 1) * 0.1) > math.floor(index * 0.1):
            condition = {"event_type": event_type, "expression": filters_to_expression(filters, "all")}
        else:
            condition = {"event_type": event_type, "match": "all", "filters": filters}
        conditions_parse([condition])  # a rule the API would have accepted
        conditions.append(condition)
    return conditions


def rules_seed(conn: psycopg.Connection, bench_rules: ModuleType, count: int, admin_id: int) -> None:
    rng = random.Random(20261207)
    now = datetime.now(UTC)
    channel_ids = channels_seed(conn)
    priorities = ["high"] * 2 + ["medium"] * 5 + ["low"] * 3
    table = Table(
        conn,
        "rules_rule",
        (
            "name",
            "description",
            "enabled",
            "priority",
            "template",
            "conditions",
            "selected_event_types",
            "generate_alerts",
            "send_notifications",
            "notify_on_acknowledge",
            "notify_on_resolve",
            "existing_conditions",
            "group_by",
            "group_window_minutes",
            "remind_every_minutes",
            "remind_max",
            "created_at",
            "updated_at",
            "alert_count",
            "match_count",
            "backfill_status",
            "backfill_total",
            "backfill_done",
            "backfill_matched",
            "backfill_error",
            "snooze_note",
            "created_by_id",
            "updated_by_id",
        ),
    )
    rows = []
    notifying = []
    for index, condition in enumerate(rule_conditions(bench_rules, count), start=1):
        event_type = condition["event_type"]
        notify = rng.random() < 0.5
        grouped = rng.random() < 0.3
        notifying.append(notify)
        rows.append(
            (
                f"Noise bench rule {index:05d} {event_type}",
                "",
                True,
                rng.choice(priorities),
                "event_based",
                orjson.dumps([condition]).decode(),
                f" {event_type} ",
                True,
                notify,
                False,
                False,
                False,
                '["initiated_by.email"]' if grouped else "[]",
                60 if grouped else 0,
                30 if notify and rng.random() < 0.2 else None,
                3,
                now,
                now,
                0,
                0,
                "idle",
                0,
                0,
                0,
                "",
                "",
                admin_id,
                admin_id,
            )
        )
    with conn.cursor() as cursor:
        table.copy(cursor, rows)
        ids = [pk for (pk,) in conn.execute("SELECT id FROM rules_rule ORDER BY id")]
        links = [
            (rule_id, channel_id)
            for rule_id, notify in zip(ids, notifying, strict=True)
            if notify
            for channel_id in rng.sample(channel_ids, k=rng.choice([1, 1, 2]))
        ]
        with cursor.copy("COPY rules_rule_channels (rule_id, channel_id) FROM STDIN") as copy:
            for link in links:
                copy.write_row(link)


def event_rows(total: int, days: int, now: datetime) -> Iterator[list[tuple[Any, ...]]]:
    """Simulated events (seed 1) over the last `days` days, as the API would store them, a chunk at a time."""
    from alertsite.demo.simulator import EventSimulator
    from events.validation import EventRecord, Limits, event_validate

    span = days * 86400
    # The simulator's gaps are exponential: the sum of a million of them ends within ~1 h of the
    # mean, so start 2 h early and clip the rare late ones to a minute ago.
    start = now - timedelta(seconds=span + 7200)
    latest = now - timedelta(minutes=1)
    latest_text = latest.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    limits = Limits.from_settings()
    events = EventSimulator(seed=1).events(total, start=start, rate_per_second=total / span)
    chunk: list[tuple[Any, ...]] = []
    for index, event in enumerate(events):
        if event["timestamp"] > latest_text:
            event["timestamp"] = latest_text
        record = event_validate(event, index=index, limits=limits)
        assert isinstance(record, EventRecord), record
        chunk.append(
            (
                record.event_id,
                record.event_type,
                record.service,
                record.timestamp,
                record.initiator,
                record.resource,
                record.client_ip,
                record.success,
                0,
                record.payload_json,
                record.timestamp + timedelta(seconds=2),
            )
        )
        if len(chunk) == COPY_CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def events_seed(conn: psycopg.Connection, total: int, days: int) -> None:
    indexes = conn.execute(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = current_schema() "
        "AND i.tablename = 'events_auditevent' AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)"
    ).fetchall()
    for name, _ in indexes:
        conn.execute(f'DROP INDEX "{name}"')
    table = Table(conn, "events_auditevent", EVENT_COLUMNS)
    started, copied = time.perf_counter(), 0
    with conn.cursor() as cursor:
        for chunk in event_rows(total, days, datetime.now(UTC)):
            copied += table.copy(cursor, chunk)
            if copied % 250_000 == 0 or copied == total:
                print(f"    copied {copied:,} events ({time.perf_counter() - started:.0f}s)")
    started = time.perf_counter()
    for _, definition in indexes:
        conn.execute(definition)
    print(f"    rebuilt {len(indexes)} indexes of events_auditevent in {time.perf_counter() - started:.1f}s")


def database_seed(database_url: str, sizes: Sizes, bench_rules: ModuleType) -> None:
    started = time.perf_counter()
    with psycopg.connect(database_url) as conn:
        conn.execute("SET maintenance_work_mem = '512MB'")
        conn.execute(
            "TRUNCATE events_auditevent, rules_rule, channels_channel, alerts_alert, rules_rulematch "
            "RESTART IDENTITY CASCADE"
        )
        admin_id = user_ensure(conn)
        rules_seed(conn, bench_rules, sizes.rules, admin_id)
        print(f"    {sizes.rules:,} rules and {CHANNELS} channels in {time.perf_counter() - started:.1f}s")
        events_seed(conn, sizes.events, sizes.days)
        conn.execute(f"DROP TABLE IF EXISTS {SEED_TABLE}")
        conn.execute(f"CREATE TABLE {SEED_TABLE} (events integer, rules integer, days integer, seeded_at timestamptz)")
        conn.execute(f"INSERT INTO {SEED_TABLE} VALUES (%s, %s, %s, now())", [sizes.events, sizes.rules, sizes.days])
        conn.commit()
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) events_auditevent, rules_rule, rules_rule_channels, channels_channel")
    print(f"seeded in {time.perf_counter() - started:.0f}s")


# -- (a) evaluation -------------------------------------------------------------------------------


def windows_available() -> bool:
    import alerts.models

    return hasattr(alerts.models, "MaintenanceWindow")


def window_bodies(count: int, *, rule_ids: list[int], event_types: list[str]) -> list[dict[str, Any]]:
    """`count` window bodies open over the evaluated events, in the shapes people write: a third
    weekly (every day of the week, so each is open now), a third scoped to a few rules, a third to a
    priority and an event type; all mute notifications, so both sides raise the same alerts and the
    difference is what deciding the windows costs."""
    picker = random.Random(50)
    now = datetime.now(UTC)
    bodies = []
    for n in range(count):
        body: dict[str, Any] = {
            "name": f"bench window {n}",
            "reason": "bench/noise.py",
            "starts_at": (now - timedelta(days=40)).isoformat(),
            "ends_at": (now + timedelta(days=1)).isoformat(),
            "timezone": picker.choice(["UTC", "Europe/Berlin", "America/New_York"]),
            "recurrence": None,
            "scope": {"rules": [], "priorities": [], "event_types": []},
            "mute": "notifications",
        }
        if n % 3 == 0:
            start = (now - timedelta(days=40)).replace(hour=0, minute=0, second=0, microsecond=0)
            body["starts_at"], body["ends_at"] = (
                start.isoformat(),
                (start + timedelta(hours=23, minutes=59)).isoformat(),
            )
            body["recurrence"] = "RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR,SA,SU"
            body["scope"]["rules"] = picker.sample(rule_ids, k=min(5, len(rule_ids)))
        elif n % 3 == 1:
            body["scope"]["rules"] = picker.sample(rule_ids, k=min(20, len(rule_ids)))
        else:
            body["scope"]["priorities"] = [picker.choice(["low", "medium", "high"])]
            body["scope"]["event_types"] = picker.sample(event_types, k=min(2, len(event_types)))
        bodies.append(body)
    return bodies


def windows_seed(count: int) -> int:
    """Create `count` maintenance windows open over the evaluated events (through the service, with
    its checks); return how many were made."""
    if count <= 0 or not windows_available():
        return 0
    from alerts.services.maintenance import window_create
    from events.models import EventType
    from rules.models import Rule

    rule_ids = sorted(Rule.objects.values_list("pk", flat=True))
    event_types = sorted(EventType.objects.filter(known=True).values_list("name", flat=True))
    for body in window_bodies(count, rule_ids=rule_ids, event_types=event_types):
        window_create(data=body, actor=None, rules_known=None)
    return count


def windows_clear() -> None:
    """Remove the windows `windows_seed` made (before each run without them)."""
    if windows_available():
        import alerts.models

        alerts.models.MaintenanceWindow.objects.all().delete()  # type: ignore[attr-defined]


def alerts_for_window_preview(args: argparse.Namespace) -> None:
    """Leave the alerts of one evaluation run (no snoozes, no windows) in place for (c) to replay."""
    from django.db import connection

    from events.models import AuditEvent

    with connection.cursor() as cursor:
        cursor.execute("SELECT max(id) FROM events_auditevent WHERE causal_depth = 0")
        max_event_pk = int(cursor.fetchone()[0])
    newest = AuditEvent.objects.filter(causal_depth=0).order_by("-timestamp", "-id")[: args.eval_events]
    run = evaluation_run(
        "none", sorted(newest.values_list("pk", flat=True)), snoozed=[], windows=0, max_event_pk=max_event_pk
    )
    print(f"\n(c) replays the {run.alerts:,} alerts of one evaluation run of the newest {run.events:,} events")


def window_preview_measure() -> None:
    """(c) `POST /api/v1/maintenance-windows/preview` over the last 7 days, through the selector the
    endpoint calls: a weekend-style recurring window over every rule, and one scoped to a priority."""
    from alerts.selectors import window_preview
    from alerts.services.maintenance import window_spec_from_body

    now = datetime.now(UTC)
    start = (now - timedelta(days=14)).replace(hour=0, minute=0, second=0, microsecond=0)
    bodies = {
        "every day 00:00-20:00, all rules": {
            "name": "preview",
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=20)).isoformat(),
            "timezone": "Europe/Berlin",
            "recurrence": "RRULE:FREQ=DAILY",
            "scope": {"rules": [], "priorities": [], "event_types": []},
            "mute": "notifications",
        },
        "one-off 7 days, high priority": {
            "name": "preview",
            "starts_at": (now - timedelta(days=7)).isoformat(),
            "ends_at": now.isoformat(),
            "timezone": "UTC",
            "recurrence": None,
            "scope": {"rules": [], "priorities": ["high"], "event_types": []},
            "mute": "alerts",
        },
    }
    print("\n(c) maintenance window preview over the last 7 days (the API's selector)")
    for label, body in bodies.items():
        spec = window_spec_from_body(body, rules_known=None)
        seconds = []
        result: dict[str, Any] = {}
        for _ in range(PREVIEW_RUNS):
            started = time.perf_counter()
            result = window_preview(spec)
            seconds.append(time.perf_counter() - started)
        median = statistics.median(seconds)
        verdict = "meets" if median < TARGET_PREVIEW_SECONDS else "MISSES"
        print(
            f"    {label}: {median:.2f} s (median of {PREVIEW_RUNS}; {verdict} target under "
            f"{TARGET_PREVIEW_SECONDS:.0f} s); would have muted {result.get('alerts', 0):,} alerts, "
            f"{result.get('notifications', 0):,} notifications"
        )


@dataclass
class EvalRun:
    side: str
    seconds: float
    events: int
    matches: int
    new_matches: int
    alerts: int
    deliveries: int

    @property
    def rate(self) -> float:
        return self.events / self.seconds


def run_reset(max_event_pk: int) -> None:
    """Remove what the previous run wrote, so every run starts from the same state (not timed)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE alerts_alert, rules_rulematch, channels_delivery, events_pendingevaluation "
            "RESTART IDENTITY CASCADE"
        )
        cursor.execute("DELETE FROM events_auditevent WHERE id > %s", [max_event_pk])  # the runs' audit events
        cursor.execute("UPDATE rules_rule SET snoozed_until = NULL, snoozed_by_id = NULL, snooze_note = ''")


def snooze_set(rule_ids: list[int]) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE rules_rule SET snoozed_until = now() + interval '1 day', snooze_note = 'bench' WHERE id = ANY(%s)",
            [rule_ids],
        )


def pending_mark(pks: list[int]) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO events_pendingevaluation (event_id, received_at) SELECT unnest(%s::bigint[]), now()",
            [pks],
        )


def evaluation_run(side: str, pks: list[int], *, snoozed: list[int], windows: int, max_event_pk: int) -> EvalRun:
    from django.conf import settings
    from django.db import connection

    from rules.evaluation import events_evaluate

    run_reset(max_event_pk)
    windows_clear()
    if side != "none":
        snooze_set(snoozed)
        windows_seed(windows)
    pending_mark(pks)
    size = settings.ALERTSITE_EVALUATION_BATCH_SIZE
    batches = [pks[start : start + size] for start in range(0, len(pks), size)]
    gc.collect()
    events = matches = new = 0
    started = time.perf_counter()
    for batch in batches:
        result = events_evaluate(event_pks=batch)
        events, matches, new = events + result.events, matches + result.matches, new + result.new_matches
    elapsed = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("SELECT (SELECT count(*) FROM alerts_alert), (SELECT count(*) FROM channels_delivery)")
        alerts, deliveries = cursor.fetchone()
    return EvalRun(side, elapsed, events, matches, new, alerts, deliveries)


def evaluation_measure(args: argparse.Namespace) -> list[EvalRun]:
    from django.db import connection

    from events.models import AuditEvent
    from rules.models import Rule
    from rules.selectors import engine_current, engine_reset

    with connection.cursor() as cursor:
        cursor.execute("SELECT max(id) FROM events_auditevent WHERE causal_depth = 0")
        max_event_pk = int(cursor.fetchone()[0])
    newest = AuditEvent.objects.filter(causal_depth=0).order_by("-timestamp", "-id")[: args.eval_events]
    pks = sorted(newest.values_list("pk", flat=True))
    payloads = [payload for _, payload in sorted(AuditEvent.objects.filter(pk__in=pks).values_list("pk", "payload"))]

    engine_reset()
    started = time.perf_counter()
    engine = engine_current()
    print(f"engine over {engine.rule_count:,} enabled rules built in {time.perf_counter() - started:.2f}s")
    best, hits = math.inf, []
    for _ in range(3):
        gc.collect()
        started = time.perf_counter()
        hits = engine.match_batch(payloads)
        best = min(best, time.perf_counter() - started)
    per_rule = Counter(rule_id for _, rule_id in hits)
    print(
        f"engine alone (match_batch, best of 3): {len(payloads) / best:,.0f} events/s over the newest "
        f"{len(payloads):,} events, {len(hits):,} matches of {len(per_rule):,} rules"
    )
    # A seeded random 500: the work left to do stays about the same on both sides, so the difference
    # is what checking snoozes costs (snoozing the noisiest rules would mostly save deliveries).
    all_rules = sorted(Rule.objects.values_list("pk", flat=True))
    snoozed = sorted(random.Random(500).sample(all_rules, k=min(args.snoozed, len(all_rules))))
    on_snoozed = sum(per_rule[rule_id] for rule_id in snoozed)
    print(
        f"snoozed side: {len(snoozed):,} rules picked at random (seeded), "
        f"{on_snoozed:,} of the {len(hits):,} matches ({on_snoozed / max(1, len(hits)):.0%}) are theirs"
    )
    if args.windows:
        print(
            f"{WINDOWS_MISSING}: --windows {args.windows} ignored"
            if not windows_available()
            else f"with {args.windows} maintenance windows (windows_seed)"
        )
    print(f"load average before (a): {load_average()}")
    header = (
        f"{'pair':>4}  {'side':<8}  {'seconds':>8}  {'events/s':>9}  {'matches':>8}  {'alerts':>7}  {'deliveries':>10}"
    )
    print(header)
    print("-" * len(header))
    runs: list[EvalRun] = []
    for pair in range(1, args.pairs + 1):
        sides = ("none", "snoozed") if pair % 2 else ("snoozed", "none")
        for side in sides:
            run = evaluation_run(side, pks, snoozed=snoozed, windows=args.windows, max_event_pk=max_event_pk)
            runs.append(run)
            print(
                f"{pair:>4}  {side:<8}  {run.seconds:>8.2f}  {run.rate:>9,.0f}  {run.matches:>8,}  "
                f"{run.alerts:>7,}  {run.deliveries:>10,}"
            )
    run_reset(max_event_pk)
    none = statistics.median(run.rate for run in runs if run.side == "none")
    with_snoozes = statistics.median(run.rate for run in runs if run.side == "snoozed")
    ratio = with_snoozes / none
    slower = 1 - ratio
    verdict = "meets" if slower <= TARGET_SLOWER else "MISSES"
    print(
        f"(a) median events/s: none {none:,.0f}, {len(snoozed):,} snoozed {with_snoozes:,.0f}; "
        f"ratio {ratio:.3f} ({slower:+.1%} slower; {verdict} target at most {TARGET_SLOWER:.0%} slower)"
    )
    print(f"load average after (a): {load_average()}")
    return runs


# -- (b) preview-change ---------------------------------------------------------------------------


@dataclass
class PreviewFigure:
    label: str
    seconds: list[float] = field(default_factory=list)
    api_seconds: list[float] = field(default_factory=list)
    scanned: int = 0
    summary: str = ""
    error: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.seconds) if self.seconds else math.nan

    @property
    def api_median(self) -> float:
        return statistics.median(self.api_seconds) if self.api_seconds else math.nan


def preview_edits() -> tuple[int, list[tuple[str, dict[str, Any]]]]:
    """A rule on the busiest event type of the last days, and two edits of it."""
    from events.models import AuditEvent
    from rules.models import Rule

    since = datetime.now(UTC) - timedelta(days=PREVIEW_DAYS)
    busiest = Counter(
        AuditEvent.objects.filter(timestamp__gte=since, causal_depth=0).values_list("event_type", flat=True)[:50_000]
    ).most_common(1)[0][0]
    rule = (
        Rule.objects.filter(selected_event_types=f" {busiest} ", conditions__0__filters__isnull=False)
        .order_by("pk")
        .first()
    )
    if rule is None:
        rule = Rule.objects.filter(selected_event_types=f" {busiest} ").order_by("pk").first()
    assert rule is not None, f"no rule on {busiest}"
    condition = rule.conditions[0]
    narrowed = {**condition}
    if "filters" in condition:
        narrowed["filters"] = [f for f in condition["filters"] if f.get("key") != "success"] or condition["filters"]
    edits = [
        ("one filter less", {"conditions": [narrowed]}),
        (
            f"every {busiest} that failed, grouped by initiator for an hour",
            {
                "conditions": [
                    {
                        "event_type": busiest,
                        "match": "all",
                        "filters": [{"key": "success", "operator": "eq", "value": False}],
                    }
                ],
                "group_by": ["initiated_by.email"],
                "group_window_minutes": 60,
            },
        ),
    ]
    return rule.pk, edits


def preview_measure(api: bool) -> list[PreviewFigure]:
    from django.test import Client
    from rest_framework.authtoken.models import Token

    from rules.models import Rule
    from rules.preview import rule_change_preview
    from rules.validation import rule_validate, rule_values

    rule_id, edits = preview_edits()
    rule = Rule.objects.get(pk=rule_id)
    print(f"\n(b) preview-change of rule {rule_id} ({rule.name}) over the last {PREVIEW_DAYS} days")
    token, _ = Token.objects.get_or_create(user_id=Rule.objects.get(pk=rule_id).created_by_id)
    client = Client(headers={"Authorization": f"Token {token.key}"})
    figures = []
    for label, body in edits:
        figure = PreviewFigure(label)
        for run in range(PREVIEW_RUNS + 1):  # the first is a warm-up
            since = datetime.now(UTC) - timedelta(days=PREVIEW_DAYS)
            started = time.perf_counter()
            result = rule_change_preview(
                before=rule_values(rule),
                after=rule_validate(dict(body), instance=rule, check_name=False),
                since=since,
            )
            elapsed = time.perf_counter() - started
            if run:
                figure.seconds.append(elapsed)
            figure.scanned = result.scanned
            e, a = result.events, result.alerts
            figure.summary = (
                f"events {e.before:,} -> {e.after:,} (+{e.added:,} -{e.removed:,}), "
                f"alerts {a.before:,} -> {a.after:,} (+{a.added:,} -{a.removed:,})"
                + (", truncated" if result.truncated else "")
            )
        if api:
            for run in range(PREVIEW_RUNS + 1):
                started = time.perf_counter()
                response = client.post(
                    f"/api/v1/rules/{rule_id}/preview-change", data=orjson.dumps(body), content_type="application/json"
                )
                elapsed = time.perf_counter() - started
                if response.status_code != 200:
                    figure.error = f"HTTP {response.status_code}: {response.content[:300]!r}"
                    break
                if run:
                    figure.api_seconds.append(elapsed)
        figures.append(figure)
        verdict = "meets" if max(figure.median, figure.api_median if api else 0) < TARGET_PREVIEW_SECONDS else "MISSES"
        api_text = f", API {figure.api_median:.2f} s" if api and not figure.error else ""
        print(
            f"    {label}: service {figure.median:.2f} s{api_text} (median of {PREVIEW_RUNS}; {verdict} target "
            f"under {TARGET_PREVIEW_SECONDS:.0f} s); scanned {figure.scanned:,}; {figure.summary}"
        )
        if figure.error:
            print(f"    API failed: {figure.error}")
    return figures


# -- main -----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=None, help="Stored events (default 1000000; --quick 50000).")
    parser.add_argument("--rules", type=int, default=None, help="Rules (default 10000; --quick 1000).")
    parser.add_argument("--days", type=int, default=30, help="Days the events span (default 30).")
    parser.add_argument("--pairs", type=int, default=5, help="Interleaved pairs of evaluation runs (default 5).")
    parser.add_argument(
        "--eval-events", type=int, default=None, help="Events evaluated a run (default 5000; --quick 1000)."
    )
    parser.add_argument(
        "--snoozed", type=int, default=None, help="Rules snoozed on one side (default 500; --quick 50)."
    )
    parser.add_argument(
        "--windows", type=int, default=50, help="Active maintenance windows on that side, once they exist (default 50)."
    )
    parser.add_argument("--keep", action="store_true", help="Reuse the seeded database when its sizes match.")
    parser.add_argument("--quick", action="store_true", help="Small sizes: a run well under a minute.")
    parser.add_argument("--skip-api", action="store_true", help="(b) through the service only.")
    parser.add_argument("--parts", default="abc", help="Which of (a), (b), (c) to run (default abc).")
    args = parser.parse_args()
    args.events = args.events or (50_000 if args.quick else 1_000_000)
    args.rules = args.rules or (1_000 if args.quick else 10_000)
    args.eval_events = args.eval_events or (1_000 if args.quick else 5_000)
    args.snoozed = args.snoozed if args.snoozed is not None else (50 if args.quick else 500)
    if (
        min(args.events, args.rules, args.days, args.pairs, args.eval_events) < 1
        or args.snoozed < 0
        or args.windows < 0
    ):
        parser.error("sizes must be positive (--snoozed and --windows may be 0).")
    sizes = Sizes(args.events, args.rules, args.days)

    database_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    env = bench_env(database_url)
    location = urlsplit(database_url)
    seeded = None
    if args.keep:
        version = bench_ingest.database_ensure(database_url)
        with psycopg.connect(database_url) as conn:
            seeded = seeded_sizes(conn)
        if seeded is not None and seeded[0] != sizes:
            print(f"--keep: the database was seeded with {seeded[0]}, not {sizes}: seeding again")
            seeded = None
    else:
        version = bench_ingest.database_ensure(database_url, fresh=True)
    started = time.perf_counter()
    bench_ingest.manage({**os.environ, **env}, "migrate", "--noinput", "-v", "0")
    print(
        f"PostgreSQL {version} at {location.hostname}:{location.port or 5432}{location.path}, "
        f"migrated in {time.perf_counter() - started:.1f}s"
    )

    os.environ.update(env)
    bench_rules = bench_module("rules")  # sets Django up (with the settings above)

    if seeded is None:
        print(f"seeding {args.events:,} events over {args.days} days and {args.rules:,} rules with COPY")
        database_seed(database_url, sizes, bench_rules)
    else:
        age = datetime.now(UTC) - seeded[1]
        print(
            f"--keep: reusing {args.events:,} events and {args.rules:,} rules seeded {age.total_seconds() / 3600:.1f} h ago"
        )

    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {load_average()}; "
        f"{args.eval_events:,} events a run, {args.pairs} pairs\n"
    )
    runs = evaluation_measure(args) if "a" in args.parts else []
    figures = preview_measure(api=not args.skip_api) if "b" in args.parts else []
    if "c" in args.parts:
        if not windows_available():
            print(f"\n(c) maintenance window preview: {WINDOWS_MISSING}")
        else:
            if "a" in args.parts:
                alerts_for_window_preview(args)
            window_preview_measure()
    print(f"load average at the end: {load_average()}")
    if any(figure.error for figure in figures) or any(run.events != args.eval_events for run in runs):
        raise SystemExit(1)


if __name__ == "__main__":
    main()

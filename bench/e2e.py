"""End-to-end benchmark: COPY, API, sustained ingest + evaluate, an alert storm and accepted -> webhook latency.

Run from the repository root: `.venv/bin/python bench/e2e.py [--events 50000] [--storm 20000] [--latency-seconds 30]`.

In one run, on PostgreSQL + Redis with real processes (gunicorn -w 2 for the API, `celery -A
alertsite worker -c 2`), it prints
  (a) rows/s of a raw COPY of simulated events into a bare table (the ceiling);
  (b) events/s accepted by `POST /api/v1/events` (batches of 1,000, 2 client threads, no worker);
  (c) sustained ingest + evaluate: the same number of new events POSTed with the worker running
      and 100 rules (bench/rules.py's RuleFactory, ~8% of events matching), timed until no event
      is left unevaluated;
  (d) an alert storm: N `alert.created` deliveries to one webhook channel written in one
      transaction and handed to the workers as evaluation hands them (one task per 50 after
      commit); time from the first webhook received until the last (as for Alertmanager);
  (e) event accepted (202) -> webhook received at a steady 50 events/s, one event per request,
      p50/p95/p99;
and the CPU each kind of process used in (c), (d) and (e), from /proc/PID/stat: gunicorn, celery,
the PostgreSQL backends of the bench database, this process (clients and receiver), and how
many PostgreSQL sessions were opened (pg_stat_database.sessions).
The database comes from DATABASE_URL (default postgres://postgres@127.0.0.1:5432/alertsite_bench_e2e);
it is created and migrated if needed and emptied first. The broker is Redis db 10
(BENCH_BROKER_URL), flushed before and after.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import secrets
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
import psycopg
import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from delivery import (  # noqa: E402
    PAYLOAD_TEMPLATE,
    STAGES_SQL,
    Workers,
    api_call,
    bench_env,
    paced_send,
    percentile,
)
from hookreceiver import Arrival, HookReceiver  # noqa: E402
from ingest import (  # noqa: E402
    bench_api,
    bench_copy,
    database_ensure,
    free_port,
    gunicorn_start,
    gunicorn_stop,
    healthz_wait,
    manage,
    superuser_ensure,
    token_obtain,
    warm_up,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/alertsite_bench_e2e"
BROKER_URL = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/10")
RULES = 100
BATCH = 1000  # events per API request in (b) and (c)
STORM_CHUNK = 50  # deliveries per task, as channels.services queues them after commit
WORKER_CONCURRENCY = 2
TICKS = os.sysconf("SC_CLK_TCK")


# -- CPU per process --------------------------------------------------------------------------------


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, utime + stime in ticks) of a live process."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[1]), int(fields[11]) + int(fields[12])


def _descendants(roots: list[int]) -> set[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            parents[int(entry.name)] = stat[0]
    found = set(roots)
    grew = True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in found and pid not in found:
                found.add(pid)
                grew = True
    return {pid for pid in found if pid in parents}


class CpuMeter:
    """CPU seconds per kind of process over one phase, sampled every 0.5 s so short-lived
    processes (a PostgreSQL backend per Celery task) are counted too.

    `roots` maps a label to the pids whose process trees it covers; "postgres" is every
    backend connected to the bench database (pg_stat_activity). Other engineers' processes on
    the machine are not counted, but the machine-wide busy share (/proc/stat) is shown too.
    """

    def __init__(self, database_url: str, roots: dict[str, list[int]]) -> None:
        self.database = urlsplit(database_url).path.lstrip("/")
        self.database_url = database_url
        self.roots = roots
        self.first: dict[int, int] = {}
        self.last: dict[int, int] = {}
        self.label: dict[int, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="cpu-meter", daemon=True)
        self.seconds = 0.0
        self.sessions = 0
        self.machine_busy = 0.0

    def _pids(self, conn: psycopg.Connection[Any]) -> dict[int, str]:
        pids: dict[int, str] = {}
        for label, roots in self.roots.items():
            for pid in _descendants(roots):
                pids[pid] = label
        rows = conn.execute(
            "SELECT pid, backend_type FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [self.database],
        ).fetchall()
        for pid, backend_type in rows:
            # Autovacuum cleaning up after an earlier part is not this part's queries: shown apart.
            pids[pid] = "autovacuum" if backend_type == "autovacuum worker" else "postgres"
        return pids

    def _sample(self, conn: psycopg.Connection[Any], *, baseline: bool) -> None:
        for pid, label in self._pids(conn).items():
            stat = _stat(pid)
            if stat is None:
                continue
            self.label[pid] = label
            if pid not in self.first:
                self.first[pid] = stat[1] if baseline else 0
            self.last[pid] = stat[1]

    def _loop(self) -> None:
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            while not self._stop.wait(0.5):
                self._sample(conn, baseline=False)
            self._sample(conn, baseline=False)

    def _sessions(self) -> int:
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            row = conn.execute("SELECT sessions FROM pg_stat_database WHERE datname = %s", [self.database]).fetchone()
        return int(row[0]) if row else 0

    @staticmethod
    def _machine() -> tuple[int, int]:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        idle = values[3] + values[4]
        return sum(values) - idle, sum(values)

    def __enter__(self) -> CpuMeter:
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            self._sample(conn, baseline=True)
        self._sessions_start = self._sessions()
        self._self_start = os.times()
        self._machine_start = self._machine()
        self._started = time.perf_counter()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self.seconds = time.perf_counter() - self._started
        times = os.times()
        self.own = (times.user + times.system) - (self._self_start.user + self._self_start.system)
        self.sessions = self._sessions() - self._sessions_start - 1  # less the meter's own
        busy, total = self._machine()
        self.machine_busy = (busy - self._machine_start[0]) / max(1, total - self._machine_start[1])

    def by_label(self) -> dict[str, float]:
        used: dict[str, float] = {}
        for pid, label in self.label.items():
            used[label] = used.get(label, 0.0) + (self.last[pid] - self.first[pid]) / TICKS
        used["bench process"] = self.own
        return used

    def line(self) -> str:
        parts = [
            f"{label} {cpu:,.1f} s ({100 * cpu / self.seconds:.0f}% of a core)"
            for label, cpu in sorted(self.by_label().items())
        ]
        return (
            f"CPU over {self.seconds:.1f} s: {', '.join(parts)}; machine {100 * self.machine_busy:.0f}% busy "
            f"(every core, every process); alertsite's processes {100 * self.servers_share():.0f}% of the machine "
            f"({self.servers_seconds():,.1f} s: the bench's own client, receiver and meter left out); "
            f"{self.sessions:,} PostgreSQL sessions opened"
        )

    def servers_seconds(self) -> float:
        """CPU seconds of the measured processes (not the bench's own client, receiver and meter)."""
        return sum(cpu for label, cpu in self.by_label().items() if label != "bench process")

    def servers_share(self) -> float:
        """The machine's share the measured processes used."""
        return self.servers_seconds() / max(1e-9, self.seconds * (os.cpu_count() or 1))


# -- set-up -----------------------------------------------------------------------------------------


def django_setup(env: dict[str, str]) -> None:
    """This process writes rows and queues tasks as the web process would, on the bench settings."""
    for key in (
        "DATABASE_URL",
        "DJANGO_SETTINGS_MODULE",
        "SECRET_KEY",
        "DEBUG",
        "ALLOWED_HOSTS",
        "CELERY_BROKER_URL",
        "ALERTSITE_WEBHOOK_ALLOW_PRIVATE",
        "ALERTSITE_ENCRYPTION_KEY",
    ):
        os.environ[key] = env[key]
    import django

    django.setup()


def tables_empty(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        conn.execute("TRUNCATE events_auditevent, rules_rule, channels_channel RESTART IDENTITY CASCADE")


def events_pending(database_url: str) -> int:
    """Accepted events not yet evaluated: the pending-evaluation rows (what `GET /api/v1/events/evaluation`
    counts), read straight from the database so polling it costs the product nothing."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM events_pendingevaluation").fetchone()
    return int(row[0]) if row else 0


def simulated_events(count: int, parts: int) -> list[list[dict[str, Any]]]:
    """`parts` lists of `count` distinct simulated events (one seeded stream, so every run sends the same)."""
    from alertsite.demo.simulator import EventSimulator

    events = list(EventSimulator(seed=1).events(count * parts, start=datetime.now(UTC), rate_per_second=500))
    return [events[i * count : (i + 1) * count] for i in range(parts)]


MATCHING_SHARE = 0.08  # of events matched by at least one rule, as in the measurement


def bench_rules(sample: list[dict[str, Any]], count: int) -> tuple[list[dict[str, Any]], float]:
    """`count` rule conditions, as API dicts, matching ~8% of the events; and the share they match.

    Most are bench/rules.py's seeded RuleFactory rules (loaded under another name: `rules` is the
    Django app; its parser is wrapped to keep each condition as written). Those are narrow (under
    1% of events together), so the last few are swapped for broader ones ("failed <type>",
    seeded and greedy) until the share measured on the sample by rules.engine is about 8%.
    """
    spec = importlib.util.spec_from_file_location("bench_rules", ROOT / "bench" / "rules.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    written: list[dict[str, Any]] = []
    parse = module.conditions_parse

    def keep(conditions: list[dict[str, Any]], **kwargs: Any) -> Any:
        written.append(conditions[0])
        return parse(conditions, **kwargs)

    module.conditions_parse = keep
    from alertsite.demo.simulator import TRAFFIC_MIX, EventSimulator
    from events.catalog import EVENT_TYPES, keys_for
    from rules.conditions import conditions_parse
    from rules.engine import RuleEngine, RuleSpec

    module.RuleFactory(EventSimulator(seed=1), sample, seed=7).rules(count, 0.0)
    catalog = [event_type.name for event_type in EVENT_TYPES]

    failed = {"key": "success", "operator": "eq", "value": False}
    no_mfa = {"key": "mfa", "operator": "eq", "value": False}
    broad = [
        {"event_type": name, "match": "all", "filters": filters}
        for name, _ in TRAFFIC_MIX
        for filters in ([failed, no_mfa], [failed], [])
        if all(f["key"] in keys_for(name) for f in filters)
    ]
    # One engine over every rule and candidate, one pass: which events each one matches.
    every = [*written, *broad]
    specs = [RuleSpec(id=n, conditions=tuple(conditions_parse([c], event_types=catalog))) for n, c in enumerate(every)]
    hits: list[set[int]] = [set() for _ in every]
    for position, rule in RuleEngine(specs).match_batch(sample):
        hits[rule].add(position)
    chosen = list(range(len(written)))
    options = list(range(len(written), len(every)))

    def share(indexes: list[int]) -> float:
        return len(set().union(*(hits[i] for i in indexes))) / len(sample)

    current = share(chosen)
    slot = len(chosen) - 1
    while current < MATCHING_SHARE - 0.01 and options and slot >= 0:
        trials = [(share([*chosen[:slot], option, *chosen[slot + 1 :]]), option) for option in options]
        fits = [trial for trial in trials if trial[0] <= MATCHING_SHARE + 0.01] or [min(trials)]
        current, option = max(fits)
        chosen[slot] = option
        options.remove(option)
        slot -= 1
    return [every[i] for i in chosen], current


def rules_create(conditions: list[dict[str, Any]]) -> None:
    from rules.services import rule_create

    for index, condition in enumerate(conditions, start=1):
        rule_create(data={"name": f"bench rule {index}", "priority": "medium", "conditions": [condition]}, actor=None)


@dataclass
class Figures:
    copy_rate: float = 0.0
    api_rate: float = 0.0
    sustained_rate: float = 0.0
    matched_share: float = 0.0
    storm_rate: float = 0.0
    storm_seconds: float = 0.0
    storm_received: int = 0
    storm_connections: int = 0
    latency: dict[str, float] = field(default_factory=dict)
    latency_received: int = 0
    latency_sent: int = 0
    cpu: dict[str, str] = field(default_factory=dict)


@contextmanager
def api_server(env: dict[str, str], password: str) -> Iterator[tuple[int, str, Any]]:
    """gunicorn -w 2 on a free port, with a token for the bench superuser."""
    port = free_port()
    log_path = Path(tempfile.gettempdir()) / f"alertsite-bench-e2e-gunicorn-{port}.log"
    server = gunicorn_start(env, port, log_path)
    try:
        healthz_wait(server, port, log_path)
        token = token_obtain(env, port, password)
        warm_up(port, token)
        yield port, token, server
    finally:
        gunicorn_stop(server)


# -- (c) sustained ingest + evaluate ----------------------------------------------------------------


def sustained_run(database_url: str, port: int, token: str, events: list[dict[str, Any]]) -> float:
    """POST the events (2 threads) with the worker evaluating; events/s until none is pending."""
    bodies = [orjson.dumps(events[i : i + BATCH]) for i in range(0, len(events), BATCH)]
    started = time.perf_counter()
    _, totals = bench_api(port, token, bodies)
    if totals.errors:
        print(f"    {len(totals.errors)} requests failed, first: {totals.errors[0]}")
    while events_pending(database_url):
        time.sleep(0.1)
    return len(events) / (time.perf_counter() - started)


# -- (d) the alert storm ----------------------------------------------------------------------------


def storm_rows(channel_id: int, tag: str, count: int) -> list[int]:
    """`count` pending alert.created deliveries written in one transaction and handed over after
    commit, one task per 50, exactly as evaluation hands over the deliveries of its alerts."""
    from django.db import transaction

    from channels.models import Delivery, NotificationKind
    from channels.services import deliveries_send_after_commit

    rows = []
    for n in range(count):
        payload = {
            "alert": {**PAYLOAD_TEMPLATE["alert"], "id": n + 1, "reference": f"ALR-{n + 1:06d}"},
            "event": {**PAYLOAD_TEMPLATE["event"], "id": f"{tag}-{n}"},
        }
        rows.append(
            Delivery(channel_id=channel_id, kind=NotificationKind.ALERT_CREATED, source=f"{tag}:{n}", payload=payload)
        )
    with transaction.atomic():
        created = Delivery.objects.bulk_create(rows, batch_size=2000)
        pks = [row.pk for row in created]
        deliveries_send_after_commit(pks)
    return pks


def delivery_id(arrival: Arrival) -> str:
    return arrival.header("X-Alertsite-Delivery")


@dataclass
class Storm:
    rate: float
    seconds: float
    received: int
    connections: int
    detail: str


def storm_alertsite(receiver: HookReceiver, count: int, tag: str = "storm") -> Storm:
    """Deliveries/s from the first webhook received to the last (the workers must be running)."""
    from django.db.models import Count

    from channels.models import Delivery
    from channels.services import channel_create

    channel = channel_create(
        data={"kind": "webhook", "name": f"bench {tag}", "config": {"url": receiver.url}}, actor=None
    )
    receiver.reset()
    storm_rows(channel.pk, f"{tag}-warm", 40)  # warm-up: imports, connections
    receiver.wait_for(40, timeout=60)
    receiver.reset()
    handed = time.perf_counter()
    pks = storm_rows(channel.pk, tag, count)
    committed = time.perf_counter()
    receiver.wait_for(count, timeout=max(120.0, count / 20), quiet_after=30.0)
    firsts = receiver.keys(delivery_id)
    times = sorted(firsts.values())
    time.sleep(0.5)  # the last batch's bookkeeping commits
    statuses = dict(
        Delivery.objects.filter(pk__in=pks).values_list("status").annotate(n=Count("pk")).values_list("status", "n")
    )
    if not times:
        return Storm(0.0, 0.0, 0, receiver.connections, f"nothing arrived; rows {statuses}")
    span = times[-1] - times[0]
    detail = (
        f"rows written and handed over in {committed - handed:.2f} s, last webhook {times[-1] - committed:.2f} s "
        f"after commit; {len(receiver.arrivals):,} requests on {receiver.connections:,} connections; rows {statuses}"
    )
    return Storm(len(times) / span if span > 0 else 0.0, span, len(times), receiver.connections, detail)


# -- (e) latency --------------------------------------------------------------------------------------


def event_id(arrival: Arrival) -> str:
    try:
        return str((orjson.loads(arrival.body).get("event") or {}).get("id", ""))
    except orjson.JSONDecodeError:
        return ""


def latency_alertsite(port: int, token: str, receiver: HookReceiver, rate: float, seconds: float) -> dict[str, Any]:
    """Accepted -> webhook at a steady rate through the API, a rule and a webhook channel."""
    status, channel = api_call(
        port,
        token,
        "POST",
        "/api/v1/channels",
        {"kind": "webhook", "name": "bench e2e", "config": {"url": receiver.url}},
    )
    if status != 201:
        raise SystemExit(f"POST /api/v1/channels answered {status}: {channel}")
    rule = {
        "name": "bench latency",
        "conditions": [{"event_type": "user_login_attempt"}],
        "send_notifications": True,
        "channels": [channel["id"]],
        "generate_alerts": True,
    }
    status, answer = api_call(port, token, "POST", "/api/v1/rules", rule)
    if status != 201:
        raise SystemExit(f"POST /api/v1/rules answered {status}: {answer}")
    receiver.reset()
    warm, _ = paced_send(port, token, "warm", rate=10, seconds=1)
    receiver.wait_for(len(warm.sent), timeout=60)
    receiver.reset()
    record, elapsed = paced_send(port, token, "lat", rate, seconds)
    accepted = {eid: s for eid, s in record.sent.items() if s.accepted_at is not None}
    receiver.wait_for(len(accepted), timeout=60)
    arrivals = receiver.keys(event_id)
    spans = [arrivals[eid] - s.accepted_at for eid, s in accepted.items() if eid in arrivals and s.accepted_at]
    # From the request leaving the client: what accepted -> webhook leaves out when the server
    # does its work before answering (alertsite evaluates a request's events before its 202).
    from_sent = [arrivals[eid] - s.sent_at for eid, s in accepted.items() if eid in arrivals]
    return {
        "sent": len(record.sent),
        "elapsed": elapsed,
        "accepted": len(accepted),
        "spans": spans,
        "from_sent": from_sent,
    }


def database_vacuum(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")


def stages_line(database_url: str) -> str:
    """Where the latency went, from the rows' own timestamps (bench/delivery.py's stages), median/p95 ms."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(STAGES_SQL.replace("'e2e-%'", "'lat-%'")).fetchall()
    return "; ".join(f"{stage} {median:,.0f}/{p95:,.0f}" for stage, median, p95 in rows)


def spans_line(spans: list[float]) -> str:
    if not spans:
        return "nothing arrived"
    return (
        f"p50 {statistics.median(spans) * 1000:,.1f} ms, p95 {percentile(spans, 0.95) * 1000:,.1f} ms, "
        f"p99 {percentile(spans, 0.99) * 1000:,.1f} ms, max {max(spans) * 1000:,.1f} ms"
    )


# -- main ---------------------------------------------------------------------------------------------


@dataclass
class Stack:
    """The bench environment and the processes of one run."""

    env: dict[str, str]
    database_url: str
    password: str


def stack_prepare(database_url: str, *, fresh: bool) -> Stack:
    env = bench_env(database_url)
    env["CELERY_BROKER_URL"] = BROKER_URL
    version = database_ensure(database_url, fresh=fresh)
    manage(env, "migrate", "--noinput", "-v", "0")
    tables_empty(database_url)
    redis.Redis.from_url(BROKER_URL).flushdb()
    location = urlsplit(database_url)
    print(
        f"PostgreSQL {version} at {location.hostname}:{location.port or 5432}{location.path}; broker {BROKER_URL}; "
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs"
    )
    django_setup(env)
    password = secrets.token_urlsafe(24)
    superuser_ensure(env, password)
    return Stack(env, database_url, password)


def run_storm(stack: Stack, receiver: HookReceiver, count: int) -> tuple[Storm, CpuMeter]:
    with Workers(stack.env, [WORKER_CONCURRENCY], tag="e2e-storm") as workers:
        roots = {"celery": [p.pid for p in workers.processes]}
        with CpuMeter(stack.database_url, roots) as meter:
            storm = storm_alertsite(receiver, count)
    return storm, meter


def run_latency(stack: Stack, receiver: HookReceiver, rate: float, seconds: float) -> tuple[dict[str, Any], CpuMeter]:
    with api_server(stack.env, stack.password) as (port, token, server):
        with Workers(stack.env, [WORKER_CONCURRENCY], tag="e2e-latency") as workers:
            roots = {"gunicorn": [server.pid], "celery": [p.pid for p in workers.processes]}
            with CpuMeter(stack.database_url, roots) as meter:
                result = latency_alertsite(port, token, receiver, rate, seconds)
    return result, meter


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=50_000, help="Events for (a), (b) and (c) each (default 50000).")
    parser.add_argument("--storm", type=int, default=20_000, help="Alerts in the storm (d) (default 20000).")
    parser.add_argument("--latency-seconds", type=float, default=30.0, help="Duration of (e) (default 30).")
    parser.add_argument("--rate", type=float, default=50.0, help="Events/s in (e) (default 50).")
    parser.add_argument("--skip", default="", help="Parts to skip, e.g. 'abc' for the storm and latency only.")
    parser.add_argument("--fresh", action="store_true", help="Drop and recreate the bench database first.")
    args = parser.parse_args()
    skip = set(args.skip)

    database_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    stack = stack_prepare(database_url, fresh=args.fresh)
    rows: list[tuple[str, str]] = []
    notes: list[str] = []
    broker = redis.Redis.from_url(BROKER_URL)
    try:
        if not skip >= {"a", "b", "c"}:
            copy_events, api_events, sustained_events = simulated_events(args.events, 3)
        if "a" not in skip:
            copy_rate = bench_copy(database_url, copy_events)
            rows.append(("(a) COPY into a bare table", f"{copy_rate:,.0f} rows/s"))
            print(f"(a) COPY: {copy_rate:,.0f} rows/s", flush=True)
        if "b" not in skip or "c" not in skip:
            conditions, matching = bench_rules(sustained_events[:10_000], RULES)
            rules_create(conditions)
            print(f"rules: {RULES}, matching {100 * matching:.1f}% of the events (rules.engine on 10,000)", flush=True)
            with api_server(stack.env, stack.password) as (port, token, server):
                if "b" not in skip:
                    bodies = [orjson.dumps(api_events[i : i + BATCH]) for i in range(0, len(api_events), BATCH)]
                    api_rate, totals = bench_api(port, token, bodies)
                    rows.append(("(b) API accepted (no worker)", f"{api_rate:,.0f} events/s"))
                    print(f"(b) API: {api_rate:,.0f} events/s accepted ({totals.accepted:,})", flush=True)
                    broker.flushdb()  # the evaluation queued in (b) is not part of (c)
                    with psycopg.connect(database_url) as conn:
                        conn.execute("TRUNCATE events_auditevent RESTART IDENTITY CASCADE")
                if "c" not in skip:
                    with Workers(stack.env, [WORKER_CONCURRENCY], tag="e2e-sustained") as workers:
                        roots = {"gunicorn": [server.pid], "celery": [p.pid for p in workers.processes]}
                        with CpuMeter(database_url, roots) as meter:
                            rate = sustained_run(database_url, port, token, sustained_events)
                    with psycopg.connect(database_url) as conn:
                        alerts = conn.execute("SELECT count(*) FROM alerts_alert").fetchone()[0]
                        matched = conn.execute("SELECT count(DISTINCT event_id) FROM rules_rulematch").fetchone()[0]
                    share = f"{100 * matched / len(sustained_events):.1f}% of events matched, {alerts:,} alerts"
                    rows.append((f"(c) sustained ingest + evaluate, {RULES} rules", f"{rate:,.0f} events/s ({share})"))
                    notes.append(f"(c) {meter.line()}")
                    print(f"(c) sustained: {rate:,.0f} events/s; {share}\n    {meter.line()}", flush=True)
        with HookReceiver() as receiver:
            if "d" not in skip:
                storm, meter = run_storm(stack, receiver, args.storm)
                rows.append(
                    (
                        f"(d) alert storm, {args.storm:,} webhooks, worker -c {WORKER_CONCURRENCY}",
                        f"{storm.rate:,.0f} deliveries/s ({storm.received:,} in {storm.seconds:.2f} s)",
                    )
                )
                notes.append(f"(d) {storm.detail}; {meter.line()}")
                print(f"(d) storm: {storm.rate:,.0f}/s; {storm.detail}\n    {meter.line()}", flush=True)
            if "e" not in skip:
                database_vacuum(database_url)  # (c) and (d) leave dead rows: clean them before, not during
                result, meter = run_latency(stack, receiver, args.rate, args.latency_seconds)
                rows.append(
                    (
                        f"(e) accepted -> webhook at {args.rate:g}/s",
                        f"{spans_line(result['spans'])} ({len(result['spans']):,}/{result['sent']:,} received)",
                    )
                )
                rows.append((f"(e) request sent -> webhook at {args.rate:g}/s", spans_line(result["from_sent"])))
                notes.append(f"(e) stages, median/p95 ms: {stages_line(database_url)}; {meter.line()}")
                print(
                    f"(e) latency: {spans_line(result['spans'])}; from the request sent: "
                    f"{spans_line(result['from_sent'])}\n    {notes[-1]}",
                    flush=True,
                )
    finally:
        broker.flushdb()
    table_print(rows, notes)


def table_print(rows: list[tuple[str, str]], notes: list[str]) -> None:
    width = max((len(name) for name, _ in rows), default=10)
    print("\n" + "=" * (width + 60))
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    for note in notes:
        print(note)


if __name__ == "__main__":
    main()

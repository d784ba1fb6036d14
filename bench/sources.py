"""Sources benchmark: a Directory Insights source pulling from a fast local stand-in, against the push API.

Run from the repository root: `.venv/bin/python bench/sources.py [--events 200000] [--pages 1000,10000]`.

In one run, on one database (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/alertsite_srcbench,
created and migrated if needed) with Redis db 8 as the broker (BENCH_BROKER_URL), it prints
  (a) events/s of `POST /api/v1/events` through gunicorn -w 2 from 2 client threads, batches of
      1,000 (bench/ingest.py's measurement, imported from it), and the bare COPY ceiling of the
      same events for context;
  (b) events/s stored by a source pulling the same events from a fast stand-in of the vendor's
      query API (a separate process), once per page size, each time into an emptied events table,
      with the poller's time split into fetch, decode, validate, store and the rest;
  (c) how to run bench/insights.py (the compatible query API), or runs it with --insights;
and a table against the target "(b) at least 70% of (a)".
"""

from __future__ import annotations

import argparse
import bisect
import cProfile
import gc
import importlib.util
import io
import multiprocessing
import os
import pstats
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _load_ingest() -> Any:
    """bench/ingest.py as a module (bench/ is not a package)."""
    spec = importlib.util.spec_from_file_location("bench_ingest", ROOT / "bench" / "ingest.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


ingest = _load_ingest()
from alertsite.demo.simulator import EventSimulator  # noqa: E402 - needs ROOT on the path

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/alertsite_srcbench"
BROKER_URL = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/8")
TARGET_PERCENT = 70.0
EVENTS_PATH = "/insights/directory/v1/events"
STANDIN_KEY = "bench-" + uuid.uuid4().hex
MAX_LIMIT = 10_000
# The simulated events span this long before now: a week of an organisation's log, as a backfill sees it.
SPAN = timedelta(days=7)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# -- the fast stand-in (its own process) -----------------------------------------------------------


def _epoch_ms(timestamp: str) -> int:
    return int(datetime.fromisoformat(timestamp).timestamp() * 1000 + 0.5) if timestamp else 0


def _standin_serve(events: list[dict[str, Any]], api_key: str, ready: Any) -> None:
    """Serve `POST /insights/directory/v1/events` over `events` (ASC, search_after) until terminated.

    Every event is encoded once (orjson, keys sorted); a page is a bisect on (epoch_ms, id) and a
    join of pre-encoded bytes. HTTP/1.1 keep-alive, one connection at a time (one poller).
    """
    keyed = sorted(((_epoch_ms(e["timestamp"]), e["id"]), orjson.dumps(e, option=orjson.OPT_SORT_KEYS)) for e in events)
    keys = [key for key, _ in keyed]
    encoded = [body for _, body in keyed]
    del keyed

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes: without TCP_NODELAY the body's first segment waits
        # for the client's delayed ACK of the headers (~40 ms a page), which no real vendor costs.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _error(self, status: int, message: str) -> None:
            self._send(status, orjson.dumps({"message": message}), {"X-Request-Id": str(uuid.uuid4())})

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path.split("?", 1)[0] != EVENTS_PATH:
                return self._error(404, "not found")
            if self.headers.get("x-api-key") != api_key:
                return self._error(401, "unauthorized")
            try:
                body = orjson.loads(raw)
                start_ms = _epoch_ms(body["start_time"])
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                return self._error(400, "start_time is required (RFC 3339)")
            if "all" not in (body.get("service") or ()):
                return self._error(400, "this stand-in serves service ['all'] only")
            if str(body.get("sort", "ASC")).upper() == "DESC":
                return self._error(400, "this stand-in pages ASC only")
            limit = body.get("limit")
            limit = min(limit, MAX_LIMIT) if isinstance(limit, int) and limit > 0 else 1000
            low = bisect.bisect_left(keys, (start_ms, ""))
            after = body.get("search_after")
            if after is not None:
                try:
                    low = max(low, bisect.bisect_right(keys, (int(after[0]), str(after[1]))))
                except (TypeError, ValueError, IndexError):
                    return self._error(400, "search_after must be [epoch_millis, id]")
            high = min(len(keys), low + limit)
            headers = {
                "X-Result-Count": str(high - low),
                "X-Limit": str(limit),
                "X-Sort": "ASC",
                "X-Request-Id": str(uuid.uuid4()),
            }
            if high > low:
                headers["X-Search_after"] = orjson.dumps(list(keys[high - 1])).decode()
            elif after is not None:
                headers["X-Search_after"] = orjson.dumps(after).decode()
            self._send(200, b"[" + b",".join(encoded[low:high]) + b"]", headers)

    server = HTTPServer(("127.0.0.1", 0), Handler)
    ready.send(server.server_address[1])
    ready.close()
    server.serve_forever()


@dataclass
class Standin:
    process: multiprocessing.process.BaseProcess
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cpu_seconds(self) -> float:
        return process_cpu_seconds(self.process.pid)

    def stop(self) -> None:
        if self.process.is_alive():
            self.process.terminate()
        self.process.join(timeout=10)


def standin_start(events: list[dict[str, Any]]) -> Standin:
    """Fork the stand-in (before Django or any thread exists here); wait until it has encoded everything."""
    context = multiprocessing.get_context("fork")
    parent, child = context.Pipe(duplex=False)
    process = context.Process(target=_standin_serve, args=(events, STANDIN_KEY, child), name="di-standin", daemon=True)
    process.start()
    child.close()
    if not parent.poll(300):
        process.terminate()
        raise SystemExit("the stand-in did not start within 300 s")
    return Standin(process=process, port=int(parent.recv()))


def process_cpu_seconds(pid: int | None) -> float:
    """User + system CPU of a process of this machine, from /proc (0 when unreadable)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


# -- the source side (Django in this process, as in a worker) --------------------------------------


def django_setup(env: dict[str, str]) -> None:
    os.environ.update(env)
    import django

    django.setup()


@dataclass
class SourceRun:
    page_limit: int
    events: int
    seconds: float = 0.0
    stored: int = 0
    queued_events: int = 0
    queued_tasks: int = 0
    pages: int = 0
    rounds: int = 0
    duplicates: int = 0
    skipped: int = 0
    poller_cpu: float = 0.0
    standin_cpu: float = 0.0
    postgres_cpu: float = 0.0
    error: str | None = None
    parts: dict[str, tuple[float, float]] = field(default_factory=dict)
    profile: str = ""

    @property
    def rate(self) -> float:
        return self.stored / self.seconds if self.seconds else 0.0


class Timers:
    """Wrap the poller's steps with sums of wall and thread CPU time (a few calls a page: no measurable cost).

    On a busy machine the wall time of a step is mostly waiting for a CPU; its CPU time is the cost.
    """

    STEPS = (
        ("page", "events.sources.client", "DirectoryInsightsClient.events_page"),
        ("fetch", "events.sources.client", "DirectoryInsightsClient.post"),
        ("validate", "events.sources.poller", "page_records"),
        ("store", "events.sources.poller", "event_batch_ingest"),
        ("queue", "events.services", "events_ingested_notify"),
    )
    LABELS = {
        "fetch": "fetch (HTTP)",
        "decode": "decode (JSON)",
        "validate": "validate (event_validate a row)",
        "store": "store (event_batch_ingest: COPY + INSERT)",
        "queue": "queue evaluation (after commit)",
    }

    def __init__(self) -> None:
        self.wall: dict[str, float] = defaultdict(float)
        self.cpu: dict[str, float] = defaultdict(float)
        self.undo: list[Callable[[], None]] = []

    def __enter__(self) -> Timers:
        for label, module_name, attribute in self.STEPS:
            owner: Any = importlib.import_module(module_name)
            name = attribute
            if "." in attribute:
                class_name, name = attribute.split(".")
                owner = getattr(owner, class_name)
            original = getattr(owner, name)
            setattr(owner, name, self._timed(label, original))
            self.undo.append(lambda owner=owner, name=name, original=original: setattr(owner, name, original))
        return self

    def __exit__(self, *exc: object) -> None:
        for undo in reversed(self.undo):
            undo()

    def _timed(self, label: str, function: Callable[..., Any]) -> Callable[..., Any]:
        wall, cpu = self.wall, self.cpu

        def timed(*args: Any, **kwargs: Any) -> Any:
            started, cpu_started = time.perf_counter(), time.thread_time()
            try:
                return function(*args, **kwargs)
            finally:
                wall[label] += time.perf_counter() - started
                cpu[label] += time.thread_time() - cpu_started

        return timed

    def parts(self, total_wall: float, total_cpu: float) -> dict[str, tuple[float, float]]:
        """label -> (wall s, CPU s), the page's decode as the page minus its fetch, and the rest."""
        wall, cpu = dict(self.wall), dict(self.cpu)
        for sums in (wall, cpu):
            sums["decode"] = sums.pop("page", 0.0) - sums.get("fetch", 0.0)
        shown = {self.LABELS[key]: (wall.get(key, 0.0), cpu.get(key, 0.0)) for key in self.LABELS}
        shown["the rest (transaction, checkpoint, lease, commit)"] = (
            max(0.0, total_wall - sum(wall.values())),
            max(0.0, total_cpu - sum(cpu.values())),
        )
        return shown


def evaluation_rule_ensure(event_types: list[str]) -> None:
    """One enabled rule selecting every simulated type, so each new event is queued for evaluation."""
    from events.services import event_types_register
    from rules.models import Rule
    from rules.services import rule_create

    name = "bench-sources: every simulated event type"
    if Rule.objects.filter(name=name, enabled=True).exists():
        return
    Rule.objects.filter(name=name).delete()
    event_types_register(names=set(event_types))  # the catalog knows every type (known ones stay known)
    rule_create(
        data={
            "name": name,
            "conditions": [{"event_type": event_type} for event_type in event_types],
            "generate_alerts": True,
        },
        actor=None,
    )


def evaluation_rules_drop() -> None:
    from rules.models import Rule

    Rule.objects.filter(name__startswith="bench-sources:").delete()


def events_empty(broker_url: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE events_auditevent RESTART IDENTITY CASCADE")
    redis.Redis.from_url(broker_url).flushdb()


def queue_length(broker_url: str) -> int:
    client = redis.Redis.from_url(broker_url)
    return sum(int(client.llen(key)) for key in client.scan_iter(match="celery*") if client.type(key) == b"list")


def source_run(
    standin: Standin, count: int, first: datetime, page_limit: int, broker_url: str, *, profile: bool
) -> SourceRun:
    """Empty the events table, create a source at the stand-in, and drain it as a worker's poll task does."""
    from django.conf import settings
    from django.db import connection

    from events.models import AuditEvent, PendingEvaluation
    from events.sources.config import iso
    from events.sources.models import Source
    from events.sources.poller import source_poll
    from events.sources.services import source_create

    run = SourceRun(page_limit=page_limit, events=count)
    Source.objects.all().delete()
    source = source_create(
        data={
            "name": f"bench stand-in, pages of {page_limit}",
            "config": {
                "base_url": standin.url,
                "api_key": STANDIN_KEY,
                "services": ["all"],
                "start_time": iso(first - timedelta(seconds=1)),
                "page_limit": page_limit,
                "timeout_seconds": 300,
            },
        },
        actor=None,
    )
    events_empty(broker_url)  # after source_create, whose audit event would count
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]

    profiler = cProfile.Profile() if profile else None
    standin_before, postgres_before = standin.cpu_seconds(), process_cpu_seconds(backend)
    cpu_before = time.process_time()
    started = time.perf_counter()
    with Timers() as timers:
        if profiler:
            profiler.enable()
        while True:  # events.sources.tasks.source_poll_task, run inline
            result = source_poll(source.pk, max_seconds=settings.ALERTSITE_SOURCE_TASK_MAX_SECONDS)
            run.rounds += 1
            run.pages += result.pages
            run.duplicates += result.duplicates
            run.skipped += result.skipped
            if result.error or result.busy:
                run.error = result.error or "busy"
                break
            if not result.more:
                break
        if profiler:
            profiler.disable()
    run.seconds = time.perf_counter() - started
    run.poller_cpu = time.process_time() - cpu_before
    run.standin_cpu = standin.cpu_seconds() - standin_before
    run.postgres_cpu = process_cpu_seconds(backend) - postgres_before
    run.parts = timers.parts(run.seconds, run.poller_cpu)
    run.stored = AuditEvent.objects.count()
    run.queued_events = PendingEvaluation.objects.count()
    run.queued_tasks = queue_length(broker_url)
    redis.Redis.from_url(broker_url).flushdb()
    if profiler:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).strip_dirs()
        stats.sort_stats("tottime").print_stats(22)
        stats.sort_stats("cumulative").print_stats(r"(poller|client|services|storage|validation)\.py", 14)
        run.profile = out.getvalue()
    return run


def source_describe(run: SourceRun) -> list[str]:
    lines = [
        f"source, pages of {run.page_limit:,}: {run.rate:,.0f} events/s stored "
        f"({run.stored:,} of {run.events:,} in {run.seconds:.1f} s; {run.pages} pages, {run.rounds} poll round(s), "
        f"{run.duplicates:,} duplicates, {run.skipped} skipped)",
        f"    CPU: poller process {run.poller_cpu:.1f} s ({100 * run.poller_cpu / run.seconds:.0f}% of wall), "
        f"stand-in process {run.standin_cpu:.1f} s ({100 * run.standin_cpu / run.seconds:.0f}%), "
        f"its PostgreSQL backend {run.postgres_cpu:.1f} s ({100 * run.postgres_cpu / run.seconds:.0f}%)",
        f"    evaluation: {run.queued_events:,} events left for evaluation, {run.queued_tasks:,} task messages "
        "queued (no worker runs, so evaluated-queued means queued)",
    ]
    parts = [f"{label} {wall:.1f}/{cpu:.1f}" for label, (wall, cpu) in run.parts.items()]
    lines.append("    poller time, wall/CPU s: " + "; ".join(parts))
    if run.error:
        lines.append(f"    FAILED: {run.error}")
    return lines


# -- main -----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000, help="Simulated events (default 200000).")
    parser.add_argument(
        "--pages", default="1000,10000", help="Page sizes of the source, comma-separated (default 1000,10000)."
    )
    parser.add_argument("--batch-size", type=int, default=1000, help="Events per API request in (a) (default 1000).")
    parser.add_argument(
        "--rule",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="One enabled rule selecting every simulated type, so evaluation is queued in (a) and (b) "
        "(default on; --no-rule stores everything as evaluated, as bench/ingest.py on an empty database).",
    )
    parser.add_argument("--skip-api", action="store_true", help="Skip (a) and the COPY ceiling.")
    parser.add_argument("--profile", action="store_true", help="cProfile the source runs (slows them down).")
    parser.add_argument("--insights", action="store_true", help="Run bench/insights.py afterwards, if it exists.")
    parser.add_argument("--fresh", action="store_true", help="Drop and recreate the bench database first.")
    args = parser.parse_args()
    try:
        pages = [int(page) for page in args.pages.split(",") if page.strip()]
    except ValueError:
        parser.error("--pages is a comma-separated list of page sizes")
    if args.events < 1 or not pages or not all(1 <= page <= MAX_LIMIT for page in pages):
        parser.error(f"--events must be positive and every page size from 1 to {MAX_LIMIT:,}.")
    if not 1 <= args.batch_size <= 1000:
        parser.error("--batch-size is from 1 to 1000 (the API limit).")

    database_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    env = ingest.server_env(database_url, BROKER_URL)
    env.update(
        {
            "ALERTSITE_SOURCE_ALLOW_PRIVATE": "true",  # the stand-in is on 127.0.0.1
            "ALERTSITE_SOURCE_MAX_BACKFILL_DAYS": "3650",
            "ALERTSITE_EMBEDDED_SCHEDULER": "false",  # nothing but the bench polls the source
        }
    )
    version = ingest.database_ensure(database_url, fresh=args.fresh)
    ingest.manage(env, "migrate", "--noinput", "-v", "0")
    location = urlsplit(database_url)
    print(f"PostgreSQL {version} at {location.hostname}:{location.port or 5432}{location.path}, broker {BROKER_URL}")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} CPUs)")

    simulator = EventSimulator(seed=1)
    start = datetime.now(UTC) - SPAN - timedelta(hours=1)
    events = list(simulator.events(args.events, start=start, rate_per_second=args.events / SPAN.total_seconds()))
    sizes = [len(orjson.dumps(event)) for event in events]
    print(
        f"events: {args.events:,} from EventSimulator(seed=1) over {SPAN.days} days, "
        f"mean {sum(sizes) / len(sizes):,.0f} bytes JSON; the same events in every part"
    )

    began = time.perf_counter()
    standin = standin_start(events)  # forked before Django, threads or connections exist here
    print(
        f"stand-in: pid {standin.process.pid} at {standin.url}, {args.events:,} events encoded in "
        f"{time.perf_counter() - began:.1f} s ({standin.cpu_seconds():.1f} s CPU)"
    )
    rows: list[tuple[str, int, float, float | None, str]] = []
    api_rate: float | None = None
    try:
        django_setup(env)
        evaluation_rules_drop()
        if args.rule:
            evaluation_rule_ensure(simulator.event_types)
        what = "with one rule selecting every type" if args.rule else "with no enabled rule (nothing queued)"

        bodies: list[bytes] = []
        if not args.skip_api:
            copy_rate = ingest.bench_copy(database_url, events)
            print(f"COPY into a bare table (PK + index on event_type, timestamp): {copy_rate:,.0f} rows/s")
            rows.append(("COPY ceiling, bare table", len(events), 0.0, copy_rate, ""))
            bodies = [orjson.dumps(events[i : i + args.batch_size]) for i in range(0, len(events), args.batch_size)]
            api_rate, totals = ingest.api_measure(env, database_url, bodies, BROKER_URL)
            print(f"(a) {ingest.api_describe(api_rate, totals, args.batch_size)}, {what}")
            rows.append((f"(a) API, batches of {args.batch_size:,}", totals.accepted, 0.0, api_rate, ""))
            if totals.errors or totals.accepted != len(events):
                print(f"    (a) accepted {totals.accepted:,} of {len(events):,}")

        # A worker holds no copy of the events: drop the bench's, or every garbage collection the
        # poller's allocations trigger would walk millions of objects that are not the poller's.
        count, first = len(events), min(datetime.fromisoformat(e["timestamp"]) for e in events)
        del events, bodies
        gc.collect()
        runs: list[SourceRun] = []
        for page_limit in pages:
            run = source_run(standin, count, first, page_limit, BROKER_URL, profile=args.profile)
            runs.append(run)
            print(f"(b) {'(under cProfile) ' if args.profile else ''}" + "\n    ".join(source_describe(run)))
            if run.profile:
                print(run.profile)
            rows.append(
                (
                    f"(b) source, pages of {page_limit:,}",
                    run.stored,
                    run.seconds,
                    run.rate,
                    f"poller {run.poller_cpu:.0f} s, stand-in {run.standin_cpu:.1f} s, PG {run.postgres_cpu:.0f} s",
                )
            )
        evaluation_rules_drop()
    finally:
        standin.stop()

    insights = ROOT / "bench" / "insights.py"
    if not insights.exists():
        print("(c) bench/insights.py is not there yet (the compatible query API benchmark); nothing to run.")
    elif args.insights:
        print("(c) running bench/insights.py (its own database and output):", flush=True)
        subprocess.run([sys.executable, str(insights)], cwd=ROOT, check=False)
    else:
        print(f"(c) the compatible query API: {Path(sys.executable).name} bench/insights.py (or --insights here)")

    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'':34} {'events':>9} {'seconds':>8} {'events/s':>10} {'of (a)':>7}  CPU (whole part)")
    for label, count, seconds, rate, cpu in rows:
        share = f"{100 * rate / api_rate:.0f}%" if api_rate and rate is not None else ""
        shown_seconds = f"{seconds:.1f}" if seconds else ""
        print(f"{label:34} {count:>9,} {shown_seconds:>8} {rate or 0:>10,.0f} {share:>7}  {cpu}")
    failed = any(run.error or run.stored != run.events for run in runs)
    if api_rate:
        for run in runs:
            percent = 100 * run.rate / api_rate
            verdict = "meets" if percent >= TARGET_PERCENT else "misses"
            print(
                f"target: pages of {run.page_limit:,}: {percent:.0f}% of (a), {verdict} "
                f"'(b) at least {TARGET_PERCENT:.0f}% of (a)'"
            )
    if failed:
        print("check: a source run failed or did not store every event exactly once")
        raise SystemExit(1)
    print(f"check: every source run stored {args.events:,} events, once each")


if __name__ == "__main__":
    main()

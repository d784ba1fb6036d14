"""Side by side with Prometheus Alertmanager: the same alert storm and the same 50/s latency, in one run.

Run from the repository root: `.venv/bin/python bench/peer.py [--storm 20000] [--latency-seconds 30]`.

Alertmanager comes from Debian's `prometheus-alertmanager` package: installed with apt-get when
missing and this runs as root; otherwise its half is skipped with a message. It runs from a
temporary config and storage path on a free loopback port, clustering off, every alert its
own group (`group_by: ['...']`), `group_wait: 0s`, one webhook receiver: the same
bench/hookreceiver.py that times alertsite. Then alertsite's storm and latency run through
bench/e2e.py (PostgreSQL + Redis, `celery worker -c 2`, gunicorn -w 2) and the ratios are printed.

  storm:   N alerts POSTed to `/api/v2/alerts` in batches of 1,000 (alertsite: N deliveries
           written in one transaction, as evaluation writes them); deliveries/s from the first
           webhook received to the last;
  latency: one alert (alertsite: one event) per request at a steady rate; accepted -> webhook
           p50/p95/p99, and the CPU the server's processes used meanwhile.
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from e2e import (  # noqa: E402 - needs bench/ on the path
    DEFAULT_DATABASE_URL,
    TICKS,
    _stat,
    database_vacuum,
    run_latency,
    run_storm,
    spans_line,
    stack_prepare,
    stages_line,
)
from hookreceiver import Arrival, HookReceiver  # noqa: E402
from ingest import free_port  # noqa: E402

BINARY = "prometheus-alertmanager"
POST_BATCH = 1000
CLIENT_THREADS = 8
CONFIG = """
route:
  receiver: hook
  group_by: ['...']
  group_wait: 0s
  group_interval: 5m
  repeat_interval: 24h
receivers:
  - name: hook
    webhook_configs:
      - url: {url}
        send_resolved: false
"""


def alertmanager_binary() -> str | None:
    """The Debian package's binary, installed now if missing and we may (root, apt-get)."""
    found = shutil.which(BINARY)
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        print(f"Alertmanager skipped: {BINARY} is not installed and this is not root (apt-get install {BINARY}).")
        return None
    print(f"installing Debian's {BINARY} ...", flush=True)
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run(["apt-get", "install", "-y", "-q", BINARY], env=env, check=False, **quiet).returncode:  # type: ignore[call-overload]
        subprocess.run(["apt-get", "update", "-q"], env=env, check=False, **quiet)  # type: ignore[call-overload]
        subprocess.run(["apt-get", "install", "-y", "-q", BINARY], env=env, check=False, **quiet)  # type: ignore[call-overload]
    found = shutil.which(BINARY)
    if not found:
        print(f"Alertmanager skipped: apt-get could not install {BINARY}.")
    return found


class Alertmanager:
    """One Alertmanager on a free port with a temporary config and storage path; stopped on exit."""

    def __init__(self, binary: str, hook_url: str) -> None:
        self.binary = binary
        self.hook_url = hook_url
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="alertsite-bench-am-"))
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Alertmanager:
        config = self.dir / "alertmanager.yml"
        config.write_text(CONFIG.format(url=self.hook_url))
        log = (self.dir / "alertmanager.log").open("wb")
        self.process = subprocess.Popen(
            [
                self.binary,
                f"--config.file={config}",
                f"--storage.path={self.dir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--cluster.listen-address=",
                "--log.level=warn",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if self.call("GET", "/-/ready")[0] == 200:
                    return self
            except OSError:
                pass
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        self.__exit__()
        raise SystemExit(f"Alertmanager did not start:\n{(self.dir / 'alertmanager.log').read_text()[-2000:]}")

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Content-Type": "application/json"}
        conn.request(method, path, body=orjson.dumps(body) if body is not None else None, headers=headers)
        response = conn.getresponse()
        data = response.read()
        conn.close()
        return response.status, data

    def cpu_seconds(self) -> float:
        stat = _stat(self.process.pid) if self.process is not None else None
        return stat[1] / TICKS if stat else 0.0


def alert(name: str) -> dict[str, Any]:
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {
        "labels": {"alertname": "BenchStorm", "n": name, "severity": "high"},
        "annotations": {"summary": f"Failed logins: ana@example.com from 203.0.113.7 ({name})"},
        "startsAt": now,
    }


def alert_label(arrival: Arrival) -> str:
    try:
        alerts = orjson.loads(arrival.body).get("alerts") or []
    except orjson.JSONDecodeError:
        return ""
    return str(alerts[0]["labels"].get("n", "")) if alerts else ""


@dataclass
class PeerStorm:
    rate: float
    seconds: float
    received: int
    cpu: float
    connections: int


def am_storm(manager: Alertmanager, receiver: HookReceiver, count: int) -> PeerStorm:
    for n in range(20):  # warm-up
        manager.call("POST", "/api/v2/alerts", [alert(f"warm-{n}")])
    receiver.wait_for(20, timeout=30)
    receiver.reset()
    cpu = manager.cpu_seconds()
    bodies = [[alert(f"storm-{n}") for n in range(i, min(count, i + POST_BATCH))] for i in range(0, count, POST_BATCH)]
    with ThreadPoolExecutor(2) as pool:
        for status, data in pool.map(lambda body: manager.call("POST", "/api/v2/alerts", body), bodies):
            if status != 200:
                raise SystemExit(f"Alertmanager answered {status}: {data[:300]!r}")
    receiver.wait_for(count, timeout=max(120.0, count / 20), quiet_after=30.0)
    times = sorted(receiver.keys(alert_label).values())
    span = times[-1] - times[0] if times else 0.0
    return PeerStorm(
        len(times) / span if span > 0 else 0.0, span, len(times), manager.cpu_seconds() - cpu, receiver.connections
    )


@dataclass
class PeerLatency:
    spans: list[float] = field(default_factory=list)
    from_sent: list[float] = field(default_factory=list)
    sent: int = 0
    cpu: float = 0.0
    seconds: float = 0.0


def am_latency(manager: Alertmanager, receiver: HookReceiver, rate: float, seconds: float) -> PeerLatency:
    """One alert per request on a fixed schedule; accepted (200) -> webhook."""
    receiver.reset()
    accepted: dict[str, float] = {}
    sent: dict[str, float] = {}
    lock = threading.Lock()

    def post(name: str) -> None:
        sent_at = time.perf_counter()
        status, _ = manager.call("POST", "/api/v2/alerts", [alert(name)])
        if status == 200:
            with lock:
                accepted[name] = time.perf_counter()
                sent[name] = sent_at

    total = int(rate * seconds)
    cpu = manager.cpu_seconds()
    with ThreadPoolExecutor(CLIENT_THREADS) as pool:
        started = time.perf_counter()
        for n in range(total):
            pause = started + n / rate - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            pool.submit(post, f"lat-{n}")
    elapsed = time.perf_counter() - started
    receiver.wait_for(len(accepted), timeout=30)
    arrivals = receiver.keys(alert_label)
    spans = [arrivals[name] - at for name, at in accepted.items() if name in arrivals]
    from_sent = [arrivals[name] - sent[name] for name in accepted if name in arrivals]
    return PeerLatency(spans, from_sent, total, manager.cpu_seconds() - cpu, elapsed)


def ratio(ours: float, theirs: float) -> str:
    return f"{ours / theirs:.2f}x" if theirs else "n/a"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--storm", type=int, default=20_000, help="Alerts in the storm (default 20000).")
    parser.add_argument(
        "--latency-seconds", type=float, default=30.0, help="Duration of the latency part (default 30)."
    )
    parser.add_argument("--rate", type=float, default=50.0, help="Alerts (events) per second (default 50).")
    args = parser.parse_args()

    rows: list[tuple[str, str, str, str]] = []
    with HookReceiver() as receiver:
        am_storm_result: PeerStorm | None = None
        am_lat: PeerLatency | None = None
        binary = alertmanager_binary()
        if binary:
            version = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
            print((version.stdout or version.stderr).splitlines()[0], flush=True)
            with Alertmanager(binary, receiver.url) as manager:
                am_storm_result = am_storm(manager, receiver, args.storm)
                print(
                    f"Alertmanager storm: {am_storm_result.rate:,.0f}/s ({am_storm_result.received:,} in "
                    f"{am_storm_result.seconds:.2f} s, {am_storm_result.cpu:.1f} s CPU, "
                    f"{am_storm_result.connections} connections)",
                    flush=True,
                )
                am_lat = am_latency(manager, receiver, args.rate, args.latency_seconds)
                print(
                    f"Alertmanager latency: {spans_line(am_lat.spans)}; from the request sent: "
                    f"{spans_line(am_lat.from_sent)}; CPU {am_lat.cpu:.1f} s",
                    flush=True,
                )

        database_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
        stack = stack_prepare(database_url, fresh=False)
        storm, storm_meter = run_storm(stack, receiver, args.storm)
        print(f"alertsite storm: {storm.rate:,.0f}/s; {storm.detail}\n    {storm_meter.line()}", flush=True)
        database_vacuum(database_url)  # the storm's dead rows cleaned before the latency part, not during
        latency, latency_meter = run_latency(stack, receiver, args.rate, args.latency_seconds)
        print(
            f"alertsite latency: {spans_line(latency['spans'])}; from the request sent: "
            f"{spans_line(latency['from_sent'])}\n    stages, median/p95 ms: "
            f"{stages_line(database_url)}\n    {latency_meter.line()}",
            flush=True,
        )

    def p95(spans: list[float]) -> float:
        ordered = sorted(spans)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] if ordered else float("nan")

    ours_cpu = storm_meter.servers_seconds()
    rows.append(
        (
            f"storm, {args.storm:,} webhooks (deliveries/s)",
            f"{storm.rate:,.0f}",
            f"{am_storm_result.rate:,.0f}" if am_storm_result else "skipped",
            ratio(storm.rate, am_storm_result.rate) if am_storm_result else "",
        )
    )
    rows.append(
        (
            "storm CPU per webhook (ms, server processes)",
            f"{1000 * ours_cpu / max(1, storm.received):.2f}",
            f"{1000 * am_storm_result.cpu / max(1, am_storm_result.received):.2f}" if am_storm_result else "skipped",
            "",
        )
    )
    for label, key in (("accepted", "spans"), ("request sent", "from_sent")):
        ours_p95 = p95(latency[key])
        theirs_p95 = p95(getattr(am_lat, key)) if am_lat else float("nan")
        rows.append(
            (
                f"{label} -> webhook at {args.rate:g}/s, p95 (ms)",
                f"{1000 * ours_p95:,.1f}",
                f"{1000 * theirs_p95:,.1f}" if am_lat else "skipped",
                ratio(ours_p95, theirs_p95) if am_lat else "",
            )
        )
    lat_cpu = latency_meter.servers_seconds()
    rows.append(
        (
            f"CPU during the {args.rate:g}/s run (% of a core)",
            f"{100 * lat_cpu / latency_meter.seconds:.0f}",
            f"{100 * am_lat.cpu / am_lat.seconds:.0f}" if am_lat else "skipped",
            "",
        )
    )
    width = max(len(r[0]) for r in rows)
    print("\n" + f"{'':<{width}}  {'alertsite':>12}  {'Alertmanager':>12}  {'alertsite/AM':>12}")
    for name, ours, theirs, share in rows:
        print(f"{name:<{width}}  {ours:>12}  {theirs:>12}  {share:>12}")


if __name__ == "__main__":
    main()

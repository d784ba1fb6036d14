"""Request count and duration by method, route name and status, for `/metrics`.

Several gunicorn workers serve one site, and a counter in one process knows only its own requests.
With `PROMETHEUS_MULTIPROC_DIR` set (before the process starts) prometheus-client keeps these in
memory-mapped files there and the scrape sums every process's files; without it (one process, the
embedded default) they live in the process that answers the scrape.
"""

from __future__ import annotations

import os

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram
from prometheus_client.multiprocess import MultiProcessCollector

LABELS = ("method", "route", "status")
# Console pages and API calls take milliseconds to a few seconds (an import, a backtest).
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

REQUESTS = Counter("alertsite_http_requests", "HTTP requests answered.", LABELS)
DURATION = Histogram(
    "alertsite_http_request_duration_seconds", "Time from request to response.", LABELS, buckets=BUCKETS
)
# Methods outside this set are counted as "other", so a scanner cannot mint label values.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def request_observe(method: str, route: str, status: int, seconds: float) -> None:
    labels = (method if method in METHODS else "other", route, str(status))
    REQUESTS.labels(*labels).inc()
    DURATION.labels(*labels).observe(seconds)


def http_registry() -> CollectorRegistry:
    """What to expose: every process's files in multiprocess mode, else this process's registry."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return registry
    return REGISTRY

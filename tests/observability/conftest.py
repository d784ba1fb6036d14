"""Fixtures for the operating features: scraping /metrics and capturing log lines as written."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator

import orjson
import pytest
from django.test import Client, override_settings
from prometheus_client.parser import text_string_to_metric_families

from alertsite.observability.jsonlog import JsonFormatter
from alertsite.observability.request_id import RequestIdFilter

METRICS_TOKEN = "scrape-token-for-tests"


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples_parse(text: str) -> Samples:
    """{(sample name, sorted labels): value} of a Prometheus text answer."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


@pytest.fixture
def scrape(db: None) -> Callable[[], Samples]:
    """``scrape()``: GET /metrics with the bearer token; the answer's samples."""

    def get() -> Samples:
        with override_settings(ALERTSITE_METRICS_TOKEN=METRICS_TOKEN):
            response = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}")
        assert response.status_code == 200, response.content
        assert response["Content-Type"].startswith("text/plain")
        return samples_parse(response.content.decode())

    return get


@pytest.fixture
def json_lines() -> Iterator[Callable[[], list[dict]]]:
    """Log records of every logger written as LOG_FORMAT=json writes them; call it for the lines so far."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield lambda: [orjson.loads(line) for line in stream.getvalue().splitlines() if line]
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)

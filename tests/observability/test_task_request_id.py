"""The request id of a request reaches the log lines of the Celery tasks it enqueued (a real worker)."""

from __future__ import annotations

import orjson
import pytest

from rules.services import rule_create
from tests.channels.conftest import FAILED_LOGINS
from tests.factories import make_event
from tests.workers import CeleryWorker, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def json_records(output: str) -> list[dict]:
    records = []
    for line in output.splitlines():
        if line.startswith("{"):
            try:
                records.append(orjson.loads(line))
            except orjson.JSONDecodeError:
                continue
    return records


def test_evaluation_task_logs_carry_the_request_id_of_the_ingest(broker_queue, ingest_client):
    rule_create(data=FAILED_LOGINS, actor=None)
    with CeleryWorker("reqid", LOG_FORMAT="json") as worker:
        response = ingest_client.post(
            "/api/v1/events",
            data=orjson.dumps([make_event(id="traced-1")]),
            content_type="application/json",
            HTTP_X_REQUEST_ID="ingest-trace-7",
        )
        assert response.status_code == 202

        def task_lines() -> list[dict]:
            return [r for r in json_records(worker.output()) if "succeeded" in r.get("message", "")]

        lines = wait_for(task_lines, timeout=60, describe=worker.output)
    assert lines[0]["request_id"] == "ingest-trace-7"
    assert "evaluate" in lines[0]["message"]

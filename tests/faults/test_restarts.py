"""PostgreSQL and Redis restarted under load (issue 13): nothing accepted is lost or doubled.

alertsite runs as deployed (gunicorn -w 2, a Celery worker, beat) on a private PostgreSQL
cluster and a private Redis, which the tests crash and restart. A client posts events in
batches with fixed ids and retries on 503 and dropped connections, as api.md asks. Each test
ends with every stage at the same count: accepted (the 202 answers' `accepted`, summed) =
stored = evaluated = matched = alerted = deliveries sent = distinct delivery ids the receiver
got. Receivers may see a delivery id twice (a send whose outcome the crash lost is sent again
with its id, README "Delivery"); they drop the repeat.

Worker SIGKILL mid-task is covered elsewhere: evaluation and delivery by test_worker_killed_
mid_batch below (both at once, under load), a single slow delivery by
tests/channels/test_e2e_worker.py, a source's backfill by tests/sources/test_faults.py.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from tests.factories import make_event
from tests.faults.servers import PrivatePostgres, PrivateRedis
from tests.faults.stack import Stack, every_stage_once
from tests.receivers import Reply, WebhookReceiver

pytestmark = [pytest.mark.faults, pytest.mark.timeout(120)]

BATCHES, BATCH = 30, 20  # 600 events
N = BATCHES * BATCH


def batch(number: int) -> list[dict]:
    return [make_event(id=f"fault-{number:03d}-{i:02d}") for i in range(BATCH)]


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver(default=Reply(delay=0.01), keep_alive=True) as hook:
        yield hook


def ingest_in_background(stack: Stack, *, pause: float = 0.05) -> tuple[threading.Thread, threading.Event]:
    """Sustained ingest from one client thread; the event is set halfway through."""
    halfway = threading.Event()

    def run() -> None:
        for number in range(BATCHES):
            stack.ingest(batch(number))
            if number == BATCHES // 3:
                halfway.set()
            time.sleep(pause)

    thread = threading.Thread(target=run, name="ingest", daemon=True)
    thread.start()
    return thread, halfway


def assert_every_stage_once(stack: Stack, counts: dict[str, int]) -> None:
    assert stack.log.accepted == N, stack.log
    assert counts == every_stage_once(N)


def test_postgres_restarted_during_sustained_ingest(
    private_postgres: PrivatePostgres, fault_database, shared_redis, receiver
):
    with Stack(fault_database, shared_redis) as stack:
        stack.setup_rule(receiver.url)
        thread, halfway = ingest_in_background(stack)
        assert halfway.wait(60)
        private_postgres.restart("immediate", down_for=2.0)  # a crash: no checkpoint, recovery from the WAL
        thread.join(90)
        assert not thread.is_alive()
        counts = stack.wait_until_caught_up(N, receiver, timeout=90)

    assert_every_stage_once(stack, counts)
    # While it was down the API said so, and when to come back.
    assert stack.log.statuses.get(503, 0) > 0 and 500 not in stack.log.statuses, stack.log.statuses
    assert stack.log.retry_after == {"5"}
    assert all("database is unavailable" in body["detail"] for body in stack.log.bodies_503)


def test_postgres_restarted_during_delivery(private_postgres: PrivatePostgres, fault_database, shared_redis):
    with WebhookReceiver(default=Reply(delay=0.05), keep_alive=True) as slow:
        with Stack(fault_database, shared_redis) as stack:
            stack.setup_rule(slow.url)
            for number in range(BATCHES):
                stack.ingest(batch(number))
            slow.wait_for(N // 10, timeout=60)  # the storm is under way
            private_postgres.restart("immediate", down_for=2.0)
            counts = stack.wait_until_caught_up(N, slow, timeout=90)

    assert_every_stage_once(stack, counts)
    assert stack.log.statuses == {202: BATCHES}


def test_redis_killed_and_restarted_during_ingest(fault_database, private_redis: PrivateRedis, receiver):
    with Stack(fault_database, private_redis.url) as stack:
        stack.setup_rule(receiver.url)
        thread, halfway = ingest_in_background(stack)
        assert halfway.wait(60)
        private_redis.kill()  # SIGKILL, no persistence: queued tasks and wake-up flags are gone
        time.sleep(2.0)
        private_redis.start()
        thread.join(90)
        assert not thread.is_alive()
        counts = stack.wait_until_caught_up(N, receiver, timeout=90)

    assert_every_stage_once(stack, counts)
    # Ingest never depended on the broker: every request was accepted at once.
    assert stack.log.statuses == {202: BATCHES}


def test_worker_killed_mid_batch_during_ingest_and_delivery(fault_database, shared_redis, receiver):
    with Stack(fault_database, shared_redis) as stack:
        stack.setup_rule(receiver.url)
        thread, halfway = ingest_in_background(stack, pause=0.0)
        assert halfway.wait(60)
        receiver.wait_for(1, timeout=60)
        stack.workers[0].kill()  # SIGKILL of the whole pool, mid-evaluation or mid-send
        stack.worker_start("w2")
        thread.join(90)
        counts = stack.wait_until_caught_up(N, receiver, timeout=90)

    assert_every_stage_once(stack, counts)

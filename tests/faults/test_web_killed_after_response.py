"""Web workers SIGKILLed right after answering: a request's few events are evaluated by its own
gunicorn worker in the transaction that stores them, and their webhooks sent by that worker
once the client has its 202 (alertsite.afterresponse), so that worker dying mid-send (or, with
a stored-again batch, mid-evaluation) must lose nothing and double nothing, exactly as for a
Celery worker (the sweeps take the rest)."""

from __future__ import annotations

import os
import signal
import subprocess
import threading

import pytest

from tests.factories import make_event
from tests.faults.stack import Stack, every_stage_once
from tests.receivers import Reply, WebhookReceiver

pytestmark = [pytest.mark.faults, pytest.mark.timeout(120)]

N = 60  # single-event requests
KILL_AFTER = (10, 25, 40)  # requests answered before each SIGKILL of every gunicorn worker


def web_workers_kill(stack: Stack) -> int:
    """SIGKILL gunicorn's workers (its master starts new ones); answers how many were killed."""
    master = next(p for p in stack.processes if p.name == "gunicorn").process.pid
    pids = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout.split()
    for pid in pids:
        os.kill(int(pid), signal.SIGKILL)
    return len(pids)


def test_web_workers_killed_right_after_answering_lose_and_double_nothing(fault_database, shared_redis):
    # Each webhook takes a moment, so a kill right after a 202 lands in that request's own
    # send more often than not.
    with WebhookReceiver(default=Reply(delay=0.05), keep_alive=True) as receiver:
        with Stack(fault_database, shared_redis) as stack:
            stack.setup_rule(receiver.url)
            killed = 0
            answered, resumed = threading.Event(), threading.Event()

            def post_all() -> None:
                for number in range(N):
                    stack.ingest([make_event(id=f"web-{number:03d}")])
                    if number + 1 in KILL_AFTER:
                        # The next request waits for the kill: it is the answered one's after-response
                        # work the kill must hit, not a request in flight (whose retry would find its
                        # event stored already and count it a duplicate).
                        answered.set()
                        assert resumed.wait(60)
                        resumed.clear()

            thread = threading.Thread(target=post_all, name="ingest", daemon=True)
            thread.start()
            for _ in KILL_AFTER:
                assert answered.wait(60)
                answered.clear()
                killed += web_workers_kill(stack)
                resumed.set()
            thread.join(90)
            counts = stack.wait_until_caught_up(N, receiver, timeout=60)

    assert killed >= 6
    assert stack.log.accepted == N
    assert counts == every_stage_once(N)

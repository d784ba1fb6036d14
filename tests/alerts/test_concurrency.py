"""Races on PostgreSQL: real concurrent HTTP requests on one alert, and two workers raising alerts for one group."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import orjson
import pytest
from django.utils import timezone

from alerts.models import Alert, AlertEvent, AlertTransition
from alertsite.accounts import services as accounts
from events.models import AuditEvent, PendingEvaluation
from rules.models import RuleMatch
from rules.services import rule_create
from tests.factories import make_event
from tests.workers import CeleryWorker, wait_for

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

FAILED_LOGINS = {
    "name": "Failed logins",
    "priority": "high",
    "conditions": [
        {"event_type": "user_login_attempt", "filters": [{"key": "success", "operator": "eq", "value": False}]}
    ],
}
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def ingest(client, events: list[dict]) -> None:
    response = client.post("/api/v1/events", data=orjson.dumps(events), content_type="application/json")
    assert response.status_code == 202, response.content


def post(url: str, token: str, body: dict | None = None) -> int:
    request = urllib.request.Request(
        url,
        data=orjson.dumps(body or {}),
        method="POST",
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
    )
    try:
        with NO_PROXY.open(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def race(*requests: tuple[str, str, dict | None]) -> list[int]:
    """POST each (url, token, body) from its own thread, all released together; return the status codes in order."""
    barrier = threading.Barrier(len(requests))

    def run(url: str, token: str, body: dict | None) -> int:
        barrier.wait(timeout=10)
        return post(url, token, body)

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        futures = [pool.submit(run, *request) for request in requests]
        return [future.result(timeout=60) for future in futures]


@pytest.fixture
def open_alerts(ingest_client) -> Callable[[int], list[Alert]]:
    """Return a factory raising n open alerts the real way (evaluation runs in-process on commit)."""

    def make(n: int) -> list[Alert]:
        rule_create(data=FAILED_LOGINS, actor=None)
        ingest(ingest_client, [make_event(id=f"race{k}") for k in range(n)])
        alerts = list(Alert.objects.order_by("pk"))
        assert len(alerts) == n
        return alerts

    return make


@pytest.fixture
def two_tokens(make_user) -> tuple[str, str]:
    return tuple(accounts.token_issue(user=make_user("responder")) for _ in range(2))


@pytest.mark.postgres
def test_two_concurrent_acknowledgements_give_one_200_and_one_409(live_server, open_alerts, two_tokens):
    for alert in open_alerts(3):  # a few rounds: each must hold, whichever request wins
        url = f"{live_server.url}/api/v1/alerts/{alert.pk}/acknowledge"
        codes = race(*((url, token, {"note": "mine"}) for token in two_tokens))
        assert sorted(codes) == [200, 409]
        assert AlertTransition.objects.filter(alert=alert).count() == 1
        alert.refresh_from_db()
        assert alert.status == "acknowledged"
        assert (
            AuditEvent.objects.filter(event_type="alert_status_updated", payload__resource__id=str(alert.pk)).count()
            == 1
        )


@pytest.mark.postgres
def test_acknowledge_racing_resolve_ends_resolved_with_one_transition_per_success(live_server, open_alerts, two_tokens):
    for alert in open_alerts(3):
        base = f"{live_server.url}/api/v1/alerts/{alert.pk}"
        acknowledge, resolve = race(
            (f"{base}/acknowledge", two_tokens[0], None), (f"{base}/resolve", two_tokens[1], None)
        )
        # Resolve is legal from open and from acknowledged, so it always wins its move;
        # acknowledge succeeds only when it came first.
        assert resolve == 200
        assert acknowledge in (200, 409)
        alert.refresh_from_db()
        assert alert.status == "resolved"
        moves = list(AlertTransition.objects.filter(alert=alert).values_list("from_status", "to_status"))
        if acknowledge == 200:
            assert moves == [("open", "acknowledged"), ("acknowledged", "resolved")]
            assert alert.acknowledged_at is not None
        else:
            assert moves == [("open", "resolved")]
            assert alert.acknowledged_at is None


# -- two real workers ----------------------------------------------------------------------------


def in_parallel(calls: list[Callable[[], object]]) -> None:
    """Run the calls in threads (starting or stopping workers, which each wait); re-raise the first error."""
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        for future in [pool.submit(call) for call in calls]:
            future.result(timeout=90)


@pytest.mark.worker
def test_two_workers_raise_exactly_one_alert_per_rule_for_one_group_key(ingest_client, broker_queue):
    grouped = rule_create(
        data={**FAILED_LOGINS, "group_by": ["initiated_by.email"], "group_window_minutes": 60}, actor=None
    )
    threshold = rule_create(
        data={
            **FAILED_LOGINS,
            "name": "Failed logins, 3 in 10 minutes",
            "group_by": ["initiated_by.email"],
            "threshold": {"count": 3, "window_minutes": 10},
        },
        actor=None,
    )
    start = timezone.now() - timedelta(minutes=30)
    events = [
        make_event(id=f"burst{n}", timestamp=(start + timedelta(seconds=10 * n)).isoformat().replace("+00:00", "Z"))
        for n in range(20)
    ]

    def settled() -> bool:
        return (
            RuleMatch.objects.filter(rule__in=[grouped, threshold]).count() == 40
            and not PendingEvaluation.objects.exists()
            and broker_queue.llen("celery") == 0
        )

    workers = [CeleryWorker("w1"), CeleryWorker("w2")]
    try:
        in_parallel([worker.start for worker in workers])
        for offset in range(0, 20, 2):  # ten small batches, one evaluation task each
            ingest(ingest_client, events[offset : offset + 2])
        wait_for(settled, timeout=45, describe=lambda: "".join(worker.output() for worker in workers))
    finally:
        # Everything has settled (or the test failed): no task is in flight, so end them at once.
        in_parallel([worker.kill for worker in workers])
    group_alert = Alert.objects.get(rule=grouped)
    assert group_alert.event_count == 20
    assert AlertEvent.objects.filter(alert=group_alert).count() == 20
    threshold_alert = Alert.objects.get(rule=threshold)
    assert threshold_alert.event_count == AlertEvent.objects.filter(alert=threshold_alert).count() >= 3
    assert Alert.objects.count() == 2

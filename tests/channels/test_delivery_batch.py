"""Storm-speed delivery: kept connections pinned to the checked address, bookkeeping per batch."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from alertsite.httppool import ConnectionPool, Destination, pool
from channels.models import Delivery, DeliveryAttempt, DeliveryStatus
from channels.services import deliveries_send, delivery_send
from channels.transports import webhook as webhook_module
from tests.channels.conftest import enqueue
from tests.receivers import Reply, WebhookReceiver

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_pool():
    """Each test starts without kept connections (the pool is per process)."""
    pool().clear()
    yield
    pool().clear()


# -- the pooled client ---------------------------------------------------------------------------


def test_deliveries_to_one_receiver_share_a_kept_connection(make_webhook):
    with WebhookReceiver(keep_alive=True) as hook:
        channel = make_webhook(hook.url)
        for _ in range(5):
            assert delivery_send(delivery_id=enqueue(channel).pk).status == DeliveryStatus.SENT
        hook.wait_for(5)
    assert hook.connections == 1


def test_a_receiver_that_closes_each_connection_gets_a_new_one_each_time(make_webhook, receiver):
    channel = make_webhook(receiver.url)  # HTTP/1.0: the server closes after each answer
    for _ in range(3):
        assert delivery_send(delivery_id=enqueue(channel).pk).status == DeliveryStatus.SENT
    assert receiver.connections == 3


def test_a_kept_connection_the_receiver_dropped_is_replaced_without_a_failed_attempt(make_webhook):
    with WebhookReceiver(keep_alive=True) as hook:
        channel = make_webhook(hook.url)
        assert delivery_send(delivery_id=enqueue(channel).pk).status == DeliveryStatus.SENT
        for connections in pool()._idle.values():  # as if the receiver timed them out
            for _, kept in connections:
                kept.sock.close()  # as if the receiver had closed it: the next send must not fail on it
        second = enqueue(channel)
        assert delivery_send(delivery_id=second.pk).status == DeliveryStatus.SENT
        hook.wait_for(2)
    assert [a.outcome for a in DeliveryAttempt.objects.filter(delivery=second)] == ["sent"]


def test_the_guard_still_refuses_a_private_address_with_a_kept_connection_to_it(make_webhook):
    with WebhookReceiver(keep_alive=True) as hook:
        channel = make_webhook(hook.url)
        assert delivery_send(delivery_id=enqueue(channel).pk).status == DeliveryStatus.SENT
        with override_settings(ALERTSITE_WEBHOOK_ALLOW_PRIVATE=False):
            refused = enqueue(channel)
            assert delivery_send(delivery_id=refused.pk).status == DeliveryStatus.FAILED
        refused.refresh_from_db()
        assert "loopback" in refused.last_error
        assert len(hook.requests) == 1  # the kept connection was not used


def test_connections_go_to_the_checked_address_and_never_follow_a_new_one(make_webhook, monkeypatch):
    answer = ["127.0.0.1"]
    resolved: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        resolved.append(host)
        return list(answer)

    monkeypatch.setattr(webhook_module, "addresses_resolve", resolve)
    with WebhookReceiver(keep_alive=True) as hook:
        channel = make_webhook(f"http://hook.example.com:{hook.port}/hook")
        assert delivery_send(delivery_id=enqueue(channel).pk).status == DeliveryStatus.SENT
        request = hook.wait_for(1)[0]
        assert request.header("Host") == f"hook.example.com:{hook.port}"  # spoken to the name, sent to the address
        answer[:] = ["127.0.0.2"]  # DNS now answers another address: it gets its own connection
        moved = enqueue(channel)
        delivery_send(delivery_id=moved.pk)
        moved.refresh_from_db()
        assert (moved.status, len(hook.requests), hook.connections) == ("pending", 1, 1)
        assert "Connection failed" in moved.last_error
    assert resolved == ["hook.example.com", "hook.example.com"]  # resolved and checked for every send


def test_pool_keys_connections_by_address_port_and_name():
    with WebhookReceiver(keep_alive=True) as hook:
        kept = ConnectionPool()
        one = Destination("http", "127.0.0.1", hook.port, "a.example.com")
        other = Destination("http", "127.0.0.1", hook.port, "b.example.com")
        for destination in (one, one, other, other, one):
            reply = kept.post(destination, "/hook", body=b"{}", headers={}, timeout=5, read_limit=100)
            assert reply.status == 200
        hook.wait_for(5)
        kept.clear()
    assert (kept.opened, hook.connections) == (2, 2)
    assert [r.header("Host") for r in hook.requests] == [
        f"{name}.example.com:{hook.port}" for name in ("a", "a", "b", "b", "a")
    ]


# -- batches -------------------------------------------------------------------------------------


def _send_counting_queries(channel, count: int) -> int:
    pks = [enqueue(channel).pk for _ in range(count)]
    with CaptureQueriesContext(connection) as queries:
        run = deliveries_send(pks)
    assert run.counts == {DeliveryStatus.SENT: count}
    return len(queries)


def test_a_batch_costs_the_same_queries_whatever_its_size(make_webhook):
    with WebhookReceiver(keep_alive=True) as hook:
        small = _send_counting_queries(make_webhook(hook.url), 3)
        large = _send_counting_queries(make_webhook(hook.url), 40)
        hook.wait_for(43)
    assert small == large
    assert large <= 14


@pytest.mark.postgres
def test_on_postgresql_the_claim_defers_paused_rows_and_returns_the_claimed_ones_in_one_statement(make_webhook):
    with WebhookReceiver(keep_alive=True) as hook:
        channel = make_webhook(hook.url)
        pks = [enqueue(channel).pk for _ in range(3)]
        with CaptureQueriesContext(connection) as queries:
            deliveries_send(pks)
        hook.wait_for(3)
    claims = [q["sql"] for q in queries.captured_queries if "SET status = 'sending'" in q["sql"]]
    assert len(claims) == 1
    assert "deferred AS (" in claims[0]  # the paused channels' rows, same statement
    assert not [q for q in queries.captured_queries if "channels_delivery" in q["sql"] and "SELECT" in q["sql"][:10]]


@pytest.mark.postgres
def test_on_postgresql_the_claim_and_the_record_are_a_statement_each_with_no_transaction_around(make_webhook):
    """Claim and record each relax their own commit (set_config in the statement): no BEGIN, SET, COMMIT."""
    with WebhookReceiver(keep_alive=True) as hook:
        channel = make_webhook(hook.url)
        pks = [enqueue(channel).pk for _ in range(3)]
        with CaptureQueriesContext(connection) as queries:
            deliveries_send(pks)
        hook.wait_for(3)
    statements = [q["sql"].strip() for q in queries.captured_queries]
    assert not [sql for sql in statements if sql in ("BEGIN", "COMMIT") or sql.startswith("SET LOCAL")]
    assert len([sql for sql in statements if "set_config('synchronous_commit', 'off', true)" in sql]) == 2


@override_settings(ALERTSITE_DELIVERY_CONCURRENCY=4)
def test_a_batch_is_sent_side_by_side_once_each(make_webhook):
    with WebhookReceiver(Reply.slow(0.05), keep_alive=True, default=Reply.slow(0.05)) as hook:
        channel = make_webhook(hook.url)
        pks = [enqueue(channel).pk for _ in range(20)]
        run = deliveries_send(pks)
        requests = hook.wait_for(20)
        assert deliveries_send(pks).counts == {DeliveryStatus.SENT: 20}  # a re-delivered task sends nothing
    assert run.counts == {DeliveryStatus.SENT: 20}
    assert len(hook.requests) == 20
    assert {r.header("X-Alertsite-Delivery") for r in requests} == {
        str(u) for u in Delivery.objects.filter(pk__in=pks).values_list("uuid", flat=True)
    }
    assert hook.connections <= 4
    assert DeliveryAttempt.objects.filter(delivery_id__in=pks).count() == 20
    channel.refresh_from_db()
    assert (channel.consecutive_failures, channel.last_error) == (0, "")


@override_settings(ALERTSITE_DELIVERY_CONCURRENCY=1, ALERTSITE_DELIVERY_TIMEOUT_SECONDS=0.5)
def test_a_slow_receiver_gets_no_request_the_sweep_could_take_back(make_webhook):
    """Rows claimed with the batch but not started within one timeout go back to pending, due now."""
    with WebhookReceiver(default=Reply.slow(0.3), keep_alive=True) as hook:
        channel = make_webhook(hook.url)
        pks = [enqueue(channel).pk for _ in range(6)]
        run = deliveries_send(pks)
    sent = run.counts.get(DeliveryStatus.SENT, 0)
    assert 1 <= sent < 6
    assert run.counts == {DeliveryStatus.SENT: sent, "deferred": 6 - sent}
    assert len(hook.requests) == sent
    rows = Delivery.objects.filter(pk__in=pks).order_by("pk")
    assert [(r.status, r.attempts) for r in rows] == [("sent", 1)] * sent + [("pending", 0)] * (6 - sent)
    (retry_at,) = run.retries
    assert run.retries[retry_at] == pks[sent:]
    assert all(r.next_attempt_at == retry_at for r in rows[sent:])

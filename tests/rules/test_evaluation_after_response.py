"""A request's few events are evaluated by its own web process, in the transaction that stores
them, and their notifications sent once its response is sent: no task, no queue hop, no
pending row. Anything else (a big request, no wrapper) goes to the workers, and an evaluation
that fails stores the events again for after the response (and the drain behind it)."""

from __future__ import annotations

from io import BytesIO

import orjson
import pytest
from django.core.handlers.wsgi import WSGIHandler

from alerts.models import Alert
from alertsite.accounts import services as accounts
from alertsite.accounts.roles import Role
from alertsite.afterresponse import AfterResponse, Job, collecting, jobs_run
from channels import tasks as channel_tasks
from channels.models import Delivery, DeliveryStatus, NotificationKind
from channels.notification import sample_notification
from channels.services import channel_create, notification_enqueue
from events.models import PendingEvaluation
from events.progress import evaluation_progress
from rules import tasks
from rules.models import RuleMatch
from rules.services import rule_create
from tests.factories import make_event
from tests.receivers import WebhookReceiver

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)  # the catalog, whatever ran before

FAILED_LOGINS = {
    "name": "Failed logins",
    "priority": "high",
    "conditions": [
        {"event_type": "user_login_attempt", "filters": [{"key": "success", "operator": "eq", "value": False}]}
    ],
}


class Served:
    """One POST through the deployed WSGI stack (alertsite.wsgi wraps Django the same way)."""

    def __init__(self, token: str, events: list[dict]) -> None:
        body = orjson.dumps(events)
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": "/api/v1/events",
            "SERVER_NAME": "testserver",
            "SERVER_PORT": "80",
            "HTTP_HOST": "testserver",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)),
            "HTTP_AUTHORIZATION": f"Token {token}",
            "wsgi.input": BytesIO(body),
            "wsgi.url_scheme": "http",
        }
        self.status = ""
        self.result = AfterResponse(WSGIHandler())(environ, self._start)
        self.body = b"".join(self.result)

    def _start(self, status: str, headers: list, exc_info: object = None) -> None:
        self.status = status

    def close(self) -> None:
        """What the WSGI server does once the last byte is written."""
        self.result.close()


@pytest.fixture
def token(make_user) -> str:
    return accounts.token_issue(user=make_user(Role.INGEST))


@pytest.fixture
def woken(monkeypatch) -> list[str]:
    calls: list[str] = []
    monkeypatch.setattr(tasks, "wake", lambda name, task: calls.append(name) or True)
    return calls


def failed_logins(count: int, prefix: str) -> list[dict]:
    return [make_event(id=f"{prefix}{n}", success=False) for n in range(count)]


def test_a_requests_few_events_are_evaluated_in_the_transaction_that_stores_them(token, woken):
    rule = rule_create(data=FAILED_LOGINS, actor=None)
    counted = evaluation_progress().evaluated_total
    served = Served(token, failed_logins(3, "a"))
    assert served.status.startswith("202")
    assert RuleMatch.objects.filter(rule=rule).count() == 3  # before the response was closed
    assert Alert.objects.filter(rule=rule).count() == 3
    assert not PendingEvaluation.objects.exists()  # none written, none to claim or delete
    assert evaluation_progress().evaluated_total == counted + 3
    served.close()
    assert RuleMatch.objects.filter(rule=rule).count() == 3
    assert woken == []


def test_the_statement_storing_a_requests_events_counts_them_evaluated(token, woken):
    """No counter statement of its own: the storing statement adds them to its IngestCount row,
    and a duplicate sent again is counted neither stored nor evaluated."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from events.models import EvaluationCount, IngestCount

    rule_create(data=FAILED_LOGINS, actor=None)
    counted = evaluation_progress().evaluated_total
    with CaptureQueriesContext(connection) as queries:
        Served(token, failed_logins(2, "c")).close()
    assert not [q for q in queries if EvaluationCount._meta.db_table in q["sql"]]
    assert sum(IngestCount.objects.values_list("evaluated", flat=True)) >= 2
    assert evaluation_progress().evaluated_total == counted + 2
    Served(token, failed_logins(2, "c")).close()
    assert evaluation_progress().evaluated_total == counted + 2


def test_the_alerts_webhook_is_sent_by_the_web_process_after_the_response(token, woken, monkeypatch):
    queued: list[list[int]] = []
    monkeypatch.setattr(channel_tasks.deliver_task, "delay", lambda pks: queued.append(list(pks)))
    with WebhookReceiver(keep_alive=True) as hook:
        channel = channel_create(data={"kind": "webhook", "name": "Hook", "config": {"url": hook.url}}, actor=None)
        rule_create(data={**FAILED_LOGINS, "send_notifications": True, "channels": [channel.pk]}, actor=None)
        served = Served(token, failed_logins(1, "w"))
        assert Delivery.objects.get().status == DeliveryStatus.SENDING  # written claimed by this process
        assert hook.requests == []  # the client never waits on a receiver
        served.close()
        hook.wait_for(1)
    assert Delivery.objects.get().status == DeliveryStatus.SENT
    assert queued == []


def test_a_console_request_sends_its_notifications_after_its_response_too(token, monkeypatch):
    """Not only evaluation: whatever a request writes to the outbox goes out after its response."""
    queued: list[list[int]] = []
    monkeypatch.setattr(channel_tasks.deliver_task, "delay", lambda pks: queued.append(list(pks)))
    sent: list[str] = []
    with WebhookReceiver(keep_alive=True) as hook:
        channel = channel_create(data={"kind": "webhook", "name": "Hook", "config": {"url": hook.url}}, actor=None)

        def request() -> list[Job]:
            with collecting() as jobs:
                notification_enqueue(
                    notification=sample_notification(NotificationKind.ALERT_CREATED),
                    channel_ids=[channel.pk],
                    source="console:1",
                )
                sent.append(Delivery.objects.get().status)
            return jobs

        jobs = request()
        assert sent == [DeliveryStatus.SENDING] and hook.requests == []
        jobs_run(jobs)
        hook.wait_for(1)
    assert Delivery.objects.get().status == DeliveryStatus.SENT
    assert queued == []


def test_a_request_with_more_events_than_the_limit_wakes_the_workers(token, woken, settings):
    settings.ALERTSITE_EVALUATION_AFTER_RESPONSE_MAX = 2
    rule = rule_create(data=FAILED_LOGINS, actor=None)
    Served(token, failed_logins(3, "b")).close()
    assert woken == [tasks.PENDING]
    assert not RuleMatch.objects.filter(rule=rule).exists()


def test_a_limit_of_zero_sends_every_request_to_the_workers(token, woken, settings):
    settings.ALERTSITE_EVALUATION_AFTER_RESPONSE_MAX = 0
    rule_create(data=FAILED_LOGINS, actor=None)
    Served(token, failed_logins(1, "z")).close()
    assert woken == [tasks.PENDING]


def test_an_evaluation_failing_in_the_request_stores_the_events_again_for_after_the_response(
    token, woken, monkeypatch, caplog
):
    def broken(events):
        raise RuntimeError("engine bug")

    monkeypatch.setattr(tasks, "events_evaluate_stored", broken)
    rule = rule_create(data=FAILED_LOGINS, actor=None)
    served = Served(token, failed_logins(2, "f"))
    assert served.status.startswith("202")
    assert orjson.loads(served.body)["accepted"] == 2
    assert PendingEvaluation.objects.filter(event__event_id__startswith="f").count() == 2  # stored the usual way
    assert "evaluating in the storing transaction failed" in caplog.text
    served.close()
    assert RuleMatch.objects.filter(rule=rule).count() == 2  # by the after-response path
    assert not PendingEvaluation.objects.exists()
    assert woken == []


def test_an_evaluation_failing_in_the_request_and_after_it_hands_the_events_to_the_drain(token, woken, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(tasks, "events_evaluate_stored", broken)
    monkeypatch.setattr(tasks, "events_evaluate", broken)
    rule_create(data=FAILED_LOGINS, actor=None)
    Served(token, failed_logins(1, "f")).close()
    assert woken == [tasks.PENDING]
    assert PendingEvaluation.objects.filter(event__event_id="f0").exists()  # still waiting, nothing lost


def test_stored_again_events_another_process_evaluated_first_are_not_evaluated_twice(token, woken, monkeypatch):
    monkeypatch.setattr(tasks, "events_evaluate_stored", lambda events: 1 / 0)
    rule = rule_create(data=FAILED_LOGINS, actor=None)
    served = Served(token, failed_logins(2, "d"))
    tasks.evaluate_pending_task.run()  # a drain got there first
    assert RuleMatch.objects.filter(rule=rule).count() == 2
    served.close()
    assert RuleMatch.objects.filter(rule=rule).count() == 2
    assert Alert.objects.filter(rule=rule).count() == 2


def test_a_duplicate_event_is_not_evaluated_again(token, woken):
    rule = rule_create(data=FAILED_LOGINS, actor=None)
    Served(token, failed_logins(1, "r")).close()
    again = Served(token, failed_logins(1, "r"))
    again.close()
    assert orjson.loads(again.body)["duplicates"] == 1
    assert RuleMatch.objects.filter(rule=rule).count() == 1


def test_without_the_wrapper_a_request_wakes_the_drain_as_before(ingest_client, woken):
    rule_create(data=FAILED_LOGINS, actor=None)
    response = ingest_client.post(
        "/api/v1/events", data=orjson.dumps(failed_logins(1, "c")), content_type="application/json"
    )
    assert response.status_code == 202
    assert woken == [tasks.PENDING]


def test_the_audit_events_of_the_alerts_it_raised_are_evaluated_there_too(token, woken):
    rule_create(data=FAILED_LOGINS, actor=None)
    on_alerts = rule_create(data={"name": "Alert raised", "conditions": [{"event_type": "alert_created"}]}, actor=None)
    Served(token, failed_logins(1, "n")).close()
    assert RuleMatch.objects.filter(rule=on_alerts).count() == 1
    assert not PendingEvaluation.objects.exists()
    assert woken == []

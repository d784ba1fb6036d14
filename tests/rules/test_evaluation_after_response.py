"""A request's few events are evaluated by its own web process once its response is sent: no
task, no queue hop; anything else (a big request, a failure, no wrapper) goes to the workers."""

from __future__ import annotations

from io import BytesIO

import orjson
import pytest
from django.core.handlers.wsgi import WSGIHandler

from alerts.models import Alert
from alertsite.accounts import services as accounts
from alertsite.accounts.roles import Role
from alertsite.afterresponse import AfterResponse
from channels import tasks as channel_tasks
from channels.models import Delivery, DeliveryStatus
from channels.services import channel_create
from events.models import PendingEvaluation
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


def test_a_requests_few_events_are_evaluated_after_its_response_and_not_before(token, woken):
    rule = rule_create(data=FAILED_LOGINS, actor=None)
    served = Served(token, failed_logins(3, "a"))
    assert served.status.startswith("202")
    assert PendingEvaluation.objects.filter(event__event_id__startswith="a").count() == 3
    assert not RuleMatch.objects.filter(rule=rule).exists()
    served.close()
    assert RuleMatch.objects.filter(rule=rule).count() == 3
    assert not PendingEvaluation.objects.filter(event__event_id__startswith="a").exists()
    assert Alert.objects.filter(rule=rule).count() == 3
    assert woken == []


def test_the_alerts_webhook_is_sent_by_the_web_process_after_the_response(token, woken, monkeypatch):
    queued: list[list[int]] = []
    monkeypatch.setattr(channel_tasks.deliver_task, "delay", lambda pks: queued.append(list(pks)))
    with WebhookReceiver(keep_alive=True) as hook:
        channel = channel_create(data={"kind": "webhook", "name": "Hook", "config": {"url": hook.url}}, actor=None)
        rule_create(data={**FAILED_LOGINS, "send_notifications": True, "channels": [channel.pk]}, actor=None)
        served = Served(token, failed_logins(1, "w"))
        assert hook.requests == []
        served.close()
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


def test_an_evaluation_failing_after_the_response_hands_the_events_to_the_drain(token, woken, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(tasks, "events_evaluate", broken)
    rule_create(data=FAILED_LOGINS, actor=None)
    Served(token, failed_logins(1, "f")).close()
    assert woken == [tasks.PENDING]
    assert PendingEvaluation.objects.filter(event__event_id="f0").exists()  # still waiting, nothing lost


def test_events_another_process_already_evaluated_are_not_evaluated_again(token, woken):
    rule = rule_create(data=FAILED_LOGINS, actor=None)
    served = Served(token, failed_logins(2, "d"))
    tasks.evaluate_pending_task.run()  # a drain got there first
    assert RuleMatch.objects.filter(rule=rule).count() == 2
    served.close()
    assert RuleMatch.objects.filter(rule=rule).count() == 2
    assert Alert.objects.filter(rule=rule).count() == 2


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

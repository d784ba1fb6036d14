"""GET /metrics (api.md §13): the documented families, with values that follow real ingest, evaluation and delivery."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from events.models import PendingEvaluation
from events.services import event_batch_ingest, source_origin
from events.sources.models import Source
from events.validation import Limits, event_validate
from rules.services import rule_create
from tests.channels.conftest import FAILED_LOGINS
from tests.factories import make_event
from tests.observability.conftest import METRICS_TOKEN
from tests.receivers import Reply

pytestmark = pytest.mark.django_db


@pytest.fixture
def webhook(make_webhook_channel, receiver):
    return make_webhook_channel(receiver.url)


@pytest.fixture
def make_webhook_channel(db):
    from channels.services import channel_create

    def make(url: str):
        return channel_create(data={"kind": "webhook", "name": "SOC hook", "config": {"url": url}}, actor=None)

    return make


@pytest.fixture
def receiver():
    from tests.receivers import WebhookReceiver

    with WebhookReceiver() as hook:
        yield hook


def test_scrape_after_ingest_evaluate_and_deliver_counts_each_step(scrape, ingest, webhook, receiver):
    rule_create(data={**FAILED_LOGINS, "send_notifications": True, "channels": [webhook.pk]}, actor=None)
    ingest(make_event(id="login-1"), make_event(id="login-2", event_type="user_create"))
    receiver.wait_for(1)

    samples = scrape()

    assert samples[("alertsite_events_ingested_total", (("source", "api"),))] == 2
    assert samples[("alertsite_events_ingested_total", (("source", "audit"),))] >= 1  # alert_created, rule create
    assert samples[("alertsite_events_pending_evaluation", ())] == 0
    assert samples[("alertsite_evaluation_lag_seconds", ())] == 0
    assert samples[("alertsite_events_evaluated_total", ())] >= 1
    assert samples[("alertsite_alerts_open", (("priority", "high"),))] == 1
    assert samples[("alertsite_alerts_open", (("priority", "low"),))] == 0
    assert samples[("alertsite_deliveries_total", (("kind", "webhook"), ("outcome", "sent")))] == 1
    assert samples[("alertsite_deliveries_pending", ())] == 0


def test_a_refused_webhook_counts_as_retry_and_stays_pending(scrape, ingest, webhook, receiver):
    receiver.script(Reply.with_status(503))
    rule_create(data={**FAILED_LOGINS, "send_notifications": True, "channels": [webhook.pk]}, actor=None)
    ingest(make_event(id="login-1"))
    receiver.wait_for(1)

    samples = scrape()

    assert samples[("alertsite_deliveries_total", (("kind", "webhook"), ("outcome", "retry")))] == 1
    assert ("alertsite_deliveries_total", (("kind", "webhook"), ("outcome", "sent"))) not in samples
    assert samples[("alertsite_deliveries_pending", ())] == 1


def test_events_waiting_for_evaluation_show_count_and_lag(scrape, evaluate_every_type):
    record = event_validate(make_event(id="waiting"), index=0, limits=Limits.from_settings())
    event_batch_ingest(records=[record])  # its evaluation runs after a commit that never comes here
    PendingEvaluation.objects.update(received_at=timezone.now() - timedelta(seconds=90))

    samples = scrape()

    assert samples[("alertsite_events_pending_evaluation", ())] == 1
    assert 90 <= samples[("alertsite_evaluation_lag_seconds", ())] < 120


def test_pulled_events_and_lag_are_labelled_with_the_source_name(scrape):
    source = Source.objects.create(name="Acme JumpCloud", newest_event_at=timezone.now() - timedelta(minutes=5))
    records = [event_validate(make_event(id=f"pulled-{i}"), index=i, limits=Limits.from_settings()) for i in range(3)]
    event_batch_ingest(records=records, origin=source_origin(source.pk))

    samples = scrape()

    assert samples[("alertsite_events_ingested_total", (("source", "Acme JumpCloud"),))] == 3
    assert 300 <= samples[("alertsite_source_lag_seconds", (("source", "Acme JumpCloud"),))] < 330


def test_http_requests_are_counted_by_method_route_and_status(scrape, auth_client):
    client = auth_client("viewer")
    before = scrape().get(
        ("alertsite_http_requests_total", (("method", "GET"), ("route", "event-type-list"), ("status", "200"))), 0
    )
    client.get("/api/v1/event-types")
    client.get("/api/v1/event-types")
    client.get("/no/such/page")

    samples = scrape()

    labels = (("method", "GET"), ("route", "event-type-list"), ("status", "200"))
    assert samples[("alertsite_http_requests_total", labels)] == before + 2
    assert samples[("alertsite_http_request_duration_seconds_count", labels)] >= 2
    assert (
        samples[("alertsite_http_requests_total", (("method", "GET"), ("route", "<unmatched>"), ("status", "404")))]
        >= 1
    )


def test_a_scrape_costs_a_bounded_number_of_queries(scrape, ingest, django_assert_max_num_queries):
    Source.objects.create(name="One", newest_event_at=timezone.now())
    Source.objects.create(name="Two", newest_event_at=timezone.now())
    ingest(make_event(id="a"), make_event(id="b"))
    with django_assert_max_num_queries(8):
        scrape()


# -- who may scrape -------------------------------------------------------------------------------


def test_missing_token_is_401_with_a_json_error():
    with override_settings(ALERTSITE_METRICS_TOKEN=METRICS_TOKEN):
        response = Client().get("/metrics")
    assert response.status_code == 401
    assert response.json() == {"detail": "Send Authorization: Bearer <ALERTSITE_METRICS_TOKEN>."}
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_wrong_token_is_401():
    with override_settings(ALERTSITE_METRICS_TOKEN=METRICS_TOKEN):
        response = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer not-the-token")
    assert response.status_code == 401
    assert "detail" in response.json()


def test_without_a_token_and_debug_off_metrics_are_refused():
    with override_settings(ALERTSITE_METRICS_TOKEN="", DEBUG=False):
        response = Client().get("/metrics/")
    assert response.status_code == 403
    assert "ALERTSITE_METRICS_TOKEN" in response.json()["detail"]


def test_without_a_token_in_debug_metrics_are_open():
    with override_settings(ALERTSITE_METRICS_TOKEN="", DEBUG=True):
        response = Client().get("/metrics")
    assert response.status_code == 200
    assert "alertsite_events_pending_evaluation" in response.content.decode()


def test_a_snoozed_alert_counts_as_snoozed_not_open(scrape, ingest):
    from alerts.models import Alert
    from alerts.services import alert_snooze

    rule_create(data=FAILED_LOGINS, actor=None)
    ingest(make_event(id="login-1"), make_event(id="login-2"))
    alert_snooze(alert=Alert.objects.order_by("pk").first(), body={"minutes": 60}, actor=None)

    samples = scrape()

    assert samples[("alertsite_alerts_open", (("priority", "high"),))] == 1
    assert samples[("alertsite_alerts_snoozed", (("priority", "high"),))] == 1

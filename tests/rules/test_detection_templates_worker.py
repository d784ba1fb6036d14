"""Issue 16's "done when": "First login from a new country for this user" and "TOTP disabled then
password changed within 10 minutes", picked from the templates through the API, fire exactly once
each on a real Celery worker over PostgreSQL, learning included."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from alerts.models import Alert
from events.models import PendingEvaluation
from events.services import event_batch_ingest
from events.validation import Limits, event_validate
from rules.models import BackfillStatus, Rule
from tests.rules.detection_samples import sample_set
from tests.workers import CeleryWorker, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def ingest(*events: dict[str, Any]) -> None:
    """Store events as the API does: their commit queues evaluation on the broker."""
    limits = Limits.from_settings()
    event_batch_ingest(records=[event_validate(e, index=n, limits=limits) for n, e in enumerate(events)])  # type: ignore[arg-type]


@pytest.mark.parametrize("slug", ["login_new_country", "totp_disabled_then_password_changed"])
def test_template_picked_through_the_api_fires_exactly_once_on_a_real_worker(broker_queue, auth_client, slug):
    events = sample_set(slug, timezone.now().replace(microsecond=0) - timedelta(days=3))
    with CeleryWorker(f"tpl-{slug[:8]}", concurrency=2) as worker:
        if events.learned:
            ingest(*events.learned)
        response = auth_client("admin").post("/api/v1/rules", {"template": slug}, format="json")
        assert response.status_code == 201, response.content
        rule = Rule.objects.get(pk=response.json()["id"])
        if events.learned:
            wait_for(
                lambda: Rule.objects.get(pk=rule.pk).learn_status == BackfillStatus.DONE,
                timeout=30,
                describe=worker.output,
            )
        for event in events.live:  # one commit each: the worker may take them in any order
            ingest(event)
        ids = [event["id"] for event in (*events.learned, *events.live)]
        wait_for(
            lambda: not PendingEvaluation.objects.filter(event__event_id__in=ids).exists(),
            timeout=45,
            describe=worker.output,
        )
    alerts = list(Alert.objects.filter(rule=rule))
    assert [alert.event.event_id for alert in alerts] == [events.firing["id"]]
    assert alerts[0].explanation

"""Migration events.0004: unevaluated events become pending rows; the evaluated count starts right."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from events.models import EvaluationCount, PendingEvaluation
from tests.migration_steps import migrate, migrate_latest

BEFORE = [("events", "0005_insights_service_time_index")]
AFTER = [("events", "0006_pending_evaluation")]
WHEN = datetime(2025, 3, 2, 9, 16, tzinfo=UTC)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_unevaluated_events_become_pending_and_back():
    old = migrate(BEFORE)
    try:
        AuditEvent = old.get_model("events", "AuditEvent")

        def event(name: str, evaluated_at: datetime | None) -> int:
            return AuditEvent.objects.create(
                event_id=name,
                event_type="user_login_attempt",
                timestamp=WHEN,
                received_at=WHEN,
                evaluated_at=evaluated_at,
                payload={"id": name, "event_type": "user_login_attempt"},
            ).pk

        waiting = event("waiting", None)
        event("evaluated", WHEN + timedelta(seconds=1))
        event("evaluated-too", WHEN + timedelta(seconds=2))
        stored_as_evaluated = event("needs-none", WHEN)  # no rule looked at it: marked at insert
        migrate(AFTER)
        assert list(PendingEvaluation.objects.values_list("event_id", "received_at")) == [(waiting, WHEN)]
        assert sum(EvaluationCount.objects.values_list("evaluated", flat=True)) == 2

        back = migrate(BEFORE)
        rows = dict(back.get_model("events", "AuditEvent").objects.values_list("pk", "evaluated_at"))
        assert rows[waiting] is None
        assert rows[stored_as_evaluated] == WHEN
        assert all(at is not None for pk, at in rows.items() if pk != waiting)
    finally:
        migrate_latest()

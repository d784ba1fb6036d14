"""A batch's claim and record find their rows by id, whatever the statistics say (PostgreSQL).

Right after a storm's rows are written, the statistics still say almost nothing is pending, and
PostgreSQL preferred walking delivery_due_idx (status, next_attempt_at) through every pending
row to looking the batch's ids up: each batch cost more as the storm grew.
"""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from channels.models import Delivery, DeliveryStatus
from channels.services.sending import deliveries_claim

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

ROWS = 3000


@pytest.fixture
def stale_storm(make_webhook) -> list[int]:
    """ROWS pending rows, analyzed while they were all sent: the statistics of a storm's first seconds."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's planner")
    channel = make_webhook("https://hooks.example.com/storm")
    rows = Delivery.objects.bulk_create(
        [
            Delivery(channel=channel, kind="alert.created", source=f"storm:{n}", status=DeliveryStatus.SENT)
            for n in range(ROWS)
        ]
    )
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Delivery._meta.db_table}")
    Delivery.objects.update(status=DeliveryStatus.PENDING)
    return [row.pk for row in rows]


def plan_of(sql: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_the_claim_looks_its_rows_up_by_id_with_stale_statistics(stale_storm):
    with transaction.atomic():
        with CaptureQueriesContext(connection) as queries:
            claimed = deliveries_claim(stale_storm[:40], timezone.now())
        claim_sql = next(q["sql"] for q in queries.captured_queries if "SET status" in q["sql"])
        plan = plan_of(claim_sql)
        transaction.set_rollback(True)
    assert len(claimed) == 40
    assert "delivery_due_idx" not in plan, plan
    assert "channels_delivery_pkey" in plan, plan

"""The product's own metrics, read from the database at scrape time (api.md §13).

Counted in the database, not in process memory, so every web and worker process contributes and
a scrape from any one of them sees the whole site. Each read is cheap whatever the data's size:
counter rows added to by the statements that store events and record deliveries (a few shard
rows per label), the small pending-evaluation and outbox tables, the (status, priority) index of
alerts and the sources table. Eight queries a scrape.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from alerts.selectors import alerts_unresolved_by_priority
from alerts.states import AlertStatus
from channels.selectors import deliveries_pending_count, delivery_attempts_by_kind_outcome
from events.progress import evaluation_progress
from events.selectors import events_ingested_by_origin, sources_newest_event
from events.services import SOURCE_ORIGIN_PREFIX


class DomainCollector:
    """Yields the alertsite_* metric families; prometheus-client calls `collect` on each scrape."""

    def collect(self) -> Iterator[Metric]:
        now = timezone.now()
        sources = sources_newest_event()
        yield self.events_ingested({f"{SOURCE_ORIGIN_PREFIX}{pk}": name for pk, name, _ in sources})
        yield from self.evaluation(now)
        yield from self.alerts()
        yield from self.deliveries()
        lag = GaugeMetricFamily(
            "alertsite_source_lag_seconds",
            "Now minus the newest event a source stored (sources that stored none are left out).",
            labels=["source"],
        )
        for _, name, newest in sources:
            if newest is not None:
                lag.add_metric([name], max(0.0, (now - newest).total_seconds()))
        yield lag

    def events_ingested(self, source_names: dict[str, str]) -> Metric:
        family = CounterMetricFamily(
            "alertsite_events_ingested",
            'Events stored by way in: "api", "import", "audit" (alertsite\'s own), "simulate", '
            "or the name of the source that pulled them.",
            labels=["source"],
        )
        for origin, total in events_ingested_by_origin().items():
            family.add_metric([source_names.get(origin, origin)], total)
        return family

    def evaluation(self, now: datetime) -> Iterator[Metric]:
        progress = evaluation_progress()
        yield GaugeMetricFamily(
            "alertsite_events_pending_evaluation",
            "Events stored and not yet evaluated against the rules.",
            value=progress.pending,
        )
        oldest = progress.oldest_pending_received_at
        yield GaugeMetricFamily(
            "alertsite_evaluation_lag_seconds",
            "Age of the oldest event waiting for evaluation (0 when none waits).",
            value=max(0.0, (now - oldest).total_seconds()) if oldest else 0.0,
        )
        yield CounterMetricFamily(
            "alertsite_events_evaluated", "Events evaluated against the rules.", value=progress.evaluated_total
        )

    def alerts(self) -> Iterator[Metric]:
        by_status = alerts_unresolved_by_priority()
        for status, help_text in (
            (AlertStatus.OPEN, "Open alerts (not yet acknowledged) by priority."),
            (AlertStatus.ACKNOWLEDGED, "Acknowledged, unresolved alerts by priority."),
            ("snoozed", "Snoozed, unresolved alerts by priority (counted here, not as open or acknowledged)."),
        ):
            family = GaugeMetricFamily(f"alertsite_alerts_{status}", help_text, labels=["priority"])
            for priority, count in by_status[status].items():
                family.add_metric([priority], count)
            yield family

    def deliveries(self) -> Iterator[Metric]:
        total = CounterMetricFamily(
            "alertsite_deliveries",
            "Delivery attempts by channel kind and outcome (sent, retry, failed).",
            labels=["kind", "outcome"],
        )
        for (kind, outcome), count in delivery_attempts_by_kind_outcome().items():
            total.add_metric([kind, outcome], count)
        yield total
        yield GaugeMetricFamily(
            "alertsite_deliveries_pending",
            "Notifications in the outbox not yet sent or failed for good (pending or being sent).",
            value=deliveries_pending_count(),
        )

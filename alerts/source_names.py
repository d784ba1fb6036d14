"""Readable names for the subjects of a page of alerts (the alerts table shows a name, not an id).

An alert stores its subject's id (`source_id`); the name comes from its triggering event, read
for the whole page in one query that fetches only the few keys `alert_source_name_for` looks at.
"""

from __future__ import annotations

from collections.abc import Sequence

from alerts.models import Alert
from alerts.subjects import NAME_KEYS, alert_source_name_for
from events.models import AuditEvent


def alerts_source_names(alerts: Sequence[Alert]) -> None:
    """Set `source_name` on each alert: one query for the page, none per row."""
    wanted = {alert.event_id for alert in alerts if alert.source_id and alert.event_id is not None}
    subjects = {}
    if wanted:
        columns = [f"payload__{key}" for key in NAME_KEYS]
        subjects = {
            row["pk"]: {key: row[f"payload__{key}"] for key in NAME_KEYS}
            for row in AuditEvent.objects.filter(pk__in=wanted).values("pk", *columns)
        }
    for alert in alerts:
        payload = subjects.get(alert.event_id) if alert.event_id is not None else None
        alert.source_name = alert_source_name_for(payload, alert.source_type, alert.source_id)  # type: ignore[attr-defined]

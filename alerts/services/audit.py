"""Alert activity as events in the log, one causal step deeper than the alert's trigger (loop guard)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from alerts.models import reference_for
from events.services import AUDIT_SERVICE, actor_reference, audit_events_record, audit_payload

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from alerts.models import Alert
    from events.models import AuditEvent


def alert_resource(alert: Alert) -> dict[str, Any]:
    """The alert as the `resource` of its audit events, with its subject (vendor alert_* samples)."""
    return {
        "type": "alert",
        "id": str(alert.pk),
        "reference_id": reference_for(alert.pk),
        "source_type": alert.source_type,
        "source_id": alert.source_id,
    }


def alert_extra(alert: Alert) -> dict[str, Any]:
    """Top-level fields every alert_* audit event carries, so rules can filter on them (spec 3.5)."""
    return {
        "correlation": {"id": str(alert.rule_id) if alert.rule_id else "", "type": "alert_rule"},
        "severity": alert.get_priority_display(),
        "category": alert.get_category_display(),
    }


def alert_created_payload(alert: Alert, event: AuditEvent) -> dict[str, Any]:
    return audit_payload(
        event_type="alert_created",
        service=AUDIT_SERVICE,
        initiated_by=actor_reference(None),
        resource={
            **alert_resource(alert),
            "context": {
                "event_id": event.event_id,
                "event_type": event.event_type,
                "initiator": event.initiator,
                "client_ip": event.client_ip,
            },
        },
        extra={**alert_extra(alert), "message": alert.title},
    )


def alert_change_record(
    alert: Alert, actor: User | None, changes: list[dict[str, Any]], *, event_type: str = "alert_updated"
) -> None:
    """Record one change of the alert (`alert_updated`, `alert_status_updated`) with what changed."""
    audit_events_record(
        payloads=[
            (
                audit_payload(
                    event_type=event_type,
                    service=AUDIT_SERVICE,
                    initiated_by=actor_reference(actor),
                    resource=alert_resource(alert),
                    changes=changes,
                    extra=alert_extra(alert),
                ),
                alert.causal_depth + 1,
            )
        ]
    )

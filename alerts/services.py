"""Every write to alerts: raising them from rule matches, the status machine, notes, assignment.

- `matches_handle` turns new rule matches into alerts (or notifications without alerts),
  with grouping and thresholds made race-free by a transaction-level advisory lock per
  (rule, group key) on PostgreSQL and by SQLite's single writer otherwise.
- `alert_transition` is the only writer of `Alert.status`.
- Each change is recorded as an audit event one causal step deeper than the alert's
  triggering event, so rules watching alert events cannot feed themselves.
"""

from __future__ import annotations

import logging
import zlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.db import connection, transaction
from django.utils import timezone

from alerts.models import (
    Alert,
    AlertEvent,
    AlertNote,
    AlertTransition,
    reference_for,
)
from alerts.states import UNRESOLVED, AlertStatus, transition_allowed
from alerts.subjects import alert_category_for, alert_source_for
from channels.services import notification_enqueue
from events.models import AuditEvent
from events.services import AUDIT_SERVICE, actor_reference, audit_events_record, audit_payload

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from rules.models import Rule, RuleMatch

logger = logging.getLogger(__name__)

MAX_NOTE_LENGTH = 4000
STATUS_LABELS = {"open": "Open", "acknowledged": "Acknowledged", "resolved": "Resolved"}


class AlertError(Exception):
    """A move or change that the alert's state does not allow (the API answers 409)."""


class InvalidTransition(AlertError):
    pass


class AlertInputError(ValueError):
    """Bad input for an alert change (the API answers 400 naming the field)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


# -- from rule matches to alerts ------------------------------------------------------


@dataclass
class _Audit:
    payloads: list[tuple[dict[str, Any], int]]

    def add(self, payload: dict[str, Any], depth: int) -> None:
        self.payloads.append((payload, depth))

    def flush(self) -> None:
        if self.payloads:
            audit_events_record(payloads=self.payloads)
            self.payloads = []


def matches_handle(*, matches: Sequence[RuleMatch]) -> dict[int, int]:
    """Raise alerts (or notify without alerts) for new rule matches. Call inside the match's transaction.

    Returns the number of alerts opened per rule id.
    """
    if not matches:
        return {}
    rule_model = apps.get_model("rules", "Rule")
    rules = {rule.pk: rule for rule in rule_model.objects.filter(pk__in={m.rule_id for m in matches})}
    channel_ids = _channel_ids(rules.values())
    events = {
        event.pk: event
        for event in AuditEvent.objects.filter(pk__in={m.event_id for m in matches}).only(
            "pk", "event_id", "event_type", "timestamp", "initiator", "resource", "client_ip", "causal_depth", "payload"
        )
    }
    audit = _Audit([])
    opened: dict[int, int] = defaultdict(int)
    for match in sorted(matches, key=lambda m: (m.event_timestamp, m.pk)):
        rule, event = rules.get(match.rule_id), events.get(match.event_id)
        if rule is None or event is None:
            continue
        if not rule.generate_alerts:
            if rule.send_notifications:
                notification_enqueue(
                    kind="event.matched",
                    channel_ids=channel_ids[rule.pk],
                    payload={"rule": {"id": rule.pk, "name": rule.name}, "event": event.payload},
                    source=f"match:{match.pk}",
                    rule_id=rule.pk,
                    causal_depth=event.causal_depth,
                )
            continue
        alert = _alert_for_match(rule, match, event)
        if alert is None:
            continue
        opened[rule.pk] += 1
        audit.add(_created_payload(alert, event), alert.causal_depth + 1)
        if rule.send_notifications:
            notification_enqueue(
                kind="alert.created",
                channel_ids=channel_ids[rule.pk],
                payload=alert_notification_payload(alert, event),
                source=f"alert:{alert.pk}",
                alert_id=alert.pk,
                rule_id=rule.pk,
                causal_depth=alert.causal_depth,
            )
    audit.flush()
    return dict(opened)


def _channel_ids(rules: Any) -> dict[int, list[int]]:
    through = apps.get_model("rules", "Rule").channels.through
    ids: dict[int, list[int]] = defaultdict(list)
    for rule_id, channel_id in through.objects.filter(rule_id__in=[r.pk for r in rules]).values_list(
        "rule_id", "channel_id"
    ):
        ids[rule_id].append(channel_id)
    return ids


def _group_lock(rule_id: int, group_key: str) -> None:
    """Serialize grouping/threshold decisions for one (rule, group key) until the transaction ends."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            key = zlib.crc32(group_key.encode()) - (1 << 31)
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [rule_id, key])


def _collecting_alert(rule_id: int, group_key: str) -> Alert | None:
    return (
        Alert.objects.select_for_update()
        .filter(rule_id=rule_id, group_key=group_key, collecting=True, status__in=UNRESOLVED)
        .first()
    )


def _alert_for_match(rule: Rule, match: RuleMatch, event: AuditEvent) -> Alert | None:
    """Open an alert for the match, or join the collecting one of its group; None when it only joined."""
    threshold = rule.threshold
    window = rule.group_window_minutes
    if threshold is None and window == 0:
        return _alert_open(rule, event, [event], group_key=match.group_key, collecting=False)
    _group_lock(rule.pk, match.group_key)
    current = _collecting_alert(rule.pk, match.group_key)
    if threshold is not None:
        if current is not None:
            _alert_join(current, event)
            return None
        events = _threshold_events(rule, match, event)
        if len(events) < threshold["count"]:
            return None
        return _alert_open(rule, event, events, group_key=match.group_key, collecting=True)
    if current is not None:
        if event.timestamp - current.last_seen_at <= timedelta(minutes=window):
            _alert_join(current, event)
            return None
        current.collecting = False
        current.save(update_fields=["collecting"])
    return _alert_open(rule, event, [event], group_key=match.group_key, collecting=True)


def _threshold_events(rule: Rule, match: RuleMatch, event: AuditEvent) -> list[AuditEvent]:
    """The unlinked matches of this group key that make a window of W minutes around this event, or fewer.

    Events may arrive out of order, so every window of width W that contains the event is
    tried, not only the one ending at it; the fullest wins.
    """
    match_model = apps.get_model("rules", "RuleMatch")
    span = timedelta(minutes=rule.threshold["window_minutes"])
    linked = AlertEvent.objects.filter(alert__rule_id=rule.pk, alert__group_key=match.group_key).values("event_id")
    candidates = list(
        match_model.objects.filter(
            rule_id=rule.pk,
            group_key=match.group_key,
            event_timestamp__gte=event.timestamp - span,
            event_timestamp__lte=event.timestamp + span,
        )
        .exclude(event_id__in=linked)
        .values_list("event_timestamp", "event_id")
    )
    if event.pk not in {event_id for _, event_id in candidates}:
        candidates.append((event.timestamp, event.pk))
    candidates.sort()
    best: list[int] = []
    for start, _ in candidates:
        if start > event.timestamp:
            break
        if event.timestamp - start > span:
            continue
        window = [event_id for at, event_id in candidates if start <= at <= start + span]
        if len(window) > len(best):
            best = window
    return list(AuditEvent.objects.filter(pk__in=best).only("pk", "timestamp").order_by("timestamp", "pk"))


def _alert_open(
    rule: Rule, event: AuditEvent, events: Sequence[AuditEvent], *, group_key: str, collecting: bool
) -> Alert:
    now = timezone.now()
    source_type, source_id = alert_source_for(event.payload)
    alert = Alert.objects.create(
        rule=rule,
        rule_name=rule.name,
        priority=rule.priority,
        status=AlertStatus.OPEN,
        title=alert_title(rule.name, event),
        category=alert_category_for(event.payload),
        source_type=source_type,
        source_id=source_id,
        event=event,
        event_type=event.event_type,
        event_count=len(events),
        group_key=group_key,
        collecting=collecting,
        first_seen_at=min(e.timestamp for e in events),
        last_seen_at=max(e.timestamp for e in events),
        created_at=now,
        causal_depth=event.causal_depth,
    )
    AlertEvent.objects.bulk_create(
        [AlertEvent(alert=alert, event_id=e.pk, event_timestamp=e.timestamp) for e in events], ignore_conflicts=True
    )
    return alert


def _alert_join(alert: Alert, event: AuditEvent) -> None:
    _, created = AlertEvent.objects.get_or_create(
        alert=alert, event_id=event.pk, defaults={"event_timestamp": event.timestamp}
    )
    if not created:
        return
    alert.event_count += 1
    alert.first_seen_at = min(alert.first_seen_at, event.timestamp)
    alert.last_seen_at = max(alert.last_seen_at, event.timestamp)
    alert.save(update_fields=["event_count", "first_seen_at", "last_seen_at"])


def alert_title(rule_name: str, event: AuditEvent) -> str:
    """Who did what: "Failed admin logins: ana@example.com from 203.0.113.7"."""
    who = event.initiator or event.resource or event.event_type
    title = f"{rule_name}: {who}"
    if event.client_ip:
        title += f" from {event.client_ip}"
    return title[:300]


def _created_payload(alert: Alert, event: AuditEvent) -> dict[str, Any]:
    return audit_payload(
        event_type="alert_created",
        service=AUDIT_SERVICE,
        initiated_by=actor_reference(None),
        resource={
            **_alert_resource(alert),
            "context": {
                "event_id": event.event_id,
                "event_type": event.event_type,
                "initiator": event.initiator,
                "client_ip": event.client_ip,
            },
        },
        extra={**_alert_extra(alert), "message": alert.title},
    )


def alert_notification_payload(
    alert: Alert, event: AuditEvent | None, transition: AlertTransition | None = None
) -> dict[str, Any]:
    """The alert part of an outgoing notification (channels adds envelope, URL and signature).

    A status notification carries `alert.transition`: from, to, by (null for the system),
    at and the remark given with the move.
    """
    body: dict[str, Any] = {
        "id": alert.pk,
        "reference": alert.reference,
        "status": alert.status,
        "priority": alert.priority,
        "title": alert.title,
        "event_count": alert.event_count,
        "rule": {"id": alert.rule_id, "name": alert.rule_name},
    }
    if transition is not None:
        body["transition"] = transition_payload(transition)
    return {"alert": body, "event": event.payload if event is not None else None}


def transition_payload(transition: AlertTransition) -> dict[str, Any]:
    """`{"from", "to", "by": {"id", "username", "email"} | None, "at", "note"}` of one status change."""
    actor = transition.actor
    return {
        "from": transition.from_status,
        "to": transition.to_status,
        "by": (
            {"id": actor.pk, "username": actor.get_username(), "email": actor.email or ""}
            if actor is not None
            else None
        ),
        "at": transition.at.isoformat().replace("+00:00", "Z"),
        "note": transition.note,
    }


# -- the state machine ----------------------------------------------------------------


def alert_transition(*, alert: Alert | int, to: str, actor: AbstractBaseUser | None, note: str = "") -> Alert:
    """Move an alert to `to`, recording who, when and the remark. Raises InvalidTransition (409)."""
    note = _note_checked(note, required=False)
    pk = alert if isinstance(alert, int) else alert.pk
    with transaction.atomic():
        alert = Alert.objects.select_for_update().get(pk=pk)
        previous = alert.status
        if not transition_allowed(previous, to):
            raise InvalidTransition(
                f"{alert.reference} is {previous}; it cannot be {_verb(to)}."
                if previous != to
                else f"{alert.reference} is already {previous}."
            )
        now = timezone.now()
        user = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
        fields = ["status"]
        if to == AlertStatus.ACKNOWLEDGED:
            alert.acknowledged_at, alert.acknowledged_by = now, user
            alert.seconds_to_acknowledge = _seconds(alert.created_at, now)
            fields += ["acknowledged_at", "acknowledged_by", "seconds_to_acknowledge"]
        elif to == AlertStatus.RESOLVED:
            alert.resolved_at, alert.resolved_by, alert.collecting = now, user, False
            alert.seconds_to_resolve = _seconds(alert.created_at, now)
            fields += ["resolved_at", "resolved_by", "seconds_to_resolve", "collecting"]
        elif to == AlertStatus.OPEN:
            rule = alert.rule
            groups = rule is not None and (rule.threshold is not None or rule.group_window_minutes > 0)
            if alert.group_key and groups:
                _group_lock(alert.rule_id, alert.group_key)
                blocker = _collecting_alert(alert.rule_id, alert.group_key)
                if blocker is not None:
                    raise InvalidTransition(
                        f"{alert.reference} cannot be reopened: {blocker.reference}, still unresolved, holds the "
                        "same group; add your remark there."
                    )
                alert.collecting = True
            alert.resolved_at, alert.resolved_by = None, None
            alert.acknowledged_at, alert.acknowledged_by = None, None
            alert.seconds_to_acknowledge = alert.seconds_to_resolve = None
            fields += [
                "collecting",
                "resolved_at",
                "resolved_by",
                "acknowledged_at",
                "acknowledged_by",
                "seconds_to_acknowledge",
                "seconds_to_resolve",
            ]
        alert.status = to
        alert.save(update_fields=fields)
        record = AlertTransition.objects.create(
            alert=alert, from_status=previous, to_status=to, actor=user, note=note, at=now
        )
        changes = [{"field": "Status", "from": STATUS_LABELS[previous], "to": STATUS_LABELS[to]}]
        if note:
            changes.append({"field": "Remark", "from": "", "to": note})
        audit_events_record(
            payloads=[
                (
                    audit_payload(
                        event_type="alert_status_updated",
                        service=AUDIT_SERVICE,
                        initiated_by=actor_reference(user),
                        resource=_alert_resource(alert),
                        changes=changes,
                        extra=_alert_extra(alert),
                    ),
                    alert.causal_depth + 1,
                )
            ]
        )
        _notify_transition(alert, record)
    return alert


def _notify_transition(alert: Alert, record: AlertTransition) -> None:
    rule = alert.rule
    if rule is None or not (rule.generate_alerts and rule.send_notifications):
        return
    kind = {AlertStatus.ACKNOWLEDGED: "alert.acknowledged", AlertStatus.RESOLVED: "alert.resolved"}.get(
        record.to_status
    )
    wanted = {
        "alert.acknowledged": rule.notify_on_acknowledge,
        "alert.resolved": rule.notify_on_resolve,
    }.get(kind or "", False)
    if kind and wanted:
        notification_enqueue(
            kind=kind,
            channel_ids=list(rule.channels.values_list("pk", flat=True)),
            payload=alert_notification_payload(alert, alert.event, record),
            source=f"alert:{alert.pk}:{alert.transitions.count()}",
            alert_id=alert.pk,
            rule_id=rule.pk,
            causal_depth=alert.causal_depth,
        )


def alert_acknowledge(*, alert: Alert | int, actor: AbstractBaseUser | None, note: str = "") -> Alert:
    """Move an open alert to ACKNOWLEDGED and record who did it."""
    return alert_transition(alert=alert, to=AlertStatus.ACKNOWLEDGED, actor=actor, note=note)


def alert_resolve(*, alert: Alert | int, actor: AbstractBaseUser | None, note: str = "") -> Alert:
    return alert_transition(alert=alert, to=AlertStatus.RESOLVED, actor=actor, note=note)


def alert_reopen(*, alert: Alert | int, actor: AbstractBaseUser | None, note: str = "") -> Alert:
    return alert_transition(alert=alert, to=AlertStatus.OPEN, actor=actor, note=note)


@dataclass(frozen=True)
class BulkResult:
    updated: list[int]
    skipped: list[dict[str, Any]]


def alerts_bulk_transition(
    *, ids: Sequence[Any], to: str, actor: AbstractBaseUser | None, note: str = ""
) -> BulkResult:
    """Apply one move to many alerts; each id gets its own outcome (and its own transaction)."""
    note = _note_checked(note, required=False)
    updated: list[int] = []
    skipped: list[dict[str, Any]] = []
    seen: set[int] = set()
    for raw in ids:
        if not isinstance(raw, int) or isinstance(raw, bool):
            skipped.append({"id": raw, "reason": "Not an alert id."})
            continue
        if raw in seen:
            skipped.append({"id": raw, "reason": "Listed twice."})
            continue
        seen.add(raw)
        try:
            alert_transition(alert=raw, to=to, actor=actor, note=note)
        except Alert.DoesNotExist:
            skipped.append({"id": raw, "reason": "No such alert."})
        except InvalidTransition as exc:
            skipped.append({"id": raw, "reason": str(exc)})
        else:
            updated.append(raw)
    return BulkResult(updated=updated, skipped=skipped)


# -- notes and assignment -------------------------------------------------------------


def alert_note_add(*, alert: Alert, author: AbstractBaseUser | None, text: str) -> AlertNote:
    text = _note_checked(text, required=True)
    with transaction.atomic():
        note = AlertNote.objects.create(alert=alert, author=author, text=text, created_at=timezone.now())
        _record_update(alert, author, [{"field": "Note", "from": "", "to": text}])
    return note


def alert_assign(*, alert: Alert, assignee: AbstractBaseUser | None, actor: AbstractBaseUser | None) -> Alert:
    """Assign to a user holding the admin or responder role (or None to unassign)."""
    from alertsite.accounts.roles import Role, user_role

    if assignee is not None and (not assignee.is_active or user_role(assignee) not in (Role.ADMIN, Role.RESPONDER)):
        raise AlertInputError("user", "Alerts can be assigned only to active users with the admin or responder role.")
    with transaction.atomic():
        alert = Alert.objects.select_for_update().get(pk=alert.pk)
        before = alert.assignee.get_username() if alert.assignee else ""
        after = assignee.get_username() if assignee else ""
        if before == after:
            return alert
        alert.assignee = assignee
        alert.save(update_fields=["assignee"])
        _record_update(alert, actor, [{"field": "Assignee", "from": before, "to": after}])
    return alert


def _record_update(alert: Alert, actor: AbstractBaseUser | None, changes: list[dict[str, Any]]) -> None:
    audit_events_record(
        payloads=[
            (
                audit_payload(
                    event_type="alert_updated",
                    service=AUDIT_SERVICE,
                    initiated_by=actor_reference(actor),
                    resource=_alert_resource(alert),
                    changes=changes,
                    extra=_alert_extra(alert),
                ),
                alert.causal_depth + 1,
            )
        ]
    )


def _alert_resource(alert: Alert) -> dict[str, Any]:
    """The alert as the `resource` of its audit events, with its subject (vendor alert_* samples)."""
    return {
        "type": "alert",
        "id": str(alert.pk),
        "reference_id": reference_for(alert.pk),
        "source_type": alert.source_type,
        "source_id": alert.source_id,
    }


def _alert_extra(alert: Alert) -> dict[str, Any]:
    """Top-level fields every alert_* audit event carries, so rules can filter on them (spec 3.5)."""
    return {
        "correlation": {"id": str(alert.rule_id) if alert.rule_id else "", "type": "alert_rule"},
        "severity": alert.get_priority_display(),
        "category": alert.get_category_display(),
    }


def _note_checked(text: Any, *, required: bool) -> str:
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise AlertInputError("note", "Must be text.")
    text = text.strip()
    if required and not text:
        raise AlertInputError("text", "A note needs some text.")
    if len(text) > MAX_NOTE_LENGTH:
        raise AlertInputError("note" if not required else "text", f"At most {MAX_NOTE_LENGTH} characters.")
    return text


def _seconds(start: datetime, end: datetime) -> int:
    return max(0, int((end - start).total_seconds()))


def _verb(status: str) -> str:
    return {"open": "reopened", "acknowledged": "acknowledged", "resolved": "resolved"}[status]

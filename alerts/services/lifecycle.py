"""The alert state machine's only writer: acknowledge, resolve, reopen, one by one or in bulk.

`alert_transition` locks the alert, checks `alerts.states.TRANSITIONS`, records the move
(`AlertTransition`, an `alert_status_updated` event) and queues the notifications the rule
asked for, all in one transaction. What to notify comes from the alert itself (stored from
its rule's policy), never from the rule.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from alerts.models import Alert, AlertTransition, HistoryKind
from alerts.services.audit import alert_change_record
from alerts.services.errors import InvalidTransition, note_checked
from alerts.services.maintenance import window_open_now
from alerts.services.notify import alert_notification
from alerts.services.raising import collecting_alert, group_lock
from alerts.states import STATUS_LABELS, STATUS_NOTIFICATIONS, AlertStatus, transition_allowed, transition_verb
from channels.services import NotificationOrder, notifications_enqueue

if TYPE_CHECKING:
    from django.contrib.auth.models import User


@dataclass(frozen=True)
class TransitionOrigin:
    """A move made outside alertsite (PagerDuty's back-sync): by whom there, through which channel.

    The history reads "<name> in <system>"; the channel it came through is not told of the move
    (it already knows: telling it would only echo back), every other channel is as usual.
    """

    system: str
    actor_name: str
    channel_id: int | None = None

    @property
    def label(self) -> str:
        name = self.actor_name.strip()
        return f"{name} in {self.system}"[:200] if name else self.system


def alert_transition(
    *, alert: Alert | int, to: str, actor: User | None, note: str = "", origin: TransitionOrigin | None = None
) -> Alert:
    """Move an alert to `to`, recording who, when and the remark. Raises InvalidTransition (409)."""
    note = note_checked(note, required=False)
    pk = alert if isinstance(alert, int) else alert.pk
    with transaction.atomic():
        alert = Alert.objects.select_for_update().get(pk=pk)
        previous = alert.status
        if not transition_allowed(previous, to):
            raise InvalidTransition(
                f"{alert.reference} is {previous}; it cannot be {transition_verb(to)}."
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
            # Resolving ends a snooze: there is nothing left to come back to.
            alert.snoozed_until, alert.snoozed_by, alert.snooze_note = None, None, ""
            fields += ["resolved_at", "resolved_by", "seconds_to_resolve", "collecting"]
            fields += ["snoozed_until", "snoozed_by", "snooze_note"]
        elif to == AlertStatus.OPEN:
            if alert.group_key and alert.rule_id is not None and alert.grouped:
                group_lock(alert.rule_id, alert.group_key)
                blocker = collecting_alert(alert.rule_id, alert.group_key)
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
            alert=alert,
            from_status=previous,
            to_status=to,
            actor=user,
            external_actor=origin.label if origin is not None else "",
            note=note,
            at=now,
        )
        changes = [{"field": "Status", "from": STATUS_LABELS[previous], "to": STATUS_LABELS[to]}]
        if note:
            changes.append({"field": "Remark", "from": "", "to": note})
        if origin is not None:
            changes.append({"field": "By", "from": "", "to": origin.label})
        alert_change_record(alert, user, changes, event_type="alert_status_updated")
        _notify_transition(alert, record, origin)
    return alert


def _notify_transition(alert: Alert, record: AlertTransition, origin: TransitionOrigin | None) -> None:
    """The acknowledgement/resolution notification: to every channel of the rule when it asked for
    it, else only to the channels that follow the alert's status (PagerDuty's incident, opened by
    the alert's trigger). Never to the channel the move came from."""
    kind = STATUS_NOTIFICATIONS.get(record.to_status)
    if kind is None or alert.rule_id is None or not alert.notify_channel_ids:
        return
    wanted = alert.notify_on_acknowledge if record.to_status == AlertStatus.ACKNOWLEDGED else alert.notify_on_resolve
    if alert.suppressed_by_id is not None and window_open_now(alert.suppressed_by_id):
        return  # raised silently inside a maintenance window that is still open: nothing is sent for it
    # A follow-up only for PagerDuty (acknowledge/resolve carry just the dedup key) needs no event.
    event = alert.event.payload if wanted and alert.event_id is not None and alert.event is not None else None
    notifications_enqueue(
        [
            NotificationOrder(
                notification=alert_notification(kind, alert, event, record),
                channel_ids=alert.notify_channel_ids,
                source=f"alert:{alert.pk}:{alert.transitions.filter(kind=HistoryKind.STATUS).count()}",
                causal_depth=alert.causal_depth,
                followers_only=not wanted,
                trigger_source=f"alert:{alert.pk}",
                except_channel_ids=[origin.channel_id] if origin is not None and origin.channel_id else [],
            )
        ]
    )


def alert_acknowledge(*, alert: Alert | int, actor: User | None, note: str = "") -> Alert:
    """Move an open alert to ACKNOWLEDGED and record who did it."""
    return alert_transition(alert=alert, to=AlertStatus.ACKNOWLEDGED, actor=actor, note=note)


def alert_resolve(*, alert: Alert | int, actor: User | None, note: str = "") -> Alert:
    return alert_transition(alert=alert, to=AlertStatus.RESOLVED, actor=actor, note=note)


def alert_reopen(*, alert: Alert | int, actor: User | None, note: str = "") -> Alert:
    return alert_transition(alert=alert, to=AlertStatus.OPEN, actor=actor, note=note)


@dataclass(frozen=True)
class BulkResult:
    updated: list[int]
    skipped: list[dict[str, Any]]


def alerts_bulk_transition(*, ids: Sequence[Any], to: str, actor: User | None, note: str = "") -> BulkResult:
    """Apply one move to many alerts; each id gets its own outcome (and its own transaction)."""
    note = note_checked(note, required=False)
    return alerts_each(ids, lambda pk: alert_transition(alert=pk, to=to, actor=actor, note=note))


def alerts_each(ids: Sequence[Any], change: Callable[[int], Alert]) -> BulkResult:
    """Run one change per listed alert id, each on its own: what failed is skipped with why."""
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
            change(raw)
        except Alert.DoesNotExist:
            skipped.append({"id": raw, "reason": "No such alert."})
        except InvalidTransition as exc:
            skipped.append({"id": raw, "reason": str(exc)})
        else:
            updated.append(raw)
    return BulkResult(updated=updated, skipped=skipped)


def _seconds(start: datetime, end: datetime) -> int:
    return max(0, int((end - start).total_seconds()))

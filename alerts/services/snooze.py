"""Snoozing an alert: it keeps its status but leaves the bell and the Open Alerts widget until then.

A snooze is not a status (the state machine stays as it is): `snoozed_until` on the alert,
read by the summary and the bell. Starting, ending and the end by time
(`alert_snoozes_expire`, a periodic job) are each an `alert_updated` event. Resolving an
alert ends its snooze (alerts.services.lifecycle), so only unresolved alerts come back.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from alerts.models import Alert
from alerts.services.audit import alert_change_record
from alerts.services.errors import InvalidTransition
from alerts.services.lifecycle import BulkResult, alerts_each
from alerts.states import AlertStatus
from alertsite.snooze import SnoozeRequest, snooze_request_parse

if TYPE_CHECKING:
    from django.contrib.auth.models import User

SNOOZE_FIELDS = ["snoozed_until", "snoozed_by", "snooze_note"]
EXPIRE_BATCH = 500


def _iso(moment: datetime | None) -> str:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else ""


def _user(actor: User | None) -> User | None:
    return actor if actor is not None and getattr(actor, "is_authenticated", False) else None


def alert_snooze(*, alert: Alert | int, body: Any, actor: User | None) -> Alert:
    """Snooze until `minutes` from now or `until` (SnoozeInputError: 400); a resolved alert: InvalidTransition (409)."""
    request = snooze_request_parse(body, now=timezone.now())
    return _snooze(alert.pk if isinstance(alert, Alert) else alert, request, actor)


def _snooze(pk: int, request: SnoozeRequest, actor: User | None) -> Alert:
    with transaction.atomic():
        alert = Alert.objects.select_for_update().get(pk=pk)
        if alert.status == AlertStatus.RESOLVED:
            raise InvalidTransition(f"{alert.reference} is resolved; it cannot be snoozed.")
        before = alert.snoozed_until if alert.snoozed_until and alert.snoozed_until > timezone.now() else None
        alert.snoozed_until, alert.snoozed_by, alert.snooze_note = request.until, _user(actor), request.note
        alert.save(update_fields=SNOOZE_FIELDS)
        changes = [{"field": "Snoozed until", "from": _iso(before), "to": _iso(request.until)}]
        if request.note:
            changes.append({"field": "Remark", "from": "", "to": request.note})
        alert_change_record(alert, _user(actor), changes)
    return alert


def alert_unsnooze(*, alert: Alert | int, actor: User | None) -> Alert:
    """End the snooze now. An alert that is not snoozed stays as it is (ending twice is no error)."""
    pk = alert.pk if isinstance(alert, Alert) else alert
    with transaction.atomic():
        alert = Alert.objects.select_for_update().get(pk=pk)
        if alert.snoozed_until is None:
            return alert
        _snooze_end(alert, actor=_user(actor))
    return alert


def _snooze_end(alert: Alert, *, actor: User | None) -> None:
    """Clear the snooze, record it; an unresolved alert is back on the bell (and, later, reminded)."""
    before = alert.snoozed_until
    alert.snoozed_until, alert.snoozed_by, alert.snooze_note = None, None, ""
    alert.save(update_fields=SNOOZE_FIELDS)
    alert_change_record(alert, actor, [{"field": "Snoozed until", "from": _iso(before), "to": ""}])
    if alert.status != AlertStatus.RESOLVED:
        alert_snooze_ended_remind(alert)


def alert_snooze_ended_remind(alert: Alert) -> None:
    """Hook: api.md 10 sends `alert.reminder` when a snooze ends unresolved and the rule has reminders.

    Nothing to do here: the reminders job (alerts.services.reminders) skips snoozed alerts, so a
    reminder that fell due during the snooze goes at its first run after the snooze ends.
    """


def alerts_bulk_snooze(*, ids: Sequence[Any], body: Any, actor: User | None) -> BulkResult:
    """Snooze many alerts for the same time; the body is checked once (400), each id has its own outcome."""
    request = snooze_request_parse(body, now=timezone.now())
    return alerts_each(ids, lambda pk: _snooze(pk, request, actor))


def alerts_bulk_unsnooze(*, ids: Sequence[Any], actor: User | None) -> BulkResult:
    """End the snooze of many alerts; each id has its own outcome."""
    return alerts_each(ids, lambda pk: alert_unsnooze(alert=pk, actor=actor))


def alert_snoozes_expire(*, now: datetime | None = None) -> int:
    """End every snooze whose time has come (the periodic job); returns how many ended.

    Rows another process holds are skipped (it is ending them, or acting on the alert) and
    caught on the next run.
    """
    now = now or timezone.now()
    ended = 0
    while True:
        with transaction.atomic():
            due = list(
                Alert.objects.select_for_update(skip_locked=True)
                .filter(snoozed_until__lte=now)
                .order_by("snoozed_until", "pk")[:EXPIRE_BATCH]
            )
            for alert in due:
                _snooze_end(alert, actor=None)
        ended += len(due)
        if len(due) < EXPIRE_BATCH:
            return ended

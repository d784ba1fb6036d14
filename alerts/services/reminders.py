"""Reminders and escalation (api.md section 10): re-notify while an alert stays open.

Each alert carries its rule's reminder and escalation policy and the times its next reminder
and its escalation fall due (`next_reminder_at`, `escalate_at`), so `reminders_run` (the beat
job) finds what is due with one indexed query per batch, locks those rows (`SKIP LOCKED`: a
second beat or worker takes other rows or none), writes every notification through one outbox
call and moves the clocks with one UPDATE. The n-th reminder's outbox source is
`reminder:<alert id>:<n>` and the escalation's `escalation:<alert id>`, unique with channel and
kind: even two runs that read the same alert write each notification once.

Each reminder and escalation sent is also an entry of the alert's history (`AlertTransition` of
kind `reminder` / `escalation`: "Reminder 2 of 3 sent to SOC, On-call"), written with one INSERT
per batch next to the clocks' UPDATE; the channel names and the entries already written (a second
run that read the same alert) take one query each per batch.

Only `open` alerts are due: acknowledging or resolving stops both at once. Snoozed alerts and
alerts a maintenance window open now covers wait (one query per run finds the open windows).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from alerts.models import Alert, AlertTransition, HistoryKind
from alerts.policy import AlertPolicy
from alerts.services.maintenance import maintenance_quiet_now
from alerts.services.notify import alert_notification
from alerts.states import UNRESOLVED, AlertStatus
from channels.selectors import channel_names
from channels.services import NotificationOrder, notifications_enqueue

BATCH = 500
REMINDER_KIND = "alert.reminder"
ESCALATION_KIND = "alert.escalated"


@dataclass
class ReminderRun:
    reminders: int = 0
    escalations: int = 0


def reminder_fields(policy: AlertPolicy, created_at: datetime) -> dict[str, object]:
    """What a new alert stores of its rule's reminder and escalation policy, clocks included."""
    every, escalation = policy.reminds, policy.escalation
    return {
        "remind_every_minutes": every,
        "remind_max": policy.remind_max if every else 0,
        "next_reminder_at": created_at + timedelta(minutes=every) if every else None,
        "escalation_after_minutes": escalation.after_minutes if escalation else None,
        "escalation_channel_ids": list(escalation.channel_ids) if escalation else [],
        "escalate_at": created_at + timedelta(minutes=escalation.after_minutes) if escalation else None,
    }


def alerts_reminders_update(*, policy: AlertPolicy, now: datetime | None = None) -> None:
    """The rule's reminder or escalation settings changed: its unresolved alerts follow the new ones.

    Clocks restart from the alert's raising while nothing was sent yet, else from now; an alert
    already escalated is not escalated again. A handful of UPDATEs, whatever the number of alerts.
    """
    now = now or timezone.now()
    every, escalation = policy.reminds, policy.escalation
    remind_max = policy.remind_max if every else 0
    alerts = Alert.objects.filter(rule_id=policy.rule_id, status__in=UNRESOLVED)
    changed = alerts.exclude(remind_every_minutes=every) if every else alerts.filter(remind_every_minutes__isnull=False)
    changed = changed | alerts.exclude(remind_max=remind_max)
    if every is None:
        changed.update(remind_every_minutes=None, remind_max=0, next_reminder_at=None)
    else:
        step = timedelta(minutes=every)
        fields = {"remind_every_minutes": every, "remind_max": remind_max}
        changed.filter(reminders_sent__gte=remind_max).update(**fields, next_reminder_at=None)
        changed.filter(reminders_sent=0).update(**fields, next_reminder_at=F("created_at") + step)
        changed.filter(reminders_sent__gt=0, reminders_sent__lt=remind_max).update(
            **fields, next_reminder_at=now + step
        )
    pending = alerts.filter(escalated_at__isnull=True)
    if escalation is None:
        pending.update(escalation_after_minutes=None, escalation_channel_ids=[], escalate_at=None)
    else:
        pending.update(
            escalation_after_minutes=escalation.after_minutes,
            escalation_channel_ids=list(escalation.channel_ids),
            escalate_at=F("created_at") + timedelta(minutes=escalation.after_minutes),
        )


def not_snoozed(now: datetime) -> Q:
    """Alerts whose reminders may go now: not snoozed, or their snooze is over (a reminder that
    fell due meanwhile goes at the first run after it, as api.md 10 asks)."""
    return Q(snoozed_until__isnull=True) | Q(snoozed_until__lte=now)


def reminders_due(now: datetime, quiet: Q | None = None) -> Q:
    """Open (so unacknowledged and unresolved), not snoozed, not covered by a maintenance window
    open now (`quiet`, from maintenance_quiet_now; what fell due inside goes at the first run
    after the window), with a reminder or escalation due."""
    due = (
        Q(status=AlertStatus.OPEN)
        & (Q(next_reminder_at__lte=now, reminders_sent__lt=F("remind_max")) | Q(escalate_at__lte=now))
        & not_snoozed(now)
    )
    return due & ~quiet if quiet is not None else due


def reminders_run(*, now: datetime | None = None) -> ReminderRun:
    """Send every reminder and escalation due by `now`, batch by batch (the beat job)."""
    now = now or timezone.now()
    run = ReminderRun()
    quiet = maintenance_quiet_now(now)
    while True:
        with transaction.atomic():
            due = list(
                Alert.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("event")
                .filter(reminders_due(now, quiet))
                .order_by("pk")[:BATCH]
            )
            if not due:
                return run
            sent = [(alert, order) for alert in due for order in _orders_for(alert, now, run)]
            Alert.objects.bulk_update(
                due, ["reminders_sent", "next_reminder_at", "escalate_at", "escalated_at"], batch_size=BATCH
            )
            if sent:
                notifications_enqueue([order for _, order in sent])
                AlertTransition.objects.bulk_create(_history_entries(sent, now), batch_size=BATCH)
        if len(due) < BATCH:
            return run


def _orders_for(alert: Alert, now: datetime, run: ReminderRun) -> list[NotificationOrder]:
    """The reminder and/or escalation due for this alert, its clocks moved on (saved by the caller)."""
    orders: list[NotificationOrder] = []
    event = alert.event.payload if alert.event is not None else None
    due_reminder = alert.next_reminder_at
    if due_reminder is not None and due_reminder <= now and alert.reminders_sent < alert.remind_max:
        number = alert.reminders_sent + 1
        orders.append(
            NotificationOrder(
                notification=alert_notification(REMINDER_KIND, alert, event, reminder=(number, alert.remind_max)),
                channel_ids=alert.notify_channel_ids,
                source=f"reminder:{alert.pk}:{number}",
                causal_depth=alert.causal_depth,
            )
        )
        alert.reminders_sent = number
        step = timedelta(minutes=alert.remind_every_minutes or 0)
        # After an outage the next one is a full interval away: no burst of overdue reminders.
        following = max(due_reminder + step, now + step) if due_reminder + step <= now else due_reminder + step
        alert.next_reminder_at = following if number < alert.remind_max and step else None
        run.reminders += 1
    if alert.escalate_at is not None and alert.escalate_at <= now:
        orders.append(
            NotificationOrder(
                notification=alert_notification(ESCALATION_KIND, alert, event),
                channel_ids=alert.escalation_channel_ids,
                source=f"escalation:{alert.pk}",
                causal_depth=alert.causal_depth,
            )
        )
        alert.escalate_at, alert.escalated_at = None, now
        run.escalations += 1
    return orders


def _history_entries(sent: list[tuple[Alert, NotificationOrder]], now: datetime) -> list[AlertTransition]:
    """A history entry for each reminder and escalation just handed to the outbox: the channel names
    in one query, and one more to leave out entries already written (a run that read the alert
    before another moved its clocks, whose notifications the outbox key also wrote once)."""
    names = channel_names({pk for _, order in sent for pk in order.channel_ids}, enabled_only=True)
    entries = []
    for alert, order in sent:
        targets = ", ".join(
            names[pk] for pk in sorted(order.channel_ids, key=lambda pk: (names.get(pk, ""), pk)) if pk in names
        )
        to = f"sent to {targets}" if targets else "not sent: none of its channels is enabled"
        notification = order.notification
        if notification.kind == REMINDER_KIND and notification.reminder is not None:
            kind = HistoryKind.REMINDER
            note = f"Reminder {notification.reminder.number} of {notification.reminder.of} {to}"
        else:
            kind = HistoryKind.ESCALATION
            minutes = alert.escalation_after_minutes or 0
            after = f"after {minutes} minute{'s' if minutes != 1 else ''} unacknowledged"
            note = (
                f"Escalated to {targets} {after}"
                if targets
                else f"Not escalated {after}: none of its channels is enabled"
            )
        entries.append(
            AlertTransition(alert=alert, kind=kind, from_status=alert.status, to_status=alert.status, note=note, at=now)
        )
    written = set(
        AlertTransition.objects.filter(
            alert_id__in={entry.alert_id for entry in entries},
            kind__in=[HistoryKind.REMINDER, HistoryKind.ESCALATION],
            note__in={entry.note for entry in entries},
        ).values_list("alert_id", "kind", "note")
    )
    return [entry for entry in entries if (entry.alert_id, entry.kind, entry.note) not in written]

"""Every write to alerts, by job: raising from matches (`raising`), the status machine
(`lifecycle`), notes and assignment (`notes`), snoozes (`snooze`); the notification handed to channels
(`notify`) and the audit events (`audit`) they share.

Callers import from `alerts.services`; the modules behind it each do one job.
"""

from __future__ import annotations

from alerts.services.errors import MAX_NOTE_LENGTH, AlertError, AlertInputError, InvalidTransition
from alerts.services.lifecycle import (
    BulkResult,
    TransitionOrigin,
    alert_acknowledge,
    alert_reopen,
    alert_resolve,
    alert_transition,
    alerts_bulk_transition,
)
from alerts.services.notes import alert_assign, alert_note_add
from alerts.services.notify import alert_notification, alert_url, match_notification, transition_info
from alerts.services.raising import alert_title, alerts_policy_update, matches_handle
from alerts.services.reminders import ReminderRun, reminders_run
from alerts.services.snooze import (
    alert_snooze,
    alert_snooze_ended_remind,
    alert_snoozes_expire,
    alert_unsnooze,
    alerts_bulk_snooze,
    alerts_bulk_unsnooze,
)

__all__ = [
    "MAX_NOTE_LENGTH",
    "AlertError",
    "AlertInputError",
    "BulkResult",
    "InvalidTransition",
    "ReminderRun",
    "TransitionOrigin",
    "alert_acknowledge",
    "alert_assign",
    "alert_note_add",
    "alert_notification",
    "alert_reopen",
    "alert_resolve",
    "alert_snooze",
    "alert_snooze_ended_remind",
    "alert_snoozes_expire",
    "alert_title",
    "alert_transition",
    "alert_unsnooze",
    "alert_url",
    "alerts_bulk_snooze",
    "alerts_bulk_transition",
    "alerts_bulk_unsnooze",
    "alerts_policy_update",
    "match_notification",
    "matches_handle",
    "reminders_run",
    "transition_info",
]

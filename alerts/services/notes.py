"""Notes on alerts and who holds them: each change recorded as an `alert_updated` event."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from alerts.models import Alert, AlertNote
from alerts.services.audit import alert_change_record
from alerts.services.errors import AlertInputError, note_checked
from alertsite.accounts.roles import Role, user_role

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def alert_note_add(*, alert: Alert, author: User | None, text: str) -> AlertNote:
    text = note_checked(text, required=True)
    with transaction.atomic():
        note = AlertNote.objects.create(alert=alert, author=author, text=text, created_at=timezone.now())
        alert_change_record(alert, author, [{"field": "Note", "from": "", "to": text}])
    return note


def alert_assign(*, alert: Alert, assignee: User | None, actor: User | None) -> Alert:
    """Assign to a user holding the admin or responder role (or None to unassign)."""
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
        alert_change_record(alert, actor, [{"field": "Assignee", "from": before, "to": after}])
    return alert

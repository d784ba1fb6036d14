"""Snoozing a rule: it still records matches and raises alerts, but sends nothing until then.

The snooze is three fields on the rule. Evaluation reads them with the batch's policies
(rules.alerting.alert_policies: `AlertPolicy.snoozed`), so muting costs no query per match,
and a snooze whose time has passed mutes nothing even before the periodic job
(`rule_snoozes_expire`) clears it. Each write bumps the rules version stamp, under which
evaluation keeps the policies it read. Starting, ending and the end by time are each an
`alert_rule_update` event with the fields that changed.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from alertsite.snooze import snooze_request_parse
from events.services import AUDIT_SERVICE, actor_reference, audit_event_record, audit_events_record, audit_payload
from rules.models import Rule
from rules.services import rules_version_bump

if TYPE_CHECKING:
    from django.contrib.auth.models import User

SNOOZE_FIELDS = ["snoozed_until", "snoozed_by", "snooze_note"]
EXPIRE_BATCH = 500


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None


def _user(actor: User | None) -> User | None:
    return actor if actor is not None and getattr(actor, "is_authenticated", False) else None


def _resource(rule: Rule) -> dict[str, Any]:
    return {"type": "alert_rule", "id": str(rule.pk), "name": rule.name}


def _changes(before: tuple[datetime | None, str], after: tuple[datetime | None, str]) -> list[dict[str, Any]]:
    changes: list[dict[str, Any]] = [{"field": "snoozed_until", "from": _iso(before[0]), "to": _iso(after[0])}]
    if before[1] != after[1]:
        changes.append({"field": "snooze_note", "from": before[1], "to": after[1]})
    return changes


def rule_snooze(*, rule: Rule | int, body: Any, actor: User | None) -> Rule:
    """Snooze for `minutes` from now or until `until` (alertsite.snooze.SnoozeInputError: 400)."""
    now = timezone.now()
    request = snooze_request_parse(body, now=now)
    with transaction.atomic():
        rule = Rule.objects.select_for_update().get(pk=rule.pk if isinstance(rule, Rule) else rule)
        before = (rule.snoozed_until if rule.snoozed_until and rule.snoozed_until > now else None, rule.snooze_note)
        rule.snoozed_until, rule.snoozed_by, rule.snooze_note = request.until, _user(actor), request.note
        rule.save(update_fields=SNOOZE_FIELDS)
        rules_version_bump()
        audit_event_record(
            event_type="alert_rule_update",
            service=AUDIT_SERVICE,
            initiated_by=actor_reference(actor),
            resource=_resource(rule),
            changes=_changes(before, (request.until, request.note)),
        )
    return rule


def rule_unsnooze(*, rule: Rule | int, actor: User | None) -> Rule:
    """End the snooze now; a rule that is not snoozed stays as it is (ending twice is no error)."""
    with transaction.atomic():
        rule = Rule.objects.select_for_update().get(pk=rule.pk if isinstance(rule, Rule) else rule)
        if rule.snoozed_until is None:
            return rule
        changes = _snooze_clear(rule)
        audit_event_record(
            event_type="alert_rule_update",
            service=AUDIT_SERVICE,
            initiated_by=actor_reference(actor),
            resource=_resource(rule),
            changes=changes,
        )
    return rule


def _snooze_clear(rule: Rule) -> list[dict[str, Any]]:
    before = (rule.snoozed_until, rule.snooze_note)
    rule.snoozed_until, rule.snoozed_by, rule.snooze_note = None, None, ""
    rule.save(update_fields=SNOOZE_FIELDS)
    rules_version_bump()
    return _changes(before, (None, ""))


def rule_snoozes_expire(*, now: datetime | None = None) -> int:
    """End every rule snooze whose time has come, recorded as the system's (the periodic job)."""
    now = now or timezone.now()
    ended = 0
    while True:
        with transaction.atomic():
            due = list(
                Rule.objects.select_for_update(skip_locked=True)
                .filter(snoozed_until__lte=now)
                .order_by("snoozed_until", "pk")[:EXPIRE_BATCH]
            )
            payloads = [
                (
                    audit_payload(
                        event_type="alert_rule_update",
                        service=AUDIT_SERVICE,
                        initiated_by=actor_reference(None),
                        resource=_resource(rule),
                        changes=_snooze_clear(rule),
                    ),
                    0,
                )
                for rule in due
            ]
            if payloads:
                audit_events_record(payloads=payloads)
        ended += len(due)
        if len(due) < EXPIRE_BATCH:
            return ended

"""Rule changes: create, update, enable/disable, delete, and the Existing Conditions backfill.

Every change validates through rules.validation, bumps the rules version stamp in the
same transaction (so every engine rebuilds), stores a version of the rule with the author and
the change note (rules.versions) in that transaction too, and is recorded in the event log as
`alert_rule_create|update|delete` initiated by the acting user.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from alerts.services import alerts_policy_update
from events.models import AuditEvent
from events.services import AUDIT_SERVICE, MAX_EVALUATED_CAUSAL_DEPTH, actor_reference, audit_event_record
from rules.alerting import POLICY_FIELDS, alert_policy
from rules.detections.learning import detection_state_clear, learns, rule_learn_schedule
from rules.engine import RuleEngine
from rules.evaluation import PendingMatch, matches_detected, matches_record
from rules.models import BackfillStatus, Rule, RulesVersion, RuleVersion
from rules.selectors import LEARNING, rule_spec, template_rule
from rules.validation import RULE_FIELDS, rule_defaults, rule_validate, rule_values
from rules.versions import restore_check, version_record

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

BACKFILL_CHUNK = 1000


def rules_version_bump() -> str:
    stamp = uuid.uuid4().hex
    updated = RulesVersion.objects.filter(pk=1).update(stamp=stamp, changed_at=timezone.now())
    if not updated:
        RulesVersion.objects.update_or_create(pk=1, defaults={"stamp": stamp})
    return stamp


def rule_create(*, data: dict[str, Any], actor: User | None, comment: str = "") -> Rule:
    """Create a rule from the contract's fields; `template` starts from that template's values.

    `comment` is the change note stored with its version 1.
    """
    template = data.get("template")
    base: dict[str, Any] = {}
    if isinstance(template, str) and template:
        try:
            base = template_rule(template)
        except KeyError:
            base = {}
    values = rule_validate({**base, **data})
    with transaction.atomic():
        rule = Rule(created_by=_user(actor), updated_by=_user(actor))
        _apply(rule, values)
        rule.save()
        rule.channels.set(values["channels"])
        rules_version_bump()
        version_record(rule=rule, actor=_user(actor), comment=comment)
        audit_event_record(
            event_type="alert_rule_create",
            service=AUDIT_SERVICE,
            initiated_by=actor_reference(actor),
            resource=_resource(rule),
        )
        if learns(rule):
            rule_learn_schedule(rule=rule)
        if rule.enabled and rule.existing_conditions:
            rule_backfill_schedule(rule=rule)
    return rule


def rule_update(
    *,
    rule: Rule,
    data: dict[str, Any],
    actor: User | None,
    replace: bool = False,
    comment: str = "",
    always_version: bool = False,
) -> Rule:
    """Apply a partial update (or, with `replace`, a full one over the defaults); record what changed.

    A change stores a new version with `comment`; a save that changes nothing stores none, unless
    `always_version` (a restore is a new version even when the rule already equals the old one).
    """
    with transaction.atomic():
        rule = Rule.objects.select_for_update().get(pk=rule.pk)
        before = rule_values(rule)
        if replace:
            # A full replacement: what the body leaves out takes its default, and the
            # fields without one (name, conditions) are required again.
            data = {**rule_defaults(), "name": None, "conditions": None, **data}
        values = rule_validate(data, instance=rule)
        changes = [
            {"field": name, "from": before[name], "to": values[name]}
            for name in RULE_FIELDS
            if before.get(name) != values.get(name)
        ]
        if not changes:
            if always_version:
                version_record(rule=rule, actor=_user(actor), comment=comment)
            return rule
        _apply(rule, values)
        rule.updated_by = _user(actor)
        rule.save()
        rule.channels.set(values["channels"])
        rules_version_bump()
        version_record(rule=rule, actor=_user(actor), comment=comment)
        audit_event_record(
            event_type="alert_rule_update",
            service=AUDIT_SERVICE,
            initiated_by=actor_reference(actor),
            resource=_resource(rule),
            changes=changes,
        )
        # api.md: existing_conditions applies "when true at save or enable time": a save that
        # changes what the rule matches or raises queues the backfill (a new name, description or
        # channel list doesn't). RuleMatch keeps an
        # event from matching twice: a rerun adds only what earlier runs missed.
        changed = {change["field"] for change in changes}
        if changed & POLICY_FIELDS:
            alerts_policy_update(policy=alert_policy(rule, values["channels"]))
        if changed & {"detection", "conditions"}:
            detection_state_clear(rule_id=rule.pk)
        if learns(rule) and changed & LEARN_FIELDS:
            rule_learn_schedule(rule=rule)
        if rule.enabled and rule.existing_conditions and changed & BACKFILL_FIELDS:
            rule_backfill_schedule(rule=rule)
    return rule


# Fields whose change can make stored events match (or alert) differently.
BACKFILL_FIELDS = frozenset(
    {
        "enabled",
        "existing_conditions",
        "conditions",
        "group_by",
        "group_window_minutes",
        "threshold",
        "generate_alerts",
        "detection",
    }
)
# Saving or enabling a new_value rule with these changed learns its history again.
LEARN_FIELDS = frozenset({"enabled", "conditions", "detection"})


def rule_set_enabled(*, rule: Rule, enabled: bool, actor: User | None, comment: str = "") -> Rule:
    return rule_update(rule=rule, data={"enabled": enabled}, actor=actor, comment=comment)


def rule_restore(*, rule: Rule, version: RuleVersion, actor: User | None, comment: str = "") -> Rule:
    """Make the rule equal to one of its versions again, as a new version (the history only grows).

    The old version goes through the same checks as any change; a channel it sends to that was
    deleted since is refused by name rather than as an unknown id.
    """
    restore_check(version)
    note = comment or f"Restored version {version.version}."
    # Fields the rule has lost since take no part; fields it gained since take their defaults.
    data = {name: value for name, value in version.snapshot.items() if name in RULE_FIELDS}
    return rule_update(rule=rule, data=data, actor=actor, replace=True, comment=note, always_version=True)


def rule_delete(*, rule: Rule, actor: User | None) -> None:
    with transaction.atomic():
        resource = _resource(rule)
        rule.delete()
        rules_version_bump()
        audit_event_record(
            event_type="alert_rule_delete",
            service=AUDIT_SERVICE,
            initiated_by=actor_reference(actor),
            resource=resource,
        )


def _apply(rule: Rule, values: dict[str, Any]) -> None:
    for name in RULE_FIELDS:
        if name != "channels":
            setattr(rule, name, values[name])
    types = sorted({condition["event_type"] for condition in values["conditions"]})
    rule.selected_event_types = f" {' '.join(types)} " if types else ""


def _resource(rule: Rule) -> dict[str, Any]:
    return {"type": "alert_rule", "id": str(rule.pk), "name": rule.name}


def _user(actor: User | None) -> User | None:
    return actor if actor is not None and getattr(actor, "is_authenticated", False) else None


# -- Existing Conditions ----------------------------------------------------------------


def rule_backfill_schedule(*, rule: Rule) -> None:
    """Queue the backfill after commit; progress shows on the rule (backfill_* fields)."""
    Rule.objects.filter(pk=rule.pk).update(
        backfill_status=BackfillStatus.QUEUED, backfill_total=0, backfill_done=0, backfill_matched=0, backfill_error=""
    )
    from rules.tasks import rule_backfill_task

    rule_id = rule.pk
    transaction.on_commit(lambda: rule_backfill_task.delay(rule_id))


def rule_backfill(*, rule_id: int) -> int:
    """Evaluate stored events inside the lookback against one rule; raise what matches. Returns matches."""
    rule = Rule.objects.filter(pk=rule_id).first()
    if rule is None:
        return 0
    if not rule.enabled:
        # Disabled before its turn came: nothing to do, and say so rather than stay "queued".
        Rule.objects.filter(pk=rule_id).update(backfill_status=BackfillStatus.IDLE)
        return 0
    if rule.learn_status in LEARNING:
        return 0  # stays queued: the learning task runs it once the history is learned
    spec = rule_spec(rule)
    if spec is None:
        Rule.objects.filter(pk=rule_id).update(backfill_status=BackfillStatus.FAILED, backfill_error="Invalid rule.")
        return 0
    engine = RuleEngine([spec])
    since = timezone.now() - timedelta(hours=settings.ALERTSITE_EXISTING_LOOKBACK_HOURS)
    types = sorted({condition.event_type for condition in spec.conditions})
    events = AuditEvent.objects.filter(
        event_type__in=types, timestamp__gte=since, causal_depth__lte=MAX_EVALUATED_CAUSAL_DEPTH
    )
    total = events.count()
    Rule.objects.filter(pk=rule_id).update(backfill_status=BackfillStatus.RUNNING, backfill_total=total)
    matched = 0
    try:
        for chunk in _backfill_chunks(events, event_time=spec.detection is not None):
            with transaction.atomic():
                if spec.detection is not None:
                    # In event-time order through the detection, as the live path would have.
                    pending = matches_detected(engine, chunk)
                else:
                    pending = [
                        PendingMatch(
                            rule_id,
                            chunk[position].pk,
                            chunk[position].timestamp,
                            engine.group_key(rule_id, chunk[position].payload),
                        )
                        for position, _ in engine.match_batch([event.payload for event in chunk])
                    ]
                matched += len(matches_record(pending))
                Rule.objects.filter(pk=rule_id).update(
                    backfill_done=F("backfill_done") + len(chunk), backfill_matched=matched
                )
    except Exception as exc:
        logger.exception("backfill failed", extra={"rule_id": rule_id})
        Rule.objects.filter(pk=rule_id).update(backfill_status=BackfillStatus.FAILED, backfill_error=str(exc)[:500])
        raise
    Rule.objects.filter(pk=rule_id).update(backfill_status=BackfillStatus.DONE)
    return matched


def _backfill_chunks(events: QuerySet[AuditEvent], *, event_time: bool) -> Iterator[list[AuditEvent]]:
    """The events in chunks: by pk, or in event-time order (keyset on timestamp, pk) for detections."""
    columns = ("pk", "timestamp", "payload")
    if not event_time:
        last_pk = 0
        while chunk := list(events.filter(pk__gt=last_pk).order_by("pk").only(*columns)[:BACKFILL_CHUNK]):
            last_pk = chunk[-1].pk
            yield chunk
        return
    ordered = events.order_by("timestamp", "pk").only(*columns)
    chunk = list(ordered[:BACKFILL_CHUNK])
    while chunk:
        yield chunk
        last = chunk[-1]
        after = Q(timestamp__gt=last.timestamp) | Q(timestamp=last.timestamp, pk__gt=last.pk)
        chunk = list(ordered.filter(after)[:BACKFILL_CHUNK])


def rule_backfill_after_learning(*, rule_id: int) -> int:
    """The Existing Conditions backfill that waited for learning, if one waits."""
    if Rule.objects.filter(pk=rule_id, backfill_status=BackfillStatus.QUEUED).exists():
        return rule_backfill(rule_id=rule_id)
    return 0

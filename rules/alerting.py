"""What rules hands alerts with each new match: its rules' policies and the match history.

The boundary rules -> alerts, from rules' side: `alert_policies` turns rule rows into
`alerts.policy.AlertPolicy` values (two queries for any number of rules, none while the rules
version stamp has not moved since they were read), and
`RuleMatchHistory` answers alerts' threshold questions from the `RuleMatch` table, so alerts
never imports or queries rules' models.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import datetime

from django.utils import timezone

from alerts.policy import AlertPolicy, Escalation, Threshold
from alertsite.snooze import snooze_active
from rules.models import Rule, RuleMatch
from rules.selectors import rules_stamp

# Rule fields whose change changes what its alerts must remember (alerts.services.alerts_policy_update).
POLICY_FIELDS = frozenset(
    {
        "channels",
        "generate_alerts",
        "send_notifications",
        "notify_on_acknowledge",
        "notify_on_resolve",
        "group_window_minutes",
        "threshold",
        "remind_every_minutes",
        "remind_max",
        "escalation",
    }
)

# The columns a policy is made of (not the conditions, which may be long and are not needed here).
POLICY_READ = ("pk", "name", "priority", "snoozed_until", *sorted(POLICY_FIELDS - {"channels"}))


def alert_policy(rule: Rule, channel_ids: Sequence[int], *, now: datetime | None = None) -> AlertPolicy:
    """The rule's policy at `now` (snoozed or not: read from the row already loaded, no query)."""
    threshold, escalation = rule.threshold, rule.escalation
    now = now or timezone.now()
    return AlertPolicy(
        rule_id=rule.pk,
        rule_name=rule.name,
        priority=rule.priority,
        generate_alerts=rule.generate_alerts,
        send_notifications=rule.send_notifications,
        notify_on_acknowledge=rule.notify_on_acknowledge,
        notify_on_resolve=rule.notify_on_resolve,
        group_window_minutes=rule.group_window_minutes,
        threshold=(
            Threshold(count=int(threshold["count"]), window_minutes=int(threshold["window_minutes"]))
            if threshold
            else None
        ),
        channel_ids=tuple(sorted(channel_ids)),
        remind_every_minutes=rule.remind_every_minutes,
        remind_max=rule.remind_max,
        escalation=(
            Escalation(
                after_minutes=int(escalation["after_minutes"]),
                channel_ids=tuple(sorted(int(pk) for pk in escalation["channels"])),
            )
            if escalation
            else None
        ),
        snoozed=snooze_active(rule.snoozed_until, now),
    )


def alert_policies(rule_ids: Collection[int]) -> dict[int, AlertPolicy]:
    """The policies of these rules by id (rules deleted meanwhile are left out).

    The rule rows are kept per rules version stamp (every write of a policy field, snoozes
    included, bumps it), so a batch of matches reads them only the first time after a change:
    the stamp itself is pinned per evaluation batch, so this costs no statement at all then.
    Whether a snooze is on is decided here, at `now`, from the kept `snoozed_until`.
    """
    rows = _policy_rows(rule_ids)
    now = timezone.now()
    return {
        rule_id: alert_policy(rule, channel_ids, now=now)
        for rule_id, (rule, channel_ids) in rows.items()
        if rule is not None
    }


_PolicyRows = dict[int, tuple[Rule | None, tuple[int, ...]]]
_policy_cache: tuple[str, _PolicyRows] = ("", {})
_policy_lock = threading.Lock()


def _policy_rows(rule_ids: Collection[int]) -> _PolicyRows:
    """Each rule's row (the policy columns) and channel ids, from the cache of this rules stamp or
    read in two queries for the ones it lacks; a rule that is gone is kept as None."""
    global _policy_cache
    stamp = rules_stamp()
    with _policy_lock:
        cached_stamp, cached = _policy_cache
        if cached_stamp != stamp or not stamp:  # no stamp row yet (no rule written): keep nothing
            cached = {}
            _policy_cache = (stamp, cached)
    missing = [rule_id for rule_id in rule_ids if rule_id not in cached]
    if missing:
        channels: dict[int, list[int]] = defaultdict(list)
        for rule_id, channel_id in Rule.channels.through.objects.filter(rule_id__in=missing).values_list(
            "rule_id", "channel_id"
        ):
            channels[rule_id].append(channel_id)
        found = {rule.pk: rule for rule in Rule.objects.filter(pk__in=missing).only(*POLICY_READ)}
        cached.update(
            (rule_id, (found.get(rule_id), tuple(sorted(channels[rule_id])) if rule_id in found else ()))
            for rule_id in missing
        )
    return {rule_id: cached[rule_id] for rule_id in rule_ids}


def alert_policies_forget() -> None:
    """Drop the kept rule rows (tests, or after changes made outside the services)."""
    global _policy_cache
    with _policy_lock:
        _policy_cache = ("", {})


class RuleMatchHistory:
    """alerts.policy.MatchHistory over the RuleMatch table (indexed on rule, group key, event time)."""

    def matches_between(
        self, *, rule_id: int, group_key: str, start: datetime, end: datetime
    ) -> list[tuple[datetime, int]]:
        return list(
            RuleMatch.objects.filter(
                rule_id=rule_id, group_key=group_key, event_timestamp__gte=start, event_timestamp__lte=end
            ).values_list("event_timestamp", "event_id")
        )

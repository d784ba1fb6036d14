"""Rule history: a version of the rule on every change, what changed between two, and the checks
a restore needs.

A plain table rather than django-simple-history or django-reversion: a version here is the rule
as the API writes it (channels as ids, with their names kept), numbered per rule, and a restore
must go through rules.services (validation, the engine stamp, the audit event, the alert
policy); both libraries snapshot model rows and restore by writing them back, around all that.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import Max

from channels.selectors import channel_ids_existing, channel_names
from rules.models import Rule, RuleVersion
from rules.validation import RULE_FIELDS, RuleValidationError, rule_values

if TYPE_CHECKING:
    from django.contrib.auth.models import User

MAX_COMMENT = 500


def comment_clean(raw: Any) -> str:
    """The change note of a request (`"comment"`): text of at most 500 characters, or nothing."""
    if raw is None:
        return ""
    if not isinstance(raw, str):
        raise RuleValidationError({"comment": "Must be text."})
    comment = raw.strip()
    if len(comment) > MAX_COMMENT:
        raise RuleValidationError({"comment": f"At most {MAX_COMMENT} characters."})
    return comment


def version_record(*, rule: Rule, actor: User | None, comment: str = "") -> RuleVersion:
    """Store the rule as it is now as its next version; call inside the change's transaction,
    with the rule row locked (or just created), so two changes never take the same number."""
    snapshot = rule_values(rule)
    latest = RuleVersion.objects.filter(rule=rule).aggregate(latest=Max("version"))["latest"] or 0
    return RuleVersion.objects.create(
        rule=rule,
        version=latest + 1,
        author=actor,
        comment=comment,
        snapshot=snapshot,
        channel_names={str(pk): name for pk, name in channel_names(snapshot["channels"]).items()},
    )


def version_changes(before: dict[str, Any] | None, after: dict[str, Any]) -> list[dict[str, Any]]:
    """The fields that differ between two snapshots, as `{"field", "from", "to"}` in the API's order
    (the shape of the audit events' `changes`). Nothing before (version 1): no changes."""
    if before is None:
        return []
    return [
        {"field": name, "from": before.get(name), "to": after.get(name)}
        for name in RULE_FIELDS
        if before.get(name) != after.get(name)
    ]


def version_previous(version: RuleVersion) -> RuleVersion | None:
    return RuleVersion.objects.filter(rule_id=version.rule_id, version__lt=version.version).order_by("-version").first()


def versions_of(rule: Rule) -> list[RuleVersion]:
    """Every version of a rule, newest first, each with its author."""
    return list(RuleVersion.objects.filter(rule=rule).select_related("author").order_by("-version"))


def restore_check(version: RuleVersion) -> None:
    """Refuse, by name, a version that sends to channels deleted since it was saved."""
    channels = version.snapshot.get("channels") or []
    missing = sorted(set(channels) - channel_ids_existing(channels))
    if missing:
        names = ", ".join(_channel_label(version, pk) for pk in missing)
        plural = "s" if len(missing) > 1 else ""
        raise RuleValidationError(
            {
                "channels": (
                    f"Version {version.version} sends to channel{plural} {names}, deleted since. "
                    "Edit the rule instead, choosing channels that exist."
                )
            }
        )


def _channel_label(version: RuleVersion, pk: int) -> str:
    name = version.channel_names.get(str(pk))
    return f"{name!r} (id {pk})" if name else f"id {pk}"

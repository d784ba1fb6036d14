"""Rule history in words, for the console: what each version changed, said as the rule page says it.

Conditions are compared condition by condition (those taken out, those put in), each described
like the read-only rule page does (rules.forms.condition_words); channels by the names they had
in each version; switches as On/Off. No raw JSON.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from alertsite.priority import Priority
from rules.forms import FIELD_LABELS, condition_words, value_words
from rules.versions import version_changes

if TYPE_CHECKING:
    from rules.models import RuleVersion

ENABLED_WORDS = {True: "Enabled", False: "Disabled"}
PRIORITY_LABELS = dict(Priority.choices)


def history_words(versions: list[RuleVersion], templates: dict[str, Any]) -> list[dict[str, Any]]:
    """Each version (newest first, as given) with its changes since the one before it, in words."""
    by_number = {version.version: version for version in versions}
    rows = []
    for version in versions:
        previous = by_number.get(version.version - 1)
        changes = version_changes(previous.snapshot if previous is not None else None, version.snapshot)
        rows.append(
            {
                "version": version,
                "first": previous is None,
                "changes": [_change_words(change, previous, version, templates) for change in changes],
            }
        )
    return rows


def _change_words(
    change: dict[str, Any], before: RuleVersion | None, after: RuleVersion, templates: dict[str, Any]
) -> dict[str, Any]:
    field = change["field"]
    words: dict[str, Any] = {"field": field, "label": FIELD_LABELS.get(field, field), "kind": "value"}
    if field == "conditions":
        old = [item for item in change["from"] or [] if isinstance(item, dict)]
        new = [item for item in change["to"] or [] if isinstance(item, dict)]
        words["kind"] = "conditions"
        words["removed"] = [condition_words(item) for item in old if item not in new]
        words["added"] = [condition_words(item) for item in new if item not in old]
        return words
    if field == "channels":
        words["from"] = _channel_words(change["from"], before)
        words["to"] = _channel_words(change["to"], after)
        return words
    words["from"] = _value_words(field, change["from"], templates)
    words["to"] = _value_words(field, change["to"], templates)
    return words


def _value_words(field: str, value: Any, templates: dict[str, Any]) -> str:
    if field == "enabled" and isinstance(value, bool):
        return ENABLED_WORDS[value]
    if isinstance(value, bool):
        return "On" if value else "Off"
    if field == "priority":
        return str(PRIORITY_LABELS.get(value, value))
    if field == "template":
        template = templates.get(value)
        return template.name if template is not None else (value or "None")
    if field == "threshold":
        if not isinstance(value, dict):
            return "Off"
        return f"{value.get('count')} events within {value.get('window_minutes')} minutes"
    if field == "group_window_minutes":
        return f"{value} minutes" if value else "0 (every match opens its own alert)"
    if field == "group_by":
        return value_words(value) or "None"
    if value in (None, "", []):
        return "None"
    return value_words(value)


def _channel_words(ids: Any, version: RuleVersion | None) -> str:
    names = version.channel_names if version is not None else {}
    labels = [names.get(str(pk)) or f"channel {pk}" for pk in ids or []]
    return ", ".join(labels) or "None"

"""The console's rule form: read the POSTed fields into the contract's dict, and show a rule's values.

Nothing here validates a rule: `rules.validation.rule_validate` (through the services) is the
one place. This module only turns raw strings into the contract's shape and keeps what was
typed, so a rejected form re-renders exactly as submitted:

- `conditions` is JSON kept in sync by the JS editor; without JS the admin edits the same JSON
  in the `conditions_json` textarea, which then wins.
- Numbers that do not parse are passed on as typed, so rule_validate reports them.
- `group_by` is typed as keys separated by commas; a blank threshold count means no threshold.
- A blank reminder interval means no reminders; a blank escalation delay with no escalation
  channel ticked means no escalation.
- Detection (api.md section 12): `detection_type` is "" (every event), `new_value` or `sequence`;
  only the chosen kind's fields are read. A sequence's steps are the conditions in order (the
  hidden `detection_steps` keeps a saved rule's own order while it still covers every condition).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from events.catalog import ASSOCIATION_ACTIONS_BY_SLUG
from rules.operators import operators
from rules.validation import BOOLEAN_FIELDS

if TYPE_CHECKING:
    from django.http import QueryDict

INT_RE = re.compile(r"^\s*-?\d+\s*$")
DEFAULT_HISTORY_DAYS = 30
DEFAULT_WITHIN_MINUTES = 10
CONDITION_PATH_RE = re.compile(r"^conditions\[(\d+)\](?:\.filters\[(\d+)\])?(?:\.(\w+))?$")
# Field errors shown next to a top-level field; the key is what templates look up.
FIELD_OF_PATH = {
    "threshold.count": "threshold_count",
    "threshold.window_minutes": "threshold_window_minutes",
    "escalation.after_minutes": "escalation_after_minutes",
    "escalation.channels": "escalation_channels",
    "detection.type": "detection",
}
FIELD_LABELS = {
    "name": "Rule Name",
    "description": "Description",
    "enabled": "Enabled",
    "priority": "Priority",
    "template": "Template",
    "conditions": "Conditions",
    "generate_alerts": "Generate Alerts",
    "send_notifications": "Send Notifications",
    "channels": "Channels",
    "notify_on_acknowledge": "Alert Acknowledgement",
    "notify_on_resolve": "Alert Resolution",
    "existing_conditions": "Existing Conditions",
    "group_by": "Group alerts by",
    "group_window_minutes": "Group window (minutes)",
    "threshold": "Threshold",
    "threshold_count": "Threshold: number of events",
    "threshold_window_minutes": "Threshold window (minutes)",
    "remind_every_minutes": "Remind every (minutes)",
    "remind_max": "Reminders at most",
    "escalation": "Escalation",
    "escalation_after_minutes": "Escalate after (minutes)",
    "escalation_channels": "Escalation channels",
    "comment": "Change note",
    "detection": "Detection",
    "detection_fields": "Detection: values to remember",
    "detection_history_days": "Detection: history (days)",
    "detection_steps": "Detection: steps",
    "detection_by": "Detection: same values of",
    "detection_within_minutes": "Detection: within (minutes)",
}
FIELD_ANCHORS = {
    "conditions": "conditions",
    "channels": "channel-search",
    "threshold": "id_threshold_count",
    "escalation": "id_escalation_after_minutes",
    "escalation_channels": "id_escalation_channels",
    "detection": "detection",
    "detection_steps": "detection-steps",
}
PART_LABELS = {"key": "Select Key", "operator": "Operator", "value": "Value", "expression": "Expression"}


@dataclass
class RuleForm:
    """A submitted rule form: `data` for the services, `values` to render again, `errors` of parsing."""

    data: dict[str, Any]
    values: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)
    comment: str = ""  # the Change note, stored with the version this save makes (not a rule field)


def form_values(rule: dict[str, Any]) -> dict[str, Any]:
    """Return what the form shows for a rule in the contract's shape (a template, a saved rule)."""
    threshold = rule.get("threshold") or None
    escalation = rule.get("escalation") if isinstance(rule.get("escalation"), dict) else {}
    conditions = rule.get("conditions") or []
    return {
        "name": rule.get("name") or "",
        "description": rule.get("description") or "",
        "priority": rule.get("priority") or "medium",
        "template": rule.get("template") or "",
        "conditions": conditions,
        "conditions_json": json.dumps(conditions, indent=2),
        "channels": [str(pk) for pk in rule.get("channels") or []],
        "group_by": ", ".join(str(key) for key in rule.get("group_by") or []),
        "group_window_minutes": str(rule.get("group_window_minutes") or 0),
        "threshold_count": str(threshold["count"]) if isinstance(threshold, dict) and "count" in threshold else "",
        "threshold_window_minutes": (
            str(threshold["window_minutes"]) if isinstance(threshold, dict) and "window_minutes" in threshold else ""
        ),
        "remind_every_minutes": str(rule.get("remind_every_minutes") or ""),
        "remind_max": str(rule.get("remind_max") or 3),
        "escalation_after_minutes": str(escalation.get("after_minutes") or ""),
        "escalation_channels": [str(pk) for pk in escalation.get("channels") or []],
        **detection_form_values(rule.get("detection")),
        **{flag: bool(rule.get(flag)) for flag in BOOLEAN_FIELDS},
    }


def _joined(value: Any) -> str:
    return ", ".join(str(item) for item in value) if isinstance(value, list) else ""


def detection_form_values(detection: Any) -> dict[str, str]:
    """The Detection part's fields for a detection in the contract's shape (or null: every event)."""
    detection = detection if isinstance(detection, dict) else {}
    days, minutes = detection.get("history_days"), detection.get("within_minutes")
    return {
        "detection_type": str(detection.get("type") or ""),
        "detection_fields": _joined(detection.get("fields")),
        "detection_history_days": str(days) if days is not None else str(DEFAULT_HISTORY_DAYS),
        "detection_steps": _joined(detection.get("steps")),
        "detection_by": _joined(detection.get("by")),
        "detection_within_minutes": str(minutes) if minutes is not None else str(DEFAULT_WITHIN_MINUTES),
    }


def _keys_typed(raw: str) -> list[str]:
    return [key.strip() for key in raw.split(",") if key.strip()]


def _steps(raw: str, conditions: Any) -> list[int]:
    """The typed step order when it names every condition once, else the conditions in order."""
    count = len(conditions) if isinstance(conditions, list) else 0
    typed = [int(part) for part in raw.split(",") if INT_RE.match(part)]
    return typed if sorted(typed) == list(range(count)) else list(range(count))


def detection_parse(post: QueryDict, conditions: Any) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """The detection the form asks for (None: every event counts), and the values to show again."""
    values = {
        name: post.get(name, "").strip()
        for name in (
            "detection_type",
            "detection_fields",
            "detection_history_days",
            "detection_steps",
            "detection_by",
            "detection_within_minutes",
        )
    }
    kind = values["detection_type"]
    detection: dict[str, Any] | None
    if kind == "":
        detection = None
    elif kind == "new_value":
        detection = {
            "type": kind,
            "fields": _keys_typed(values["detection_fields"]),
            "history_days": _number(values["detection_history_days"]),
        }
    elif kind == "sequence":
        steps = _steps(values["detection_steps"], conditions)
        values["detection_steps"] = _joined(steps)
        detection = {
            "type": kind,
            "steps": steps,
            "by": _keys_typed(values["detection_by"]),
            "within_minutes": _number(values["detection_within_minutes"]),
        }
    else:
        detection = {"type": kind}  # rule_validate names the unknown kind
    return detection, values


def form_parse(post: QueryDict, *, template: str | None = None) -> RuleForm:
    """Read a POSTed rule form into the contract's fields (`template` only for a new rule)."""
    errors: dict[str, str] = {}
    source = post.get("conditions_json") if "conditions_json" in post else post.get("conditions", "")
    source = source or ""
    conditions: Any
    if not source.strip():
        conditions = []
    else:
        try:
            conditions = json.loads(source)
        except ValueError as exc:
            line, column = getattr(exc, "lineno", None), getattr(exc, "colno", None)
            where = f" (line {line}, column {column})" if line else ""
            errors["conditions"] = f"Conditions are not valid JSON{where}: {getattr(exc, 'msg', exc)}."
            conditions = None
    group_by_raw = post.get("group_by", "")
    threshold_count = post.get("threshold_count", "").strip()
    threshold_window = post.get("threshold_window_minutes", "").strip()
    threshold = None
    if threshold_count or threshold_window:
        threshold = {"count": _number(threshold_count), "window_minutes": _number(threshold_window)}
    remind_every = post.get("remind_every_minutes", "").strip()
    remind_max = post.get("remind_max", "").strip()
    escalation_after = post.get("escalation_after_minutes", "").strip()
    escalation_channels = [value for value in post.getlist("escalation_channels") if value.strip()]
    escalation = None
    if escalation_after or escalation_channels:
        escalation = {
            "after_minutes": _number(escalation_after),
            "channels": [_number(value) for value in escalation_channels],
        }
    data: dict[str, Any] = {
        "name": post.get("name", ""),
        "description": post.get("description", ""),
        "priority": post.get("priority", ""),
        "conditions": conditions,
        "channels": [_number(value) for value in post.getlist("channels") if value.strip()],
        "group_by": [key.strip() for key in group_by_raw.split(",") if key.strip()],
        "group_window_minutes": _number(post.get("group_window_minutes", "").strip() or "0"),
        "threshold": threshold,
        "remind_every_minutes": _number(remind_every),
        "remind_max": _number(remind_max or "3"),
        "escalation": escalation,
        **{flag: flag in post for flag in BOOLEAN_FIELDS},
    }
    detection, detection_values = detection_parse(post, conditions)
    data["detection"] = detection
    if template:
        data["template"] = template
    values = {
        "name": data["name"],
        "description": data["description"],
        "priority": data["priority"],
        "template": template or "",
        "conditions": conditions if isinstance(conditions, list) else None,
        "conditions_json": source,
        "channels": post.getlist("channels"),
        "group_by": group_by_raw,
        "group_window_minutes": post.get("group_window_minutes", ""),
        "threshold_count": threshold_count,
        "threshold_window_minutes": threshold_window,
        "remind_every_minutes": remind_every,
        "remind_max": remind_max,
        "escalation_after_minutes": escalation_after,
        "escalation_channels": escalation_channels,
        "comment": post.get("comment", ""),
        **detection_values,
        **{flag: data[flag] for flag in BOOLEAN_FIELDS},
    }
    return RuleForm(data=data, values=values, errors=errors, comment=post.get("comment", ""))


def _number(raw: str) -> int | str | None:
    """A whole number when the text is one, the text as typed otherwise (rule_validate says what is wrong)."""
    if raw == "":
        return None
    return int(raw) if INT_RE.match(raw) else raw


def field_errors(errors: dict[str, str]) -> dict[str, str]:
    """Group errors by the form field they belong to (`group_by[2]` -> `group_by`); conditions stay apart."""
    grouped: dict[str, list[str]] = {}
    for path, message in errors.items():
        if path.startswith("conditions["):
            continue
        name = field_of_path(path)
        grouped.setdefault(name, []).append(message)
    return {name: " ".join(messages) for name, messages in grouped.items()}


def field_of_path(path: str) -> str:
    """The form field an error path belongs to: `detection.fields[1]` -> `detection_fields`."""
    if path in FIELD_OF_PATH:
        return FIELD_OF_PATH[path]
    name = path.split("[", 1)[0]
    return name.replace(".", "_") if name.startswith("detection.") else name


def condition_errors(errors: dict[str, str]) -> dict[str, str]:
    """The errors that belong inside the conditions editor (`conditions[0].filters[2].operator`, ...)."""
    return {path: message for path, message in errors.items() if path.startswith("conditions[")}


def condition_title(condition: Any) -> str:
    """Name a condition as the event picker does: the association action's own words, or the event type."""
    if not isinstance(condition, dict):
        return "?"
    action = condition.get("action")
    if isinstance(action, str) and action in ASSOCIATION_ACTIONS_BY_SLUG:
        return ASSOCIATION_ACTIONS_BY_SLUG[action].description
    return str(condition.get("event_type") or "?")


def condition_chip(condition: Any) -> str:
    """The summary chip of a selected event, as the rule form shows it: "3 filters, All" / "Expression"."""
    if not isinstance(condition, dict):
        return "?"
    if isinstance(condition.get("expression"), str) and condition["expression"]:
        return "Expression"
    filters = condition.get("filters") if isinstance(condition.get("filters"), list) else []
    if not filters:
        return "No filters"
    match = "Any" if condition.get("match") == "any" else "All"
    return f"{len(filters)} filter{'s' if len(filters) != 1 else ''}, {match}"


def value_words(value: Any) -> str:
    """A filter's value as a person reads it: lists joined by commas, booleans and null in JSON's words."""
    if isinstance(value, list):
        return ", ".join(value_words(item) for item in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)


def condition_words(condition: Any) -> dict[str, Any]:
    """Say what one condition selects, for the read-only rule page: its event, then filters or expression."""
    if not isinstance(condition, dict):
        return {"title": "?", "event_type": "", "chip": "?", "kind": "filters", "filters": [], "match": "All"}
    action = condition.get("action")
    words: dict[str, Any] = {
        "title": condition_title(condition),
        "event_type": str(condition.get("event_type") or ""),
        "action": action if isinstance(action, str) and action in ASSOCIATION_ACTIONS_BY_SLUG else "",
        "chip": condition_chip(condition),
        "match": "Any" if condition.get("match") == "any" else "All",
        "filters": [],
    }
    expression = condition.get("expression")
    if isinstance(expression, str) and expression:
        words["kind"] = "expression"
        words["expression"] = expression
        return words
    words["kind"] = "filters"
    for item in condition.get("filters") or []:
        if not isinstance(item, dict):
            continue
        key = str(item.get("operator") or "")
        operator = operators.get(key) if key in operators else None
        words["filters"].append(
            {
                "key": str(item.get("key") or ""),
                "operator": operator.label if operator is not None else key,
                "has_value": "value" in item,
                "value": value_words(item.get("value")),
            }
        )
    return words


def error_label(path: str, conditions: Any) -> str:
    """Say where an error is in words: `conditions[0].filters[2].operator` -> "user_login_attempt, filter 3, Operator"."""
    match = CONDITION_PATH_RE.match(path)
    if match is None:
        return FIELD_LABELS.get(field_of_path(path), path)
    index, filter_index, part = match.groups()
    condition = conditions[int(index)] if isinstance(conditions, list) and int(index) < len(conditions) else None
    words = [f"Conditions: {condition_title(condition)}"]
    if filter_index is not None:
        words.append(f"filter {int(filter_index) + 1}")
    if part and part != "filters":
        words.append(PART_LABELS.get(part, part.replace("_", " ")))
    return ", ".join(words)


def error_anchor(path: str) -> str:
    """The id of the element an error summary entry links to."""
    if path.startswith("conditions"):
        return "conditions"
    name = field_of_path(path)
    return FIELD_ANCHORS.get(name, f"id_{name}")

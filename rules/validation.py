"""Every check on a rule, in one place, for the API, the admin and the console.

`rule_validate(data, instance=...)` takes the contract's field names and returns the
cleaned values, or raises `RuleValidationError` whose `errors` map the path of each bad
field (`conditions[0].filters[2].operator`, `channels`, ...) to a message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from alertsite.errors import FieldErrors
from alertsite.priority import Priority
from channels.selectors import channel_ids_existing
from events.catalog import keys_for
from rules.conditions import KEY_RE, ConditionError, conditions_parse
from rules.detections import detection_clean
from rules.models import Rule
from rules.selectors import TEMPLATE_SLUG_RE, template_get

if TYPE_CHECKING:
    from collections.abc import Iterable

MAX_NAME = 100
MAX_DESCRIPTION = 1000
MAX_GROUP_BY = 5
MAX_WINDOW_MINUTES = 7 * 24 * 60
MAX_THRESHOLD_COUNT = 10_000
MAX_REMIND_EVERY = 7 * 24 * 60
MAX_REMINDERS = 100
MAX_ESCALATION_MINUTES = 7 * 24 * 60

RULE_FIELDS = (
    "name",
    "description",
    "enabled",
    "priority",
    "template",
    "conditions",
    "generate_alerts",
    "send_notifications",
    "channels",
    "notify_on_acknowledge",
    "notify_on_resolve",
    "existing_conditions",
    "group_by",
    "group_window_minutes",
    "threshold",
    "detection",
    "remind_every_minutes",
    "remind_max",
    "escalation",
)
BOOLEAN_FIELDS = (
    "enabled",
    "generate_alerts",
    "send_notifications",
    "notify_on_acknowledge",
    "notify_on_resolve",
    "existing_conditions",
)


class RuleValidationError(FieldErrors):
    """Problems with a rule: path of each bad field -> message."""


def rule_defaults() -> dict[str, Any]:
    return {
        "description": "",
        "enabled": True,
        "priority": Priority.MEDIUM.value,
        "template": "event_based",
        "generate_alerts": True,
        "send_notifications": False,
        "channels": [],
        "notify_on_acknowledge": False,
        "notify_on_resolve": False,
        "existing_conditions": False,
        "group_by": [],
        "group_window_minutes": 0,
        "threshold": None,
        "detection": None,
        "remind_every_minutes": None,
        "remind_max": 3,
        "escalation": None,
    }


def rule_values(instance: Rule) -> dict[str, Any]:
    """The current values of a saved rule, in the contract's shape (the base for partial updates)."""
    values = {name: getattr(instance, name) for name in RULE_FIELDS if name != "channels"}
    values["channels"] = sorted(instance.channels.values_list("pk", flat=True)) if instance.pk else []
    return values


def rule_validate(
    data: dict[str, Any],
    *,
    instance: Rule | None = None,
    event_types: Iterable[str] | None = None,
    channel_ids: Iterable[int] | None = None,
    check_name: bool = True,
) -> dict[str, Any]:
    """Merge `data` over the rule's current values (or the defaults) and check the whole rule.

    `check_name=False` serves previews of unsaved rules, which need no name yet.
    """
    errors: dict[str, str] = {}
    for unknown in sorted(set(data) - set(RULE_FIELDS)):
        errors[unknown] = "Unknown field."
    values = rule_values(instance) if instance is not None else rule_defaults()
    values.update({key: value for key, value in data.items() if key in RULE_FIELDS})

    name = values.get("name")
    if not check_name:
        pass
    elif not isinstance(name, str) or not name.strip():
        errors["name"] = "Rule Name is required."
    elif len(name.strip()) > MAX_NAME:
        errors["name"] = f"At most {MAX_NAME} characters."
    else:
        values["name"] = name.strip()
        clash = Rule.objects.filter(name__iexact=values["name"])
        if instance is not None and instance.pk:
            clash = clash.exclude(pk=instance.pk)
        if clash.exists():
            errors["name"] = f"A rule named {values['name']!r} already exists."

    description = values.get("description") or ""
    if not isinstance(description, str):
        errors["description"] = "Must be text."
    elif len(description) > MAX_DESCRIPTION:
        errors["description"] = f"At most {MAX_DESCRIPTION} characters."
    values["description"] = description if isinstance(description, str) else ""

    if values.get("priority") not in Priority.values:
        errors["priority"] = "Must be one of low, medium, high."

    template = values.get("template")
    if template is None:
        template = ""
    unchanged = instance is not None and template == instance.template
    if not isinstance(template, str) or (template and not TEMPLATE_SLUG_RE.fullmatch(template)):
        errors["template"] = "Must be a template slug."
    elif template and not unchanged and template_get(template) is None:
        # Checked when set: a rule made from a template someone later deleted stays editable.
        errors["template"] = f"Unknown template {template!r}."
    values["template"] = template if isinstance(template, str) else ""

    for flag in BOOLEAN_FIELDS:
        if not isinstance(values.get(flag), bool):
            errors[flag] = "Must be true or false."

    catalog_from_db = event_types is None
    if event_types is None:
        from events.models import EventType

        event_types = EventType.objects.values_list("name", flat=True)
    conditions_ok = True
    try:
        values["conditions"] = [
            condition.as_dict() for condition in conditions_parse(values.get("conditions"), event_types=event_types)
        ]
    except ConditionError as exc:
        errors.update(exc.errors)
        conditions_ok = False

    generate, notify = values.get("generate_alerts") is True, values.get("send_notifications") is True
    if not generate and not notify:
        errors["generate_alerts"] = "Turn on Generate Alerts, Send Notifications, or both."
    channels = values.get("channels") or []
    if not isinstance(channels, list) or not all(isinstance(pk, int) and not isinstance(pk, bool) for pk in channels):
        errors["channels"] = "Must be a list of channel ids."
    else:
        channels = list(dict.fromkeys(channels))
        if channel_ids is None:
            channel_ids = channel_ids_existing(channels)
        missing = sorted(set(channels) - set(channel_ids))
        if missing:
            errors["channels"] = f"Unknown channel ids: {', '.join(map(str, missing))}."
        elif notify and not channels:
            errors["channels"] = "Select at least one channel to send notifications to."
        values["channels"] = sorted(channels)
    for flag, label in (("notify_on_acknowledge", "Alert Acknowledgement"), ("notify_on_resolve", "Alert Resolution")):
        if values.get(flag) is True and not (generate and notify):
            errors[flag] = f"{label} notifications need both Generate Alerts and Send Notifications."

    group_by = values.get("group_by") or []
    if not isinstance(group_by, list):
        errors["group_by"] = "Must be a list of keys."
    elif len(group_by) > MAX_GROUP_BY:
        errors["group_by"] = f"At most {MAX_GROUP_BY} keys."
    else:
        for index, key in enumerate(group_by):
            if not isinstance(key, str) or not KEY_RE.fullmatch(key):
                errors[f"group_by[{index}]"] = "Must be a dotted key such as initiated_by.email."
    values["group_by"] = group_by if isinstance(group_by, list) else []

    window = values.get("group_window_minutes")
    if not _is_int(window) or not 0 <= window <= MAX_WINDOW_MINUTES:
        errors["group_window_minutes"] = f"Must be a whole number of minutes from 0 to {MAX_WINDOW_MINUTES}."

    threshold = values.get("threshold")
    if threshold is not None:
        if not isinstance(threshold, dict) or set(threshold) != {"count", "window_minutes"}:
            errors["threshold"] = 'Must be null or {"count": N, "window_minutes": W}.'
        else:
            if not _is_int(threshold["count"]) or not 2 <= threshold["count"] <= MAX_THRESHOLD_COUNT:
                errors["threshold.count"] = f"Must be a whole number from 2 to {MAX_THRESHOLD_COUNT}."
            window_minutes = threshold["window_minutes"]
            if not _is_int(window_minutes) or not 1 <= window_minutes <= MAX_WINDOW_MINUTES:
                errors["threshold.window_minutes"] = f"Must be a whole number from 1 to {MAX_WINDOW_MINUTES}."

    errors.update(_detection_check(values, catalog_from_db=catalog_from_db, conditions_ok=conditions_ok))
    errors.update(_reminders_check(values, generate=generate, notify=notify))
    if errors:
        raise RuleValidationError(errors)
    return values


def _detection_check(values: dict[str, Any], *, catalog_from_db: bool, conditions_ok: bool) -> dict[str, str]:
    """`detection` (api.md section 12): its keys must be ones the selected events carry; cleans it in place."""
    detection = values.get("detection")
    if detection is None:
        return {}
    raw = values.get("conditions")
    conditions = [item for item in raw if isinstance(item, dict)] if isinstance(raw, list) else []
    types = sorted({item["event_type"] for item in conditions if isinstance(item.get("event_type"), str)})
    cleaned, errors = detection_clean(
        detection,
        conditions=conditions,
        threshold=values.get("threshold"),
        selected_event_types=_carried_keys(types, from_db=catalog_from_db) if conditions_ok else None,
    )
    if not errors:
        values["detection"] = cleaned
    return errors


def _carried_keys(types: list[str], *, from_db: bool) -> dict[str, list[str]]:
    """The keys each event type carries: the stored catalog's (types first seen at ingest get the common keys)."""
    stored: dict[str, list[str]] = {}
    if from_db:
        from events.models import EventType

        stored = dict(EventType.objects.filter(name__in=types).values_list("name", "keys"))
    return {name: list(stored.get(name) or keys_for(name)) for name in types}


def _reminders_check(values: dict[str, Any], *, generate: bool, notify: bool) -> dict[str, str]:
    """`remind_every_minutes`, `remind_max` and `escalation` (api.md section 10); cleans `escalation` in place."""
    errors: dict[str, str] = {}
    every = values.get("remind_every_minutes")
    if every is not None:
        if not _is_int(every) or not 1 <= every <= MAX_REMIND_EVERY:
            errors["remind_every_minutes"] = f"Must be null or a whole number of minutes from 1 to {MAX_REMIND_EVERY}."
        elif not (generate and notify):
            errors["remind_every_minutes"] = "Reminders need both Generate Alerts and Send Notifications."
    remind_max = values.get("remind_max")
    if not _is_int(remind_max) or not 1 <= remind_max <= MAX_REMINDERS:
        errors["remind_max"] = f"Must be a whole number from 1 to {MAX_REMINDERS}."
    escalation = values.get("escalation")
    if escalation is None:
        return errors
    if not isinstance(escalation, dict) or set(escalation) != {"after_minutes", "channels"}:
        errors["escalation"] = 'Must be null or {"after_minutes": N, "channels": [ids]}.'
        return errors
    if not generate:
        errors["escalation"] = "Escalation needs Generate Alerts: it escalates unacknowledged alerts."
    after = escalation["after_minutes"]
    if not _is_int(after) or not 1 <= after <= MAX_ESCALATION_MINUTES:
        errors["escalation.after_minutes"] = f"Must be a whole number of minutes from 1 to {MAX_ESCALATION_MINUTES}."
    channels = escalation["channels"]
    if not isinstance(channels, list) or not all(_is_int(pk) for pk in channels):
        errors["escalation.channels"] = "Must be a list of channel ids."
    elif not channels:
        errors["escalation.channels"] = "Select at least one channel to escalate to."
    else:
        channels = sorted(set(channels))
        missing = sorted(set(channels) - channel_ids_existing(channels))
        if missing:
            errors["escalation.channels"] = f"Unknown channel ids: {', '.join(map(str, missing))}."
        values["escalation"] = {"after_minutes": after, "channels": channels}
    return errors


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)

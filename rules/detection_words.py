"""A rule's detection (api.md section 12) in plain words, for the console's rule pages.

Reads the contract's JSON shape as stored or as typed, so it never raises on a half-made or
invalid detection: the form shows what was typed and the validation says what is wrong.
"""

from __future__ import annotations

from typing import Any

EVERY_EVENT = "every matching event counts"


def _keys(value: Any) -> str:
    keys = [str(key) for key in value] if isinstance(value, list) else []
    if not keys:
        return "?"
    return keys[0] if len(keys) == 1 else ", ".join(keys[:-1]) + " and " + keys[-1]


def _step_title(conditions: Any, index: Any) -> str:
    if isinstance(conditions, list) and isinstance(index, int) and 0 <= index < len(conditions):
        condition = conditions[index]
        if isinstance(condition, dict):
            return str(condition.get("action") or condition.get("event_type") or "?")
    return "?"


def sequence_steps(detection: Any, conditions: Any) -> list[str]:
    """The event of each step, in order ("admin_totp_disable", "admin_password_change")."""
    steps = detection.get("steps") if isinstance(detection, dict) else None
    if not isinstance(steps, list):
        steps = list(range(len(conditions))) if isinstance(conditions, list) else []
    return [_step_title(conditions, step) for step in steps]


def detection_words(detection: Any, conditions: Any = None) -> str:
    """Say which matching events count: "only the first time in 30 days that ... is seen", ...."""
    if not isinstance(detection, dict) or not detection.get("type"):
        return EVERY_EVENT
    kind = detection.get("type")
    if kind == "new_value":
        days = detection.get("history_days")
        return (
            f"counts a matching event only when its combination of {_keys(detection.get('fields'))} "
            f"was not seen in matching events of the previous {days if days not in (None, '') else '?'} days"
        )
    if kind == "sequence":
        steps = sequence_steps(detection, conditions)
        ordered = ", then ".join(f"{title} (step {number})" for number, title in enumerate(steps, start=1))
        minutes = detection.get("within_minutes")
        by = detection.get("by")
        same = f" for the same {_keys(by)}" if isinstance(by, list) and by else ""
        return (
            f"fires when {ordered or '?'} happen in that order{same} "
            f"within {minutes if minutes not in (None, '') else '?'} minutes"
        )
    return f"unknown detection {kind!r}"

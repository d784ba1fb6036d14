"""Rule conditions: parse the contract's JSON into frozen dataclasses, then compile them.

- `conditions_parse` checks everything about the conditions list and raises one
  `ConditionError` listing each problem with the path of the bad node
  (`conditions[0].filters[2].operator`).
- `condition_compile` turns a parsed condition into a plain closure `event -> bool`.
- `condition_explain` says, filter by filter, why an event matched or not.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from alertsite.errors import FieldErrors
from events.catalog import ASSOCIATION_ACTIONS_BY_SLUG, ASSOCIATION_EVENT_TYPE, association_action_matches
from rules.operators import OperatorValueError, operators
from rules.paths import change_entries, path_parse, values_reader

MAX_FILTERS = 25
MAX_CONDITIONS = 200
MAX_EXPRESSION_LENGTH = 4096
# Used with fullmatch: `$` would also accept a trailing newline.
KEY_RE = re.compile(r"[A-Za-z0-9_@$-]+(\.[A-Za-z0-9_@$-]+)*")
CHANGE_FIELD_RE = re.compile(r"[^\x00-\x1f]{1,200}")
MATCH_CHOICES = ("all", "any")
CONDITION_FIELDS = frozenset({"event_type", "action", "match", "filters", "expression"})
FILTER_FIELDS = frozenset({"key", "operator", "value"})

EventPredicate = Callable[[dict[str, Any]], bool]


class ConditionError(FieldErrors):
    """Problems with a conditions list: `errors` maps each bad node's path to a message."""


@dataclass(frozen=True, slots=True)
class Filter:
    key: str
    operator: str
    value: Any = None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"key": self.key, "operator": self.operator}
        if self.value is not None:
            data["value"] = self.value
        return data


@dataclass(frozen=True, slots=True)
class Condition:
    event_type: str
    action: str | None = None
    match: str = "all"
    filters: tuple[Filter, ...] = ()
    expression: str | None = None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"event_type": self.event_type}
        if self.action:
            data["action"] = self.action
        if self.expression is not None:
            data["expression"] = self.expression
        else:
            data["match"] = self.match
            data["filters"] = [f.as_dict() for f in self.filters]
        return data


# -- parsing --------------------------------------------------------------------------


def conditions_parse(data: Any, *, event_types: Iterable[str] | None = None) -> list[Condition]:
    """Parse and validate a conditions list. `event_types`, when given, is the catalog to check against."""
    errors: dict[str, str] = {}
    catalog = set(event_types) if event_types is not None else None
    if not isinstance(data, list):
        raise ConditionError({"conditions": "Must be a list of conditions."})
    if not data:
        raise ConditionError({"conditions": "Select at least one event."})
    if len(data) > MAX_CONDITIONS:
        raise ConditionError({"conditions": f"At most {MAX_CONDITIONS} conditions."})
    parsed = []
    for index, item in enumerate(data):
        condition = _condition_parse(item, f"conditions[{index}]", catalog, errors)
        if condition is not None:
            parsed.append(condition)
    if errors:
        raise ConditionError(errors)
    return parsed


def _condition_parse(item: Any, where: str, catalog: set[str] | None, errors: dict[str, str]) -> Condition | None:
    if not isinstance(item, dict):
        errors[where] = "Must be an object with an event_type."
        return None
    for unknown in sorted(set(item) - CONDITION_FIELDS):
        errors[f"{where}.{unknown}"] = "Unknown field."
    event_type = item.get("event_type")
    if not isinstance(event_type, str) or not event_type:
        errors[f"{where}.event_type"] = "This field is required."
        event_type = ""
    elif catalog is not None and event_type not in catalog:
        errors[f"{where}.event_type"] = f"Unknown event type {event_type!r}."

    action = item.get("action")
    if action is not None:
        if event_type != ASSOCIATION_EVENT_TYPE:
            errors[f"{where}.action"] = f"Actions exist only for {ASSOCIATION_EVENT_TYPE}."
        elif action not in ASSOCIATION_ACTIONS_BY_SLUG:
            errors[f"{where}.action"] = f"Unknown association action {action!r}."

    match = item.get("match", "all")
    if match not in MATCH_CHOICES:
        errors[f"{where}.match"] = "Must be 'all' or 'any'."

    has_filters = item.get("filters") not in (None, [])
    expression = item.get("expression")
    if has_filters and expression not in (None, ""):
        errors[where] = "Use filters or an expression, not both."
        return None

    filters: list[Filter] = []
    if has_filters:
        raw_filters = item["filters"]
        if not isinstance(raw_filters, list):
            errors[f"{where}.filters"] = "Must be a list of filters."
        elif len(raw_filters) > MAX_FILTERS:
            errors[f"{where}.filters"] = f"At most {MAX_FILTERS} filters per event; got {len(raw_filters)}."
        else:
            for index, raw in enumerate(raw_filters):
                parsed = _filter_parse(raw, f"{where}.filters[{index}]", errors)
                if parsed is not None:
                    filters.append(parsed)

    if expression not in (None, ""):
        if not isinstance(expression, str):
            errors[f"{where}.expression"] = "Must be a string."
            expression = None
        elif len(expression) > MAX_EXPRESSION_LENGTH:
            errors[f"{where}.expression"] = f"At most {MAX_EXPRESSION_LENGTH} characters; got {len(expression)}."
        else:
            from rules.expression import ExpressionError, expression_compile

            try:
                expression_compile(expression)
            except ExpressionError as exc:
                errors[f"{where}.expression"] = str(exc)
    else:
        expression = None

    return Condition(
        event_type=event_type,
        action=action if isinstance(action, str) else None,
        match=match if match in MATCH_CHOICES else "all",
        filters=tuple(filters),
        expression=expression,
    )


def _filter_parse(raw: Any, where: str, errors: dict[str, str]) -> Filter | None:
    if not isinstance(raw, dict):
        errors[where] = "Must be an object with key, operator and value."
        return None
    for unknown in sorted(set(raw) - FILTER_FIELDS):
        errors[f"{where}.{unknown}"] = "Unknown field."
    key, operator_key, value = raw.get("key"), raw.get("operator"), raw.get("value")
    ok = True
    if operator_key not in operators:
        known = ", ".join(operators.keys())
        errors[f"{where}.operator"] = (
            "This field is required."
            if operator_key is None
            else f"Unknown operator {operator_key!r}; use one of {known}."
        )
        ok = False
    if not isinstance(key, str) or not key:
        errors[f"{where}.key"] = "This field is required."
        return None
    on_changes = ok and operators.get(operator_key).on_changes
    if not (CHANGE_FIELD_RE if on_changes else KEY_RE).fullmatch(key):
        errors[f"{where}.key"] = f"Not a valid key: {key[:100]!r}. Use a dotted path such as initiated_by.email."
        ok = False
    if ok:
        try:
            operators.get(operator_key).validate(value)
        except OperatorValueError as exc:
            errors[f"{where}.value"] = str(exc)
            ok = False
    return Filter(key=key, operator=operator_key, value=value) if ok else None


# -- compiling ------------------------------------------------------------------------


def filter_compile(flt: Filter) -> EventPredicate:
    operator = operators.get(flt.operator)
    predicate = operator.build(flt.value)
    negated = operator.negated
    if operator.on_changes:
        field = flt.key

        def candidates(event: dict[str, Any]) -> list[Any]:
            return change_entries(event, field)
    else:
        candidates = values_reader(path_parse(flt.key))

    if negated:

        def holds_for_none(event: dict[str, Any]) -> bool:
            for value in candidates(event):
                if predicate(value):
                    return False
            return True

        return holds_for_none

    def holds_for_some(event: dict[str, Any]) -> bool:
        for value in candidates(event):
            if predicate(value):
                return True
        return False

    return holds_for_some


def condition_compile(condition: Condition) -> EventPredicate:
    """A closure that decides whether an event of the condition's type matches it."""
    parts: list[EventPredicate] = []
    if condition.action:
        action = ASSOCIATION_ACTIONS_BY_SLUG[condition.action]
        parts.append(lambda event: association_action_matches(action, event))
    if condition.expression is not None:
        from rules.expression import expression_compile

        parts.append(expression_compile(condition.expression))
    elif condition.filters:
        compiled = [filter_compile(flt) for flt in condition.filters]
        if condition.match == "any":
            parts.append(lambda event: any(check(event) for check in compiled))
        elif len(compiled) == 1:
            parts.append(compiled[0])
        elif len(compiled) == 2:
            first, second = compiled
            parts.append(lambda event: first(event) and second(event))
        else:
            parts.append(lambda event: all(check(event) for check in compiled))
    if not parts:
        return lambda event: True
    if len(parts) == 1:
        return parts[0]
    return lambda event: all(part(event) for part in parts)


def condition_explain(condition: Condition, event: dict[str, Any]) -> dict[str, Any]:
    """Why an event matched a condition or not: the type, the action, each filter and any expression.

    `filters` is always a list. An expression the engine reads as plain filters (a flat chain
    of filter twins, see `rules.expression.expression_to_filters`) lists those filters'
    outcomes, and decides as the engine does; any other expression lists none. The
    expression's own outcome is under `expression`.
    """
    type_matches = event.get("event_type") == condition.event_type
    result: dict[str, Any] = {"event_type": condition.event_type, "type_matched": type_matches}
    matched = type_matches
    if condition.action:
        action_matched = association_action_matches(ASSOCIATION_ACTIONS_BY_SLUG[condition.action], event)
        result["action"] = {"slug": condition.action, "matched": action_matched}
        matched = matched and action_matched
    match: str | None = condition.match
    filters: tuple[Filter, ...] | None = condition.filters
    if condition.expression is not None:
        from rules.expression import ExpressionError, expression_compile, expression_to_filters

        expression_matched = bool(expression_compile(condition.expression)(event))
        result["expression"] = {"source": condition.expression, "matched": expression_matched}
        try:
            match, as_filters = expression_to_filters(condition.expression)
            filters = tuple(Filter(f["key"], f["operator"], f.get("value")) for f in as_filters)
        except ExpressionError:
            match, filters = None, None
            matched = matched and expression_matched
    outcomes = [
        {"key": flt.key, "operator": flt.operator, "value": flt.value, "matched": filter_compile(flt)(event)}
        for flt in filters or ()
    ]
    if match is not None:
        result["match"] = match
        if outcomes:
            combine = any if match == "any" else all
            matched = matched and combine(outcome["matched"] for outcome in outcomes)
    result["filters"] = outcomes
    result["matched"] = matched
    return result

"""Maintenance windows (api.md 10): create, change, delete; and what evaluation asks of them.

Writes validate the whole window (a PATCH merges first), and are recorded in the event log as
`maintenance_window_create|update|delete`, like rule changes. Whether scope rule ids name
existing rules is the caller's check (`rules_known`): alerts never reads rules.

Evaluation (alerts.services.raising) loads the windows that may cover a batch with one query
(`maintenance_calendar`), decides every match in memory (alerts.maintenance) and adds what was
muted to the windows' counters with one UPDATE (`maintenance_counts_add`). Reminders ask
`maintenance_quiet_now` for the alerts a window open now covers.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Case, F, IntegerField, Q, Value, When
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from alerts.maintenance import (
    MUTES,
    MaintenanceInputError,
    WindowCalendar,
    calendar_for,
    compiled,
    recurrence_normalize,
    windows_active,
    zone_parse,
)
from alerts.models import MaintenanceWindow
from alertsite import stamps
from alertsite.errors import FieldErrors
from alertsite.priority import Priority
from alertsite.sqlread import instances
from alertsite.stamps import StampedCache
from events.models import EventType
from events.services import AUDIT_SERVICE, actor_reference, audit_event_record

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from alerts.maintenance import WindowSpec

# Given scope rule ids, answers those that name existing rules (rules.selectors.rule_ids_existing).
RulesKnown = Callable[[Collection[int]], Collection[int]]

MAX_NAME_LENGTH = 100
MAX_REASON_LENGTH = 500
MAX_SCOPE_ITEMS = 1000
SCOPE_KEYS = ("rules", "priorities", "event_types")
WINDOW_FIELDS = ("name", "reason", "starts_at", "ends_at", "timezone", "recurrence", "scope", "mute")


def window_body(window: MaintenanceWindow) -> dict[str, Any]:
    """The window's writable fields as the API shows them (PATCH merges into this)."""
    return {
        "name": window.name,
        "reason": window.reason,
        "starts_at": window.starts_at,
        "ends_at": window.ends_at,
        "timezone": window.timezone,
        "recurrence": window.recurrence or None,
        "scope": {
            "rules": list(window.scope_rules),
            "priorities": list(window.scope_priorities),
            "event_types": list(window.scope_event_types),
        },
        "mute": window.mute,
    }


def window_validate(data: Any, *, rules_known: RulesKnown | None) -> dict[str, Any]:
    """The model's values from an API body, or FieldErrors naming every bad field."""
    if not isinstance(data, Mapping):
        raise FieldErrors({"non_field_errors": "Send a JSON object."})
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}

    def check(field: str, read: Callable[[], Any]) -> None:
        try:
            values[field] = read()
        except MaintenanceInputError as exc:
            errors[exc.field] = exc.message

    unknown = sorted(set(data) - set(WINDOW_FIELDS) - {"id"})
    if unknown:
        errors[unknown[0]] = f"Unknown field; a window has {', '.join(WINDOW_FIELDS)}."
    check("name", lambda: _text(data.get("name"), "name", MAX_NAME_LENGTH, required=True))
    check("reason", lambda: _text(data.get("reason"), "reason", MAX_REASON_LENGTH, required=False))
    check("starts_at", lambda: _moment(data.get("starts_at"), "starts_at"))
    check("ends_at", lambda: _moment(data.get("ends_at"), "ends_at"))
    check("timezone", lambda: zone_parse(data.get("timezone") or "UTC").key)
    check("recurrence", lambda: recurrence_normalize(data.get("recurrence")))
    check("mute", lambda: _mute(data.get("mute", MaintenanceWindow.Mute.NOTIFICATIONS)))
    scope = _scope(data.get("scope"), errors, rules_known)
    if scope is not None:
        values["scope_rules"], values["scope_priorities"], values["scope_event_types"] = scope
    starts, ends = values.get("starts_at"), values.get("ends_at")
    if starts is not None and ends is not None and ends <= starts:
        errors["ends_at"] = "Must be after starts_at."
    timing = ("starts_at", "ends_at", "timezone", "recurrence")
    if all(key in values and key not in errors for key in timing) and values["recurrence"]:
        try:
            compiled(_spec({key: values[key] for key in timing}))
        except MaintenanceInputError as exc:
            errors[exc.field] = exc.message
    if errors:
        raise FieldErrors(errors)
    return values


def _text(raw: Any, field: str, limit: int, *, required: bool) -> str:
    if raw is None:
        raw = ""
    if not isinstance(raw, str):
        raise MaintenanceInputError(field, "Must be text.")
    text = raw.strip()
    if required and not text:
        raise MaintenanceInputError(field, "Required.")
    if len(text) > limit:
        raise MaintenanceInputError(field, f"At most {limit} characters.")
    return text


def _moment(raw: Any, field: str) -> datetime:
    if isinstance(raw, datetime):
        parsed: datetime | None = raw
    elif isinstance(raw, str) and raw.strip():
        try:
            parsed = parse_datetime(raw.strip())
        except ValueError:
            parsed = None
    elif raw is None or raw == "":
        raise MaintenanceInputError(field, "Required: an RFC 3339 date-time with a time zone.")
    else:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise MaintenanceInputError(field, "Must be an RFC 3339 date-time with a time zone.")
    return parsed


def _mute(raw: Any) -> str:
    if raw not in MUTES:
        raise MaintenanceInputError("mute", f'Must be "notifications" or "alerts", not {raw!r}.')
    return str(raw)


def _scope(
    raw: Any, errors: dict[str, str], rules_known: RulesKnown | None
) -> tuple[list[int], list[str], list[str]] | None:
    if raw is None:
        return [], [], []
    if not isinstance(raw, Mapping):
        errors["scope"] = 'Must be an object: {"rules": [ids], "priorities": [...], "event_types": [...]}.'
        return None
    extra = sorted(set(raw) - set(SCOPE_KEYS))
    if extra:
        errors[f"scope.{extra[0]}"] = f"Unknown scope; use {', '.join(SCOPE_KEYS)}."
        return None
    lists: dict[str, list[Any]] = {}
    for key in SCOPE_KEYS:
        items = raw.get(key) or []
        if not isinstance(items, list) or len(items) > MAX_SCOPE_ITEMS:
            errors[f"scope.{key}"] = f"Must be a list (at most {MAX_SCOPE_ITEMS} items); empty means all."
            return None
        lists[key] = list(dict.fromkeys(items))
    rule_ids = lists["rules"]
    if any(not isinstance(pk, int) or isinstance(pk, bool) or pk < 1 for pk in rule_ids):
        errors["scope.rules"] = "Must be rule ids (whole numbers)."
    elif rule_ids and rules_known is not None:
        missing = sorted(set(rule_ids) - set(rules_known(rule_ids)))
        if missing:
            errors["scope.rules"] = f"No rule with id {', '.join(str(pk) for pk in missing)}."
    bad = [p for p in lists["priorities"] if p not in Priority.values]
    if bad:
        errors["scope.priorities"] = f"Unknown priority {bad[0]!r}; use {', '.join(Priority.values)}."
    types = lists["event_types"]
    if any(not isinstance(name, str) for name in types):
        errors["scope.event_types"] = "Must be event type names."
    elif types:
        known = set(EventType.objects.filter(name__in=types).values_list("name", flat=True))
        missing_types = [name for name in types if name not in known]
        if missing_types:
            errors["scope.event_types"] = f"Unknown event type {', '.join(missing_types)}."
    return rule_ids, lists["priorities"], types


def _spec(values: Mapping[str, Any], pk: int = 0) -> WindowSpec:
    return MaintenanceWindow(pk=pk or None, **values).spec()


def window_spec_from_body(data: Any, *, rules_known: RulesKnown | None) -> WindowSpec:
    """A window body (checked) as a spec, without saving it: for the preview."""
    return _spec(window_validate(data, rules_known=rules_known))


def _user(actor: User | None) -> User | None:
    return actor if actor is not None and getattr(actor, "is_authenticated", False) else None


def _resource(window: MaintenanceWindow) -> dict[str, Any]:
    return {"type": "maintenance_window", "id": str(window.pk), "name": window.name}


def _shown(body: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value.isoformat() if isinstance(value, datetime) else value for key, value in body.items()}


def window_create(*, data: Any, actor: User | None, rules_known: RulesKnown | None) -> MaintenanceWindow:
    values = window_validate(data, rules_known=rules_known)
    with transaction.atomic():
        now = timezone.now()
        window = MaintenanceWindow.objects.create(**values, created_by=_user(actor), created_at=now, updated_at=now)
        after = _shown(window_body(window))
        audit_event_record(
            event_type="maintenance_window_create",
            service=AUDIT_SERVICE,
            initiated_by=actor_reference(actor),
            resource=_resource(window),
            changes=[{"field": key, "from": None, "to": value} for key, value in after.items()],
        )
    return window


def window_update(
    *, window: MaintenanceWindow, data: Any, actor: User | None, rules_known: RulesKnown | None
) -> MaintenanceWindow:
    """Change the given fields (a PATCH): the merged window is validated as a whole."""
    if not isinstance(data, Mapping):
        raise FieldErrors({"non_field_errors": "Send a JSON object."})
    with transaction.atomic():
        window = MaintenanceWindow.objects.select_for_update().get(pk=window.pk)
        before = window_body(window)
        merged = {**before, **data}
        if isinstance(data.get("scope"), Mapping):
            merged["scope"] = {**before["scope"], **data["scope"]}
        values = window_validate(merged, rules_known=rules_known)
        for key, value in values.items():
            setattr(window, key, value)
        changes = [
            {"field": key, "from": old, "to": new}
            for key, old in _shown(before).items()
            if old != (new := _shown(window_body(window))[key])
        ]
        if not changes:
            return window
        window.updated_at = timezone.now()
        window.save()
        audit_event_record(
            event_type="maintenance_window_update",
            service=AUDIT_SERVICE,
            initiated_by=actor_reference(actor),
            resource=_resource(window),
            changes=changes,
        )
    return window


def window_delete(*, window: MaintenanceWindow, actor: User | None) -> None:
    """Delete the window; alerts it suppressed keep their history but no longer name it."""
    with transaction.atomic():
        resource = _resource(window)
        window.delete()
        audit_event_record(
            event_type="maintenance_window_delete",
            service=AUDIT_SERVICE,
            initiated_by=actor_reference(actor),
            resource=resource,
        )


WINDOW_COLUMNS = (
    "id",
    "name",
    "starts_at",
    "ends_at",
    "timezone",
    "recurrence",
    "scope_rules",
    "scope_priorities",
    "scope_event_types",
    "mute",
)
# Read by every alerting batch: plain SQL written once (the ORM compiled it anew each time,
# about a tenth of a worker's CPU when every event alerts and no window exists at all).
POSSIBLE_SQL = (
    f"SELECT {', '.join(WINDOW_COLUMNS)} FROM {MaintenanceWindow._meta.db_table} "
    "WHERE starts_at <= %s AND (recurrence <> '' OR ends_at > %s)"
)


# Inside an evaluation batch (alertsite.stamps pinned): whether any window exists, kept under the
# maintenance stamp, so the batches of a deployment without windows read nothing at all.
_any_kept: StampedCache[bool] = StampedCache(stamps.MAINTENANCE)


def windows_possible(start: datetime, end: datetime) -> list[WindowSpec]:
    """The windows that may have an occurrence in [start, end]: one query (recurring ones all load)."""
    if not _windows_exist():
        return []
    rows = instances(MaintenanceWindow, POSSIBLE_SQL, [end, start])
    specs = []
    for row in rows:
        try:
            spec = row.spec()
            compiled(spec)
        except MaintenanceInputError:
            continue  # written around validation (raw SQL, say): mutes nothing rather than failing the batch
        specs.append(spec)
    return specs


def _windows_exist() -> bool:
    """Whether the table holds any window: kept for the batch's stamp, else assumed (and read as usual)."""
    kept = _any_kept.get()
    if kept is None and stamps.pinned_stamp(stamps.MAINTENANCE) is not None:
        kept = MaintenanceWindow.objects.exists()
        _any_kept.put(kept)
    return kept is not False


def maintenance_calendar(start: datetime, end: datetime) -> WindowCalendar:
    """The windows' occurrences over a batch's event timestamps, for in-memory decisions."""
    return calendar_for(windows_possible(start, end), start, end)


def maintenance_counts_add(counts: Mapping[int, tuple[int, int]]) -> None:
    """Add (alerts, notifications) muted per window id: one UPDATE for the batch."""
    counts = {pk: pair for pk, pair in counts.items() if pair[0] or pair[1]}
    if not counts:
        return

    def per_window(index: int) -> Case:
        whens = [When(pk=pk, then=Value(pair[index])) for pk, pair in sorted(counts.items()) if pair[index]]
        return Case(*whens, default=Value(0), output_field=IntegerField())

    MaintenanceWindow.objects.filter(pk__in=sorted(counts)).update(
        muted_alerts=F("muted_alerts") + per_window(0),
        muted_notifications=F("muted_notifications") + per_window(1),
    )


def _scope_q(spec: WindowSpec) -> Q:
    condition = Q(pk__isnull=False)
    if spec.rule_ids:
        condition &= Q(rule_id__in=spec.rule_ids)
    if spec.priorities:
        condition &= Q(priority__in=spec.priorities)
    if spec.event_types:
        condition &= Q(event_type__in=spec.event_types)
    return condition


def maintenance_quiet_now(now: datetime) -> Q | None:
    """Alerts that a window open at `now` covers (any mute), or None when no window is open."""
    active = windows_active(windows_possible(now, now), now)
    if not active:
        return None
    quiet = Q()
    for spec in active:
        quiet |= _scope_q(spec)
    return quiet


def window_open_now(window_id: int, now: datetime | None = None) -> bool:
    """Whether this window has an occurrence open now (one query)."""
    window = MaintenanceWindow.objects.filter(pk=window_id).first()
    return window is not None and bool(windows_active([window.spec()], now or timezone.now()))

"""What an alert is about: its category and its subject (user or device), read off the event.

Plain functions of the event payload, used when an alert opens and by the 0004 data migration
that fills existing alerts (which fetches only SUBJECT_KEYS of each event).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from alerts.models import AlertCategory, AlertSourceType

# DI `service` value -> category (spec 10.1 lists the services; `alert` is the query spelling).
SERVICE_CATEGORIES: dict[str, AlertCategory] = {
    "directory": AlertCategory.DIRECTORY,
    "sso": AlertCategory.SSO,
    "radius": AlertCategory.RADIUS,
    "ldap": AlertCategory.LDAP,
    "systems": AlertCategory.DEVICES,
    "mdm": AlertCategory.MDM,
    "password_manager": AlertCategory.PASSWORD_MANAGER,
    "software": AlertCategory.SOFTWARE,
    "object_storage": AlertCategory.OBJECT_STORAGE,
    "saas_app_management": AlertCategory.SAAS_MANAGEMENT,
    "saas_management": AlertCategory.SAAS_MANAGEMENT,
    "access_management": AlertCategory.ACCESS_MANAGEMENT,
    "alerts": AlertCategory.ALERTS,
    "alert": AlertCategory.ALERTS,
}
# `initiated_by.type` / `resource.type` values naming a person or a device (spec 10.1).
USER_TYPES = frozenset({"user", "admin", "systemuser"})
DEVICE_TYPES = frozenset({"system", "device"})
# The top-level event keys the two functions below read (a data migration fetches only these).
SUBJECT_KEYS = ("service", "resource", "initiated_by", "system", "mdm_device_id")


def alert_category_for(payload: Mapping[str, Any] | None) -> str:
    """The category of an alert raised by this event: its service mapped, `other` when unknown or missing."""
    service = payload.get("service") if isinstance(payload, Mapping) else None
    if not isinstance(service, str):
        return AlertCategory.OTHER.value
    return str(SERVICE_CATEGORIES.get(service.strip().lower(), AlertCategory.OTHER.value))


def alert_source_for(payload: Mapping[str, Any] | None) -> tuple[str, str]:
    """`(source_type, source_id)`: the user or device the event is about; `("", "")` when it names neither.

    In order: an alert event's own source (rules on alert_* events keep the subject); a
    user or device `resource` (the affected object, as in the vendor's alert_created
    sample); the device context (`system.id`, `mdm_device_id`); a user or device
    `initiated_by`. alertsite's own `system` initiator (service `alerts`) is not a device.
    """
    if not isinstance(payload, Mapping):
        return "", ""
    resource = _mapping(payload.get("resource"))
    initiated = _mapping(payload.get("initiated_by"))
    if resource.get("source_type") in AlertSourceType.values and _text(resource.get("source_id")):
        return resource["source_type"], _text(resource["source_id"])
    found = _user_or_device(resource)
    if found:
        return found
    device = _text(_mapping(payload.get("system")).get("id")) or _text(payload.get("mdm_device_id"))
    if device:
        return AlertSourceType.DEVICE.value, device
    ours = _text(payload.get("service")).lower() in ("alerts", "alert")
    found = _user_or_device(initiated)
    if found and not (ours and found[0] == AlertSourceType.DEVICE):
        return found
    return "", ""


def _user_or_device(who: Mapping[str, Any]) -> tuple[str, str] | None:
    kind, ident = _text(who.get("type")).lower(), _ident(who)
    if ident and kind in DEVICE_TYPES:
        return AlertSourceType.DEVICE.value, ident
    if ident and kind in USER_TYPES:
        return AlertSourceType.USER.value, ident
    return None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return ""
    return str(value).strip()[:255] if isinstance(value, str | int) else ""


def _ident(who: Mapping[str, Any]) -> str:
    """An object's id, else its username or e-mail (RADIUS and LDAP initiators carry only a username)."""
    for key in ("id", "username", "email"):
        if _text(who.get(key)):
            return _text(who.get(key))
    return ""


# The top-level event keys `alert_source_name_for` reads (the list page fetches only these).
NAME_KEYS = ("resource", "initiated_by", "system")
# A person's or a device's readable name, best first.
USER_NAME_KEYS = ("email", "username", "displayName", "name")
DEVICE_NAME_KEYS = ("hostname", "displayName", "displayname", "name")


def alert_source_name_for(payload: Mapping[str, Any] | None, source_type: str, source_id: str) -> str:
    """What people call the alert's subject: the e-mail or username of a user, the hostname of a
    device, read off the same object of the event that `alert_source_for` took the id from.

    Falls back to `source_id` (an id is still better than nothing) when the event names no more.
    """
    if not source_id:
        return ""
    if not isinstance(payload, Mapping):
        return source_id
    keys = DEVICE_NAME_KEYS if source_type == AlertSourceType.DEVICE else USER_NAME_KEYS
    for key in NAME_KEYS:
        who = _mapping(payload.get(key))
        if source_id not in (_text(who.get("id")), _text(who.get("source_id")), _ident(who)):
            continue
        for name_key in keys:
            name = _text(who.get(name_key))
            if name:
                return name
    return source_id

"""Alerts, the events that joined them, their status history and notes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q

from alerts.states import AlertStatus
from alertsite.ids import id_or_none

REFERENCE_PREFIX = "ALR-"


class AlertCategory(models.TextChoices):
    """The vendor's alert categories: the Directory Insights service of the triggering event."""

    DIRECTORY = "directory", "Directory"
    SSO = "sso", "SSO"
    RADIUS = "radius", "RADIUS"
    LDAP = "ldap", "LDAP"
    DEVICES = "devices", "Devices"
    MDM = "mdm", "MDM"
    PASSWORD_MANAGER = "password_manager", "Password Manager"
    SOFTWARE = "software", "Software"
    OBJECT_STORAGE = "object_storage", "Object Storage"
    SAAS_MANAGEMENT = "saas_management", "SaaS Management"
    ACCESS_MANAGEMENT = "access_management", "Access Management"
    ALERTS = "alerts", "Alerts"
    OTHER = "other", "Other"


class AlertSourceType(models.TextChoices):
    """What an alert is about (spec 5.1 `source_type`)."""

    USER = "user", "User"
    DEVICE = "device", "Device"


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


class Alert(models.Model):
    """An alert raised by a rule. Status changes only through alerts.services.alert_transition."""

    rule = models.ForeignKey("rules.Rule", null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts")
    rule_name = models.CharField(max_length=100, help_text="The rule's name when the alert was raised.")
    priority = models.CharField(max_length=10, choices=[("low", "Low"), ("medium", "Medium"), ("high", "High")])
    status = models.CharField(max_length=12, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    title = models.CharField(max_length=300)
    category = models.CharField(max_length=32, choices=AlertCategory.choices, blank=True, default="")
    source_type = models.CharField(max_length=10, choices=AlertSourceType.choices, blank=True, default="")
    source_id = models.CharField(max_length=255, blank=True, default="")
    event = models.ForeignKey(
        "events.AuditEvent", null=True, blank=True, on_delete=models.SET_NULL, related_name="triggered_alerts"
    )
    event_type = models.CharField(max_length=100)
    event_count = models.PositiveIntegerField(default=1)
    group_key = models.CharField(max_length=40, blank=True, default="")
    # True while new matches of the same group key may join this alert (grouping, thresholds).
    collecting = models.BooleanField(default=False)
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    created_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="assigned_alerts"
    )
    seconds_to_acknowledge = models.PositiveIntegerField(null=True, blank=True)
    seconds_to_resolve = models.PositiveIntegerField(null=True, blank=True)
    causal_depth = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "group_key"],
                condition=Q(collecting=True) & Q(status__in=["open", "acknowledged"]) & ~Q(group_key=""),
                name="alert_one_collecting_per_group",
            )
        ]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="alert_newest_idx"),
            models.Index(fields=["status", "-created_at", "-id"], name="alert_status_newest_idx"),
            models.Index(fields=["status", "priority"], name="alert_status_priority_idx"),
            models.Index(fields=["rule", "status"], name="alert_rule_status_idx"),
            models.Index(fields=["assignee", "status"], name="alert_assignee_status_idx"),
            models.Index(fields=["resolved_at"], name="alert_resolved_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    @property
    def reference(self) -> str:
        return reference_for(self.pk)


def reference_for(pk: int | None) -> str:
    return f"{REFERENCE_PREFIX}{pk or 0:06d}"


def reference_parse(text: str) -> int | None:
    """`ALR-000123` (any case, zero padding optional) -> 123; None when it isn't a reference."""
    text = text.strip().upper()
    return id_or_none(text[len(REFERENCE_PREFIX) :]) if text.startswith(REFERENCE_PREFIX) else None


class AlertEvent(models.Model):
    """An event that raised or joined an alert (grouping): a relation, not a copied list."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="alert_events")
    event = models.ForeignKey("events.AuditEvent", on_delete=models.CASCADE, related_name="alert_links")
    event_timestamp = models.DateTimeField()
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["alert", "event"], name="alert_event_once")]
        indexes = [models.Index(fields=["alert", "-event_timestamp"], name="alert_event_time_idx")]

    def __str__(self) -> str:
        return f"{self.alert_id}:{self.event_id}"


class AlertTransition(models.Model):
    """One status change: from, to, who, when, and the remark given with it."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="transitions")
    from_status = models.CharField(max_length=12, choices=AlertStatus.choices)
    to_status = models.CharField(max_length=12, choices=AlertStatus.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    note = models.TextField(blank=True, default="")
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["alert", "at"], name="alert_transition_idx")]

    def __str__(self) -> str:
        return f"{self.alert_id}: {self.from_status} -> {self.to_status}"


class AlertNote(models.Model):
    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    text = models.TextField(max_length=4000)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["alert", "created_at"], name="alert_note_idx")]

    def __str__(self) -> str:
        return f"{self.alert_id}: {self.text[:40]}"

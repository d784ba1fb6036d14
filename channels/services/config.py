"""Channel configuration: validate, create, update and delete channels, each recorded in the event log.

Every check of a kind's config is its transport's (`config_clean`); secrets are sealed before
they are stored and shown as *** everywhere else, audit events included.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import transaction

from alertsite.crypto import MASK
from alertsite.errors import FieldErrors
from alertsite.naming import unique_name_check
from channels.hooks import channel_users
from channels.models import Channel
from channels.templating import template_clean
from channels.transports import ConfigError, transports
from events.services import AUDIT_SERVICE, actor_reference, audit_event_record

if TYPE_CHECKING:
    from django.contrib.auth.models import User

MAX_NAME = 100


class ChannelValidationError(FieldErrors):
    """Problems with a channel: path of each bad field -> message."""


def channel_validate(data: dict[str, Any], *, instance: Channel | None = None) -> dict[str, Any]:
    """Check name, kind, enabled and the kind's config; return values ready to store (secrets sealed)."""
    errors: dict[str, str] = {}
    for unknown in sorted(set(data) - {"kind", "name", "enabled", "config"}):
        errors[unknown] = "Unknown field."
    kind = data.get("kind", instance.kind if instance else None)
    if instance is not None and kind != instance.kind:
        errors["kind"] = "The kind of a channel cannot change; create a new channel."
    elif kind not in transports:
        errors["kind"] = f"Must be one of {', '.join(transports.keys())}."
    name, name_error = unique_name_check(
        Channel,
        data.get("name", instance.name if instance else None),
        instance=instance,
        noun="channel",
        max_length=MAX_NAME,
    )
    if name_error:
        errors["name"] = name_error
    enabled = data.get("enabled", instance.enabled if instance else True)
    if not isinstance(enabled, bool):
        errors["enabled"] = "Must be true or false."
    config: dict[str, Any] = {}
    if instance is not None and "config" not in data:
        # Unchanged config is not re-checked: a channel whose host has since become forbidden
        # (ALERTSITE_WEBHOOK_ALLOW_PRIVATE switched off, say) can still be renamed or disabled.
        config = instance.config
    elif kind in transports and "kind" not in errors:
        raw = data.get("config")
        transport = transports.get(str(kind))
        template: Any = None
        if isinstance(raw, dict) and "template" in raw:  # every kind's template is checked here, the same way
            raw = dict(raw)
            template = raw.pop("template")
        try:
            config = transport.config_clean(raw, instance.config if instance else None)
        except ConfigError as exc:
            errors.update(exc.errors)
        stored_template, template_errors = template_clean(transport.template_fields, template)
        errors.update(template_errors)
        if stored_template:
            config["template"] = stored_template
    if errors:
        raise ChannelValidationError(errors)
    return {"kind": kind, "name": name, "enabled": enabled, "config": config}


def channel_public(channel: Channel) -> dict[str, Any]:
    transport = transports.get(channel.kind)
    public = transport.config_public(channel.config)
    if channel.config.get("template"):  # shown only when set: without one the kind's own wording applies
        public["template"] = dict(channel.config["template"])
    return public


def _audit_resource(channel: Channel) -> dict[str, Any]:
    return {"type": f"{channel.kind}_channel", "id": str(channel.pk), "name": channel.name}


def _masked_changes(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """Changed fields, with every secret shown as *** (never written to logs or audit events)."""
    changes = []
    for field in ("name", "enabled", "config"):
        if before.get(field) != after.get(field):
            changes.append({"field": field, "from": _mask(before.get(field)), "to": _mask(after.get(field))})
    return changes


def _mask(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _mask(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_mask(item) for item in value]
    return "***" if value == MASK else value


def channel_create(*, data: dict[str, Any], actor: User | None) -> Channel:
    values = channel_validate(data)
    with transaction.atomic():
        channel = Channel.objects.create(**values)
        audit_event_record(
            event_type="notification_channel_create",
            service=AUDIT_SERVICE,
            initiated_by=actor_reference(actor),
            resource=_audit_resource(channel),
            changes=_masked_changes(
                {}, {"name": channel.name, "enabled": channel.enabled, "config": channel_public(channel)}
            ),
        )
    return channel


def channel_update(*, channel: Channel, data: dict[str, Any], actor: User | None) -> Channel:
    with transaction.atomic():
        channel = Channel.objects.select_for_update().get(pk=channel.pk)
        before = {"name": channel.name, "enabled": channel.enabled, "config": channel_public(channel)}
        values = channel_validate(data, instance=channel)
        for field in ("name", "enabled", "config"):
            setattr(channel, field, values[field])
        channel.save(update_fields=["name", "enabled", "config", "updated_at"])
        after = {"name": channel.name, "enabled": channel.enabled, "config": channel_public(channel)}
        changes = _masked_changes(before, after)
        config_listed = "config" in {change["field"] for change in changes}
        if not config_listed and _secrets_sent(data.get("config")):
            # Secrets may have changed behind their masks: say so without showing them.
            changes.append({"field": "config", "from": "***", "to": "***"})
        if changes:
            audit_event_record(
                event_type="notification_channel_update",
                service=AUDIT_SERVICE,
                initiated_by=actor_reference(actor),
                resource=_audit_resource(channel),
                changes=changes,
            )
    return channel


def _secrets_sent(config: Any) -> bool:
    if not isinstance(config, dict):
        return False
    auth = config.get("auth") or {}
    values = [config.get("secret"), auth.get("password"), auth.get("token"), config.get("webhook_url")]
    values += [h.get("value") for h in config.get("headers") or [] if isinstance(h, dict) and h.get("sensitive")]
    values += [row.get("value") for row in config.get("url_secrets") or [] if isinstance(row, dict)]
    return any(isinstance(value, str) and value and value != MASK for value in values)


class ChannelInUse(Exception):
    def __init__(self, rule_names: list[str]) -> None:
        super().__init__(
            "The channel is used by rules: "
            + ", ".join(rule_names[:10])
            + ("…" if len(rule_names) > 10 else "")
            + ". Remove it from them first, or disable the channel."
        )
        self.rule_names = rule_names


def channel_delete(*, channel: Channel, actor: User | None) -> None:
    """Delete a channel no rule uses; refuse (ChannelInUse) otherwise, so no rule silently loses its channel."""
    with transaction.atomic():
        users = channel_users(channel_id=channel.pk)
        if users:
            raise ChannelInUse(users)
        resource = _audit_resource(channel)
        channel.delete()
        audit_event_record(
            event_type="notification_channel_delete",
            service=AUDIT_SERVICE,
            initiated_by=actor_reference(actor),
            resource=resource,
        )

"""Template previews: a channel body's message rendered for a real alert or a given event, never sent."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from django.utils import timezone

from alertsite.errors import FieldErrors
from channels.hooks import alert_notification
from channels.notification import Notification, sample_notification
from channels.templating import TemplateProblem, context_of, render_field, template_clean
from channels.transports import Outgoing, transports

MAX_ALERT_ID = 2**63 - 1


class PreviewError(FieldErrors):
    """What keeps a preview from rendering: path of each bad field -> message."""


def _notification(data: dict[str, Any], errors: dict[str, str]) -> Notification | None:
    """An existing alert's notification, or the sample alert carrying the given event."""
    if ("alert" in data) == ("event" in data):
        errors["alert"] = 'Give either "alert": <alert id> or "event": {...}.'
        return None
    if "alert" in data:
        alert_id = data["alert"]
        if isinstance(alert_id, bool) or not isinstance(alert_id, int) or not 0 < alert_id <= MAX_ALERT_ID:
            errors["alert"] = "Must be an alert id (a positive integer)."
            return None
        notification = alert_notification(alert_id=alert_id)
        if notification is None:
            errors["alert"] = f"There is no alert {alert_id}."
        return notification
    event = data["event"]
    if not isinstance(event, dict):
        errors["event"] = "Must be an event object, as ingested."
        return None
    return replace(sample_notification("alert.created"), event=event)


def channel_preview(data: dict[str, Any]) -> dict[str, Any]:
    """Render each template field of `data["kind"]` (the channel's own template where set, the
    built-in wording otherwise) for an alert or an event, without sending anything."""
    errors: dict[str, str] = {}
    kind = data.get("kind")
    if kind not in transports:
        errors["kind"] = f"Must be one of {', '.join(transports.keys())}."
    config = data.get("config") or {}
    if not isinstance(config, dict):
        errors["config"] = "Must be an object."
        config = {}
    notification = _notification(data, errors)
    if errors or notification is None:
        raise PreviewError(errors)
    transport = transports.get(str(kind))
    template, template_errors = template_clean(transport.template_fields, config.get("template"))
    if template_errors:
        raise PreviewError(template_errors)
    message = Outgoing(
        delivery_id=str(uuid.uuid4()),
        notification=notification,
        sent_at=timezone.now().isoformat().replace("+00:00", "Z"),
    )
    fields = transport.template_defaults(message)
    context = context_of(notification, delivery_id=message.delivery_id, sent_at=message.sent_at)
    for name, source in template.items():
        try:
            fields[name] = render_field(source, transport.template_fields[name], context)
        except TemplateProblem as exc:
            errors[f"config.template.{name}"] = str(exc)
    if errors:
        raise PreviewError(errors)
    return {"type": notification.kind, "fields": fields, "templated": sorted(template)}

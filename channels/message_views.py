"""The channel form's "Message" section: template fields read from and shown in the form, and
their live preview (an htmx fragment, POSTed the whole form, debounced by the page)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from alertsite.console import admins_only
from channels.notification import sample_notification
from channels.services import PreviewError, channel_preview
from channels.transports import transports


def template_from_post(post: Any, kind: str) -> dict[str, str]:
    """`config.template` from the form's `template_<field>` textareas (empty ones left out)."""
    if kind not in transports:
        return {}
    fields = transports.get(kind).template_fields
    return {name: post.get(f"template_{name}", "") for name in fields if post.get(f"template_{name}", "").strip()}


def template_rows(kind: str, config: dict[str, Any], errors: dict[str, str]) -> list[dict[str, str]]:
    """One textarea per template field the kind offers, with its value and error."""
    if kind not in transports:
        return []
    template = config.get("template") if isinstance(config.get("template"), dict) else {}
    return [
        {
            "name": name,
            "label": field.label or name.capitalize(),
            "output": field.output,
            "value": str(template.get(name) or ""),
            "error": errors.get(f"config.template.{name}", ""),
        }
        for name, field in transports.get(kind).template_fields.items()
    ]


@require_POST
@admins_only
def channel_template_preview(request: HttpRequest, kind: str) -> HttpResponse:
    """What the message would read, for alert `preview_alert` (an id) or the sample event."""
    body: dict[str, Any] = {"kind": kind, "config": {"template": template_from_post(request.POST, kind)}}
    alert = request.POST.get("preview_alert", "").strip()
    if alert:
        body["alert"] = int(alert) if alert.isdigit() else alert
    else:
        body["event"] = sample_notification().event
    context: dict[str, Any] = {"fields": {}, "errors": {}}
    try:
        result = channel_preview(body)
        context["fields"], context["templated"] = result["fields"], result["templated"]
    except PreviewError as exc:
        context["errors"] = exc.errors
    return render(request, "console/channels/partials/template_preview.html", context)

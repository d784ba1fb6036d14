"""Console pages for Settings > Notification Channels: lists with health, +Add/edit forms, Test, delivery log."""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from alertsite.accounts.selectors import users_with_roles
from alertsite.console import admins_only, readers_only
from alertsite.crypto import MASK
from channels.filters import DeliveryFilter
from channels.message_views import template_from_post, template_rows
from channels.models import Channel, ChannelKind, Delivery, DeliveryStatus
from channels.services import (
    ChannelInUse,
    ChannelValidationError,
    channel_create,
    channel_delete,
    channel_public,
    channel_resume,
    channel_test,
    channel_update,
    delivery_retry,
)
from channels.transports.email import MAX_RECIPIENTS, recipient_parts
from channels.transports.pagerduty_config import EVENTS_URL
from rules.selectors import channel_rule_count

TABS = {
    "email": ChannelKind.EMAIL,
    "webhooks": ChannelKind.WEBHOOK,
    "slack": ChannelKind.SLACK,
    "teams": ChannelKind.TEAMS,
}
TABS["pagerduty"] = ChannelKind.PAGERDUTY
CHAT_KINDS = (ChannelKind.SLACK, ChannelKind.TEAMS)  # one write-only incoming-webhook URL each
HEADER_ROWS = 5
URL_SECRET_ROWS = 10  # "Protect sensitive data in the URL": up to 10 rows (the script shows them one by one)
ROLES = [("admin", "Admins"), ("responder", "Responders"), ("viewer", "Viewers")]
RECIPIENT_ROWS = 5  # empty "Email Recipients" rows a new form offers without JavaScript
RECIPIENT_SPARE_ROWS = 3  # empty rows after the listed ones on an edit form
RECIPIENT_ROWS_MAX = 2 * MAX_RECIPIENTS  # rows read back at most (more than allowed, so 51 get an error)
ROLE_MEMBERS_SHOWN = 100  # users listed under a role; the rest are counted
DELIVERIES_SHOWN = 100  # the newest deliveries the log shows


@readers_only
def channel_list(request: HttpRequest) -> HttpResponse:
    tab = request.GET.get("tab", "email") if request.GET.get("tab") in TABS else "email"
    channels = Channel.objects.filter(kind=TABS[tab]).annotate(rule_count=channel_rule_count()).order_by("name")
    return render(request, "console/channels/list.html", {"nav": "channels", "tab": tab, "channels": channels})


def tab_for(kind: str) -> str:
    """The list tab a channel of this kind is shown on."""
    return next((tab for tab, tab_kind in TABS.items() if tab_kind == kind), "email")


def _row_count(post: Any, key: str, default: int) -> int:
    try:
        return max(0, min(int(post.get(key, default)), 50))
    except (TypeError, ValueError):
        return default


def form_data(request: HttpRequest, kind: str) -> dict[str, Any]:
    """The contract's channel body from the console form."""
    post = request.POST
    data: dict[str, Any] = {"name": post.get("name", ""), "enabled": post.get("enabled") == "on"}
    template = template_from_post(post, kind)
    if kind == ChannelKind.EMAIL:
        data["config"] = {"recipients": recipients_from_form(post), "roles": post.getlist("roles")}
        if template:
            data["config"]["template"] = template
        return data
    if kind == ChannelKind.PAGERDUTY:
        data["config"] = pagerduty_form_config(post)
        return data
    if kind in CHAT_KINDS:
        # Write-only: an empty field keeps the saved URL (the service refuses it when there is none).
        data["config"] = {"webhook_url": post.get("webhook_url", "").strip() or MASK}
        return data
    headers = []
    for index in range(_row_count(post, "header_rows", HEADER_ROWS)):
        name = post.get(f"header_name_{index}", "").strip()
        if name:
            headers.append(
                {
                    "name": name,
                    "value": post.get(f"header_value_{index}", ""),
                    "sensitive": post.get(f"header_sensitive_{index}") == "on",
                }
            )
    url_secrets = []
    for index in range(_row_count(post, "url_secret_rows", URL_SECRET_ROWS)):
        name = post.get(f"url_secret_name_{index}", "").strip()
        value = post.get(f"url_secret_value_{index}", "")
        if name or value not in ("", MASK):  # a row whose name was cleared is removed, its stored value too
            url_secrets.append({"name": name, "value": value})
    auth_type = post.get("auth_type", "none")
    auth: dict[str, Any] = {"type": auth_type}
    if auth_type == "basic":
        auth.update(username=post.get("auth_username", ""), password=post.get("auth_password", ""))
    elif auth_type == "bearer":
        auth["token"] = post.get("auth_token", "")
    data["config"] = {
        "url": post.get("url", "").strip(),
        "url_secrets": url_secrets,
        "verify_ssl": post.get("verify_ssl") == "on",
        "secret": post.get("secret", ""),
        "signature": post.get("signature", "alertsite"),
        "headers": headers,
        "auth": auth,
    }
    if template:
        data["config"]["template"] = template
    return data


def pagerduty_form_config(post: Any) -> dict[str, Any]:
    """The PagerDuty form's fields; a write-only field left empty (or masked) keeps the stored value."""
    return {
        "routing_key": post.get("routing_key", "").strip(),
        "events_url": post.get("events_url", "").strip(),
        "webhook_secret": post.get("webhook_secret", ""),
    }


def recipients_from_form(post: Any) -> list[Any]:
    """The "Email Recipients" rows: a row with a name is {"name", "email"}, one without a plain
    address, an empty one is dropped. A missing or bad `recipient_rows` reads every row there may be;
    the old one-address-a-line `recipients` field is still read (scripts that post it keep working)."""
    try:
        count = int(post.get("recipient_rows", ""))
    except (TypeError, ValueError):
        count = -1
    count = count if 0 <= count <= RECIPIENT_ROWS_MAX else RECIPIENT_ROWS_MAX
    recipients: list[Any] = []
    for index in range(count):
        name = post.get(f"recipient_name_{index}", "").strip()
        address = post.get(f"recipient_email_{index}", "").strip()
        if name:
            recipients.append({"name": name, "email": address})
        elif address:
            recipients.append(address)
    recipients += [line.strip() for line in post.get("recipients", "").splitlines() if line.strip()]
    return recipients


def recipient_rows(config: dict[str, Any], errors: dict[str, str]) -> list[dict[str, Any]]:
    """The "Email Recipients" rows of the form, each with its errors, then empty ones to fill in."""
    rows = []
    listed = config.get("recipients") if isinstance(config.get("recipients"), list) else []
    for index, recipient in enumerate(listed):
        name, address = recipient_parts(recipient)
        where = f"config.recipients[{index}]"
        rows.append(
            {
                "name": name,
                "email": address,
                "name_error": errors.get(f"{where}.name", ""),
                "email_error": errors.get(f"{where}.email", "") or errors.get(where, ""),
            }
        )
    spare = RECIPIENT_SPARE_ROWS if rows else RECIPIENT_ROWS
    blank = {"name": "", "email": "", "name_error": "", "email_error": ""}
    return rows + [blank] * max(0, min(spare, MAX_RECIPIENTS - len(rows)))


def role_options(chosen: Any) -> list[dict[str, Any]]:
    """Each role with the active users holding it now (who a channel with the role mails)."""
    chosen = chosen if isinstance(chosen, list) else []
    options = []
    for value, label in ROLES:
        members = users_with_roles([value])
        count = members.count()
        options.append(
            {
                "value": value,
                "label": label,
                "checked": value in chosen,
                "count": count,
                "members": list(members.values("username", "email")[:ROLE_MEMBERS_SHOWN]),
                "more": max(0, count - ROLE_MEMBERS_SHOWN),
            }
        )
    return options


def url_secret_rows(config: dict[str, Any], errors: dict[str, str]) -> list[dict[str, Any]]:
    """The protected-value rows of the form. A value is never written into the page: a stored one
    shows as the mask (sent back, it keeps the value); one typed into a form that came back with
    errors must be typed again."""
    rows = []
    for index, row in enumerate(config.get("url_secrets") or []):
        if not isinstance(row, dict):
            continue
        value = row.get("value")
        shown = secret_field(
            value if isinstance(value, str) else "", errors.get(f"config.url_secrets[{index}].value", "")
        )
        rows.append(
            {
                "name": row.get("name") if isinstance(row.get("name"), str) else "",
                "stored": shown["mask"],
                "retype": shown["retype"] or bool(shown["error"]),
                "name_error": errors.get(f"config.url_secrets[{index}].name", ""),
                "value_error": shown["error"] or errors.get(f"config.url_secrets[{index}]", ""),
            }
        )
    blank = {"name": "", "stored": False, "retype": False, "name_error": "", "value_error": ""}
    rows += [blank] * max(0, URL_SECRET_ROWS - len(rows))
    return rows


FIELD_LABELS = {
    "url": "URL",
    "webhook_url": "Webhook URL",
    "url_secrets": "Protect sensitive data in the URL",
    "secret": "Signing secret",
    "verify_ssl": "Verify SSL",
    "headers": "Headers",
    "auth": "Authentication",
    "recipients": "Email Recipients",
    "roles": "Administrator Recipients",
    "signature": "Signature",
    "template": "Message template",
}
PART_LABELS = {
    "name": "name",
    "value": "value",
    "email": "email",
    "password": "password",
    "token": "token",
    "username": "username",
    "type": "type",
    "sensitive": "sensitive",
}
ERROR_PATH_RE = re.compile(r"^config\.(\w+)(?:\[(\d+)\])?(?:\.(\w+))?$")


def error_label(path: str) -> str:
    """`config.url_secrets[1].name` as the form calls it: "Protect sensitive data in the URL, row 2: name"."""
    match = ERROR_PATH_RE.match(path)
    if match is None or match.group(1) not in FIELD_LABELS:
        return path
    field, row, part = match.groups()
    label = FIELD_LABELS[field]
    if row is not None:
        label += f", row {int(row) + 1}"
    if part:
        label += f": {PART_LABELS.get(part, part)}"
    return label


def secret_field(value: Any, error: str) -> dict[str, Any]:
    """How a write-only input shows: the mask only for a value that is stored and still usable;
    a typed value (the form came back with errors) or a refused mask must be typed again."""
    stored = value == MASK and not error
    return {"mask": stored, "retype": bool(value) and not stored, "error": error}


def header_row(header: dict[str, Any], error: str) -> dict[str, Any]:
    """A header row of the form. A sensitive value is a secret like the others: never written into
    the page, so one typed into a form that came back with errors must be typed again; a stored
    one shows as the mask (sent back, it keeps the value). Plain values are kept as typed."""
    value = header.get("value")
    if header.get("sensitive"):
        shown = secret_field(value, error)
        return {**header, "value": MASK if shown["mask"] else "", "retype": shown["retype"], "error": error}
    return {**header, "value": "" if value == MASK and error else value, "retype": False, "error": error}


def form_context(kind: str, values: dict[str, Any], errors: dict[str, str], channel: Channel | None) -> dict[str, Any]:
    config = values.get("config") or {}
    auth = config.get("auth") if isinstance(config.get("auth"), dict) else {}
    headers = [
        header_row(header, errors.get(f"config.headers[{index}].value", ""))
        for index, header in enumerate(config.get("headers") or [])
        if isinstance(header, dict)
    ]
    rows = [*headers, *([{"name": "", "value": "", "sensitive": False}] * max(1, HEADER_ROWS - len(headers)))]
    secret_rows = url_secret_rows(config, errors)
    mail_rows = recipient_rows(config, errors) if kind == ChannelKind.EMAIL else []
    return {
        "nav": "channels",
        "kind": kind,
        "tab": tab_for(kind),
        "kind_label": ChannelKind(kind).label if kind in ChannelKind.values else kind,
        "webhook_url_stored": bool(channel is not None and channel.config.get("webhook_url")),
        "webhook_url_error": errors.get("config.webhook_url", ""),
        "channel": channel,
        "values": values,
        "config": config,
        "recipient_rows": list(enumerate(mail_rows)),
        "recipient_count": len(mail_rows),
        "recipients_error": errors.get("config.recipients", ""),
        "roles_error": errors.get("config.roles", ""),
        "role_options": role_options(config.get("roles")) if kind == ChannelKind.EMAIL else [],
        "recipients_max": MAX_RECIPIENTS,
        "header_rows": list(enumerate(rows)),
        "header_count": len(rows),
        "url_secret_rows": list(enumerate(secret_rows)),
        "url_secret_count": len(secret_rows),
        "errors": errors,
        "config_errors": {error_label(k): v for k, v in errors.items() if k.startswith("config")},
        "url_error": errors.get("config.url", ""),
        "url_secrets_error": errors.get("config.url_secrets", ""),
        "roles": ROLES,
        "mask": MASK,
        "signing_secret": secret_field(config.get("secret"), errors.get("config.secret", "")),
        "chat_url_retype": bool(errors) and config.get("webhook_url") not in (None, "", MASK),
        "auth_password": secret_field(auth.get("password"), errors.get("config.auth.password", "")),
        "auth_token": secret_field(auth.get("token"), errors.get("config.auth.token", "")),
        "template_rows": template_rows(kind, config, errors),
        "signature_error": errors.get("config.signature", ""),
        "secret_error": errors.get("config.secret", ""),
        "template_open": bool(config.get("template")) or any(k.startswith("config.template") for k in errors),
        **(pagerduty_context(config, errors, channel) if kind == ChannelKind.PAGERDUTY else {}),
    }


def pagerduty_context(config: dict[str, Any], errors: dict[str, str], channel: Channel | None) -> dict[str, Any]:
    """The PagerDuty form: write-only key and secret (masked when stored), and the back-sync URL
    to paste into PagerDuty's webhook subscription (once the channel exists)."""
    return {
        "routing_key": secret_field(config.get("routing_key"), errors.get("config.routing_key", "")),
        "webhook_secret": secret_field(config.get("webhook_secret"), errors.get("config.webhook_secret", "")),
        "events_url_error": errors.get("config.events_url", ""),
        "backsync_url": (
            f"{settings.ALERTSITE_BASE_URL.rstrip('/')}/api/v1/integrations/pagerduty/{channel.pk}"
            if channel is not None
            else ""
        ),
    }


@admins_only
def channel_new(request: HttpRequest, kind: str) -> HttpResponse:
    kind = TABS.get(kind, kind)
    if kind not in ChannelKind.values:
        return HttpResponse(status=404)
    if request.method == "POST":
        data = form_data(request, kind)
        try:
            channel_create(data={**data, "kind": kind}, actor=request.user)
        except ChannelValidationError as exc:
            return render(request, "console/channels/form.html", form_context(kind, data, exc.errors, None), status=400)
        messages.success(request, f"Channel {data['name']!r} created.")
        return redirect(f"/settings/notification-channels/?tab={tab_for(kind)}")
    initial = {"enabled": True, "config": {"verify_ssl": True, "auth": {"type": "none"}}}
    if kind == ChannelKind.PAGERDUTY:
        initial["config"] = {"events_url": EVENTS_URL}
    return render(request, "console/channels/form.html", form_context(kind, initial, {}, None))


@admins_only
def channel_edit(request: HttpRequest, pk: int) -> HttpResponse:
    channel = get_object_or_404(Channel, pk=pk)
    if request.method == "POST":
        data = form_data(request, channel.kind)
        try:
            channel_update(channel=channel, data=data, actor=request.user)
        except ChannelValidationError as exc:
            return render(
                request, "console/channels/form.html", form_context(channel.kind, data, exc.errors, channel), status=400
            )
        messages.success(request, f"Channel {data['name']!r} saved.")
        return redirect(f"/settings/notification-channels/?tab={tab_for(channel.kind)}")
    values = {"name": channel.name, "enabled": channel.enabled, "config": channel_public(channel)}
    return render(request, "console/channels/form.html", form_context(channel.kind, values, {}, channel))


@require_POST
@admins_only
def channel_remove(request: HttpRequest, pk: int) -> HttpResponse:
    channel = get_object_or_404(Channel, pk=pk)
    tab = tab_for(channel.kind)
    try:
        channel_delete(channel=channel, actor=request.user)
        messages.success(request, f"Channel {channel.name!r} deleted.")
    except ChannelInUse as exc:
        messages.error(request, str(exc))
    return redirect(f"/settings/notification-channels/?tab={tab}")


@require_POST
@admins_only
def channel_send_test(request: HttpRequest, pk: int) -> HttpResponse:
    """The Test button: send now, answer the outcome (an htmx fragment, or a message without JS)."""
    channel = get_object_or_404(Channel, pk=pk)
    delivery = channel_test(channel=channel, actor=request.user)
    context = {"channel": channel, "delivery": delivery, "delivered": delivery.status == DeliveryStatus.SENT}
    if request.htmx:
        # The whole row again, read after the send: the test moved its health and last delivery.
        context["channel"] = get_object_or_404(Channel.objects.annotate(rule_count=channel_rule_count()), pk=pk)
        context["tab"] = tab_for(channel.kind)
        return render(request, "console/channels/partials/row.html", context)
    if context["delivered"]:
        messages.success(request, f"Test sent to {channel.name} ({delivery.response_code}).")
    else:
        messages.error(request, f"Test to {channel.name} failed: {delivery.last_error}")
    return redirect(f"/settings/notification-channels/?tab={tab_for(channel.kind)}")


@require_POST
@admins_only
def channel_resume_view(request: HttpRequest, pk: int) -> HttpResponse:
    """ "Resume now": end the channel's pause; what waited for it goes out."""
    channel = get_object_or_404(Channel, pk=pk)
    due = channel_resume(channel=channel, actor=request.user)
    messages.success(
        request, f"{channel.name} resumed; {len(due)} waiting deliver{'y' if len(due) == 1 else 'ies'} queued."
    )
    return redirect(f"/settings/notification-channels/?tab={'email' if channel.kind == 'email' else 'webhooks'}")


@readers_only
def channel_deliveries(request: HttpRequest, pk: int) -> HttpResponse:
    """One channel's delivery log, filtered by the API's DeliveryFilter (`?status=failed`, ...)."""
    channel = get_object_or_404(Channel, pk=pk)
    query = request.GET.copy()
    query["channel"] = str(channel.pk)  # the page is the channel's: its id comes from the path
    filterset = DeliveryFilter.for_console(query, queryset=Delivery.objects.order_by("-created_at", "-id"))
    filters = filterset.console_values()
    return render(
        request,
        "console/channels/deliveries.html",
        {
            "nav": "channels",
            "channel": channel,
            "deliveries": filterset.qs.prefetch_related("attempt_log")[:DELIVERIES_SHOWN],
            "filters": filters,
            "status": filters["status"],
            "statuses": DeliveryStatus.choices,
        },
    )


@require_POST
@admins_only
def delivery_retry_view(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = get_object_or_404(Delivery, pk=pk)
    if delivery.status != DeliveryStatus.FAILED:
        messages.warning(request, "Only failed deliveries can be retried.")
    else:
        delivery_retry(delivery=delivery)
        messages.success(request, "Delivery queued again (same delivery id).")
    return redirect("console-channel-deliveries", pk=delivery.channel_id)

"""E-mail transport: a plain-text and an HTML body from templates, sent through Django's backend (EMAIL_URL)."""

from __future__ import annotations

import smtplib
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.validators import validate_email
from django.db.models import Q
from django.template.loader import render_to_string

from channels.transports.base import ConfigError, DeliveryError, Outgoing, SendResult, Transport, transports

if TYPE_CHECKING:
    from channels.models import Channel

MAX_RECIPIENTS = 50
ROLES = ("admin", "responder", "viewer")
KIND_WORDS = {
    "alert.created": "new alert",
    "alert.acknowledged": "acknowledged",
    "alert.resolved": "resolved",
    "event.matched": "event matched",
    "test": "test notification",
}


def role_addresses(roles: list[str]) -> list[str]:
    """Every active user holding one of the roles, resolved now (superusers count as admin)."""
    if not roles:
        return []
    users = get_user_model().objects.filter(is_active=True).exclude(email="")
    query = Q(groups__name__in=roles)
    if "admin" in roles:
        query |= Q(is_superuser=True)
    return sorted(set(users.filter(query).values_list("email", flat=True)))


def subject_for(message: Outgoing) -> str:
    envelope = message.envelope
    alert = envelope.get("alert") or {}
    rule = (alert.get("rule") or envelope.get("rule") or {}).get("name", "")
    priority = (alert.get("priority") or "").capitalize()
    parts = [f"[{priority}]" if priority else "[alertsite]", rule or "alertsite"]
    if alert.get("reference"):
        parts.append(f"· {alert['reference']}")
    parts.append(f"· {KIND_WORDS.get(message.kind, message.kind)}")
    return " ".join(parts)[:200]


def key_fields(event: dict[str, Any] | None) -> list[tuple[str, str]]:
    if not isinstance(event, dict):
        return []
    initiated = event.get("initiated_by") if isinstance(event.get("initiated_by"), dict) else {}
    resource = event.get("resource") if isinstance(event.get("resource"), dict) else {}
    geoip = event.get("geoip") if isinstance(event.get("geoip"), dict) else {}
    rows = [
        ("Event", event.get("event_type")),
        ("When", event.get("timestamp")),
        ("Who", initiated.get("email") or initiated.get("username") or initiated.get("id")),
        ("Resource", resource.get("email") or resource.get("username") or resource.get("name") or resource.get("id")),
        ("Where", " ".join(str(v) for v in (event.get("client_ip"), geoip.get("country_code")) if v)),
        ("Service", event.get("service")),
        ("Success", event.get("success")),
        ("Error", event.get("error_message")),
        ("Event id", event.get("id")),
    ]
    return [(label, str(value)) for label, value in rows if value not in (None, "")]


class EmailTransport(Transport):
    label = "Email"

    def config_clean(self, config: Any, previous: dict[str, Any] | None) -> dict[str, Any]:
        errors: dict[str, str] = {}
        if not isinstance(config, dict):
            raise ConfigError({"config": "Must be an object with recipients and/or roles."})
        for key in sorted(set(config) - {"recipients", "roles"}):
            errors[f"config.{key}"] = "Unknown field."
        recipients = config.get("recipients") or []
        roles = config.get("roles") or []
        cleaned: list[str] = []
        if not isinstance(recipients, list):
            errors["config.recipients"] = "Must be a list of e-mail addresses."
        elif len(recipients) > MAX_RECIPIENTS:
            errors["config.recipients"] = f"At most {MAX_RECIPIENTS} addresses; got {len(recipients)}."
        else:
            seen: set[str] = set()
            for index, address in enumerate(recipients):
                where = f"config.recipients[{index}]"
                if not isinstance(address, str):
                    errors[where] = "Must be an e-mail address."
                    continue
                address = address.strip()
                try:
                    validate_email(address)
                except ValidationError:
                    errors[where] = f"{address[:100]!r} is not a valid e-mail address."
                    continue
                if address.lower() in seen:
                    errors[where] = f"{address} is listed twice."
                    continue
                seen.add(address.lower())
                cleaned.append(address)
        if not isinstance(roles, list) or any(role not in ROLES for role in roles):
            errors["config.roles"] = f"Roles must be among {', '.join(ROLES)}."
            roles = []
        roles = sorted(set(roles))
        if not errors and not cleaned and not roles:
            errors["config.recipients"] = "Add at least one recipient or role."
        if errors:
            raise ConfigError(errors)
        return {"recipients": cleaned, "roles": roles}

    def config_public(self, config: dict[str, Any]) -> dict[str, Any]:
        return {"recipients": list(config.get("recipients") or []), "roles": list(config.get("roles") or [])}

    def send(self, channel: Channel, message: Outgoing, *, timeout: float) -> SendResult:
        addresses = list(
            dict.fromkeys([*channel.config.get("recipients", []), *role_addresses(channel.config.get("roles", []))])
        )
        if not addresses:
            raise DeliveryError(
                "No recipients: the channel's roles hold no active user with an e-mail.", permanent=True
            )
        envelope = message.envelope
        context = {
            "kind": message.kind,
            "kind_words": KIND_WORDS.get(message.kind, message.kind),
            "alert": envelope.get("alert"),
            "rule": (envelope.get("alert") or {}).get("rule") or envelope.get("rule"),
            "event_fields": key_fields(envelope.get("event")),
            "delivery_id": message.delivery_id,
            "sent_at": envelope.get("sent_at"),
        }
        email = EmailMultiAlternatives(
            subject=subject_for(message),
            body=render_to_string("channels/email/notification.txt", context),
            from_email=settings.DEFAULT_FROM_EMAIL,
            # Bcc: recipients (some added through a role) don't see each other's addresses.
            to=[],
            bcc=addresses,
            headers={"X-Alertsite-Delivery": message.delivery_id, "X-Alertsite-Event": message.kind},
            connection=get_connection(timeout=timeout),
        )
        email.attach_alternative(render_to_string("channels/email/notification.html", context), "text/html")
        try:
            email.send(fail_silently=False)
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"Recipients refused: {', '.join(exc.recipients)}", permanent=True) from exc
        except smtplib.SMTPResponseException as exc:
            permanent = 500 <= exc.smtp_code < 600
            text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
            raise DeliveryError(
                f"SMTP {exc.smtp_code}: {text}", permanent=permanent, status_code=exc.smtp_code
            ) from exc
        except TimeoutError as exc:
            raise DeliveryError(f"SMTP timed out after {timeout:g} s", permanent=False) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"SMTP failed: {exc.__class__.__name__}: {exc}", permanent=False) from exc
        return SendResult(status_code=250, snippet=f"accepted for {len(addresses)} recipient(s)")


transports.add("email", EmailTransport())

"""E-mail transport: a plain-text and an HTML body from templates, sent through Django's backend (EMAIL_URL)."""

from __future__ import annotations

import smtplib
import unicodedata
from email.utils import formataddr
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.validators import validate_email
from django.template.loader import render_to_string

from alertsite.accounts.selectors import users_with_roles
from channels.templating import TemplateField
from channels.transports.base import ConfigError, DeliveryError, Outgoing, SendResult, Transport, transports

if TYPE_CHECKING:
    from channels.models import Channel

MAX_RECIPIENTS = 50
MAX_NAME = 100
RECIPIENT_FIELDS = ("name", "email")
ROLES = ("admin", "responder", "viewer")
# Characters a display name may not hold: control and format characters, line and paragraph
# separators (a newline in a name would start a new header). Zero-width (non-)joiners stay allowed.
_NAME_BAD_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
_NAME_ALLOWED = {"\u200c", "\u200d"}
KIND_WORDS = {
    "alert.created": "new alert",
    "alert.acknowledged": "acknowledged",
    "alert.resolved": "resolved",
    "event.matched": "event matched",
    "test": "test notification",
}


def role_addresses(roles: list[str]) -> list[str]:
    """Every active user holding one of the roles with an e-mail address, resolved now."""
    return sorted(set(users_with_roles(roles).exclude(email="").values_list("email", flat=True)))


def name_problem(name: str) -> str:
    """Why this display name can't go into a To header, or "" when it can."""
    if len(name) > MAX_NAME:
        return f"At most {MAX_NAME} characters; got {len(name)}."
    for char in name:
        if char not in _NAME_ALLOWED and unicodedata.category(char) in _NAME_BAD_CATEGORIES:
            return f"Must not contain line breaks or control characters (found U+{ord(char):04X})."
    if "=?" in name:
        # An RFC 2047 encoded word would be decoded when sending, line breaks and all.
        return "Must not contain =? (write the name as plain text; it is encoded when sent)."
    return ""


def recipient_parts(recipient: Any) -> tuple[str, str]:
    """(name, address) of a stored recipient: a plain address string or {"name", "email"}."""
    if isinstance(recipient, dict):
        name, address = recipient.get("name"), recipient.get("email")
        return (name.strip() if isinstance(name, str) else "", address.strip() if isinstance(address, str) else "")
    return ("", recipient.strip() if isinstance(recipient, str) else "")


def recipient_header(recipient: Any) -> str:
    """A recipient as it goes into the To header: "SOC desk <soc@example.com>", or the bare address."""
    name, address = recipient_parts(recipient)
    if not name or name_problem(name):  # never trust a stored name with a line break into a header
        return address
    return formataddr((name, address))


def subject_for(message: Outgoing) -> str:
    """ "[High] Failed admin logins · ALR-000007 · new alert"."""
    notification = message.notification
    priority = notification.priority.capitalize()
    parts = [f"[{priority}]" if priority else "[alertsite]", notification.rule.name or "alertsite"]
    if notification.reference:
        parts.append(f"· {notification.reference}")
    parts.append(f"· {KIND_WORDS.get(message.kind, message.kind)}")
    return " ".join(parts)[:200]


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def key_fields(event: dict[str, Any] | None) -> list[tuple[str, str]]:
    if not isinstance(event, dict):
        return []
    initiated, resource, geoip = (_object(event.get(key)) for key in ("initiated_by", "resource", "geoip"))
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


def default_context(message: Outgoing) -> dict[str, Any]:
    """The context of the built-in e-mail templates (not of a channel's own: channels.templating)."""
    envelope = message.envelope
    return {
        "kind": message.kind,
        "kind_words": KIND_WORDS.get(message.kind, message.kind),
        "alert": envelope.get("alert"),
        "rule": message.notification.rule.as_json(),
        "event_fields": key_fields(envelope.get("event")),
        "delivery_id": message.delivery_id,
        "sent_at": envelope.get("sent_at"),
    }


class EmailTransport(Transport):
    label = "Email"
    template_fields = {"subject": TemplateField("line", "Subject"), "body": TemplateField("text", "Body (plain text)")}

    def template_defaults(self, message: Outgoing) -> dict[str, str]:
        return {
            "subject": subject_for(message),
            "body": render_to_string("channels/email/notification.txt", default_context(message)),
        }

    def config_clean(self, config: Any, previous: dict[str, Any] | None) -> dict[str, Any]:
        errors: dict[str, str] = {}
        if not isinstance(config, dict):
            raise ConfigError({"config": "Must be an object with recipients and/or roles."})
        for key in sorted(set(config) - {"recipients", "roles"}):
            errors[f"config.{key}"] = "Unknown field."
        recipients = config.get("recipients") or []
        roles = config.get("roles") or []
        cleaned: list[str | dict[str, str]] = []
        if not isinstance(recipients, list):
            errors["config.recipients"] = "Must be a list of e-mail addresses or {name, email} objects."
        elif len(recipients) > MAX_RECIPIENTS:
            errors["config.recipients"] = f"At most {MAX_RECIPIENTS} addresses; got {len(recipients)}."
        else:
            seen: set[str] = set()
            for index, recipient in enumerate(recipients):
                item = self._recipient_clean(recipient, f"config.recipients[{index}]", seen, errors)
                if item is not None:
                    cleaned.append(item)
        if not isinstance(roles, list) or any(role not in ROLES for role in roles):
            errors["config.roles"] = f"Roles must be among {', '.join(ROLES)}."
            roles = []
        roles = sorted(set(roles))
        if not errors and not cleaned and not roles:
            errors["config.recipients"] = "Add at least one recipient or role."
        if errors:
            raise ConfigError(errors)
        return {"recipients": cleaned, "roles": roles}

    @staticmethod
    def _recipient_clean(
        recipient: Any, where: str, seen: set[str], errors: dict[str, str]
    ) -> str | dict[str, str] | None:
        """One entry of `recipients` as it is stored (a string stays a string, an object stays an
        object), or None with its errors added. `seen` holds the lower-cased addresses listed before
        it: an address may be listed once, whichever the form."""
        name: Any
        address: Any
        if isinstance(recipient, str):
            name, address, at = None, recipient, where
        elif isinstance(recipient, dict):
            name, address, at = recipient.get("name") or "", recipient.get("email"), f"{where}.email"
            for key in sorted(str(key) for key in set(recipient) - set(RECIPIENT_FIELDS)):
                errors[f"{where}.{key}"] = "Unknown field."
            if not isinstance(name, str):
                errors[f"{where}.name"] = "Must be a string."
            elif problem := name_problem(name.strip()):
                errors[f"{where}.name"] = problem
            if not isinstance(address, str) or not address.strip():
                errors[at] = "Required: an e-mail address."
                return None
        else:
            errors[where] = 'Must be an e-mail address or an object {"name", "email"}.'
            return None
        address = address.strip()
        try:
            validate_email(address)
        except ValidationError:
            errors[at] = f"{address[:100]!r} is not a valid e-mail address."
            return None
        if address.lower() in seen:
            errors[at] = f"{address} is listed twice."
            return None
        seen.add(address.lower())
        if name is None:
            return address
        return {"name": name.strip(), "email": address} if isinstance(name, str) else None

    def config_public(self, config: dict[str, Any]) -> dict[str, Any]:
        recipients = [dict(r) if isinstance(r, dict) else r for r in config.get("recipients") or []]
        return {"recipients": recipients, "roles": list(config.get("roles") or [])}

    def send(self, channel: Channel, message: Outgoing, *, timeout: float) -> SendResult:
        # Listed recipients go in To, with their names; role members (resolved now) in Bcc, so the
        # directory's own addresses are not shown to a listed distribution list. One copy per address.
        to: list[str] = []
        seen: set[str] = set()
        for recipient in channel.config.get("recipients") or []:
            _, address = recipient_parts(recipient)
            if address and address.lower() not in seen:
                seen.add(address.lower())
                to.append(recipient_header(recipient))
        bcc: list[str] = []
        for address in role_addresses(channel.config.get("roles") or []):
            if address.lower() not in seen:
                seen.add(address.lower())
                bcc.append(address)
        addresses = [*to, *bcc]
        if not addresses:
            raise DeliveryError(
                "No recipients: the channel's roles hold no active user with an e-mail.", permanent=True
            )
        rendered = self.rendered(channel, message)
        context = default_context(message)
        email = EmailMultiAlternatives(
            subject=rendered.get("subject") or subject_for(message),
            body=rendered["body"]
            if "body" in rendered
            else render_to_string("channels/email/notification.txt", context),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=to,
            bcc=bcc,
            headers={"X-Alertsite-Delivery": message.delivery_id, "X-Alertsite-Event": message.kind},
            connection=get_connection(timeout=timeout),
        )
        if "body" not in rendered:  # the channel's own body is plain text: no default HTML beside it
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

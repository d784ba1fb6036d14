"""PagerDuty channel settings: the routing key, the Events API URL and the back-sync secret.

One job: what a PagerDuty channel may be set to (api.md section 11), sealed at rest and shown
masked. Sending lives in pagerduty.py, the back-sync signature check in pagerduty_signature.py.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from alertsite.crypto import MASK, secret_seal
from alertsite.netsafety import UnsafeDestination, loopback_host, url_check
from channels.transports.base import ConfigError

EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
MAX_URL = 2000
MAX_ROUTING_KEY = 100
MAX_WEBHOOK_SECRET = 256
FIELDS = frozenset({"routing_key", "events_url", "webhook_secret"})


def _printable(value: str) -> bool:
    return all(" " < ch <= "~" for ch in value)


def events_url_problem(url: str, *, resolve: bool = True) -> str | None:
    """Why this Events API URL may not be used, or None: https only, except plain http to loopback
    while private destinations are allowed (local stand-ins); never a private address otherwise."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "This is not a valid URL."
    if parts.scheme == "http":
        if not (settings.ALERTSITE_WEBHOOK_ALLOW_PRIVATE and loopback_host(parts.hostname or "")):
            return "Must be an https URL (plain http only to loopback while private destinations are allowed)."
    elif parts.scheme != "https":
        return "Must be an https URL."
    try:
        url_check(url, resolve=resolve)
    except UnsafeDestination as exc:
        return str(exc)
    except ValueError:
        return "This is not a valid URL."
    return None


def _host(url: Any) -> tuple[str, str, int | None] | None:
    if not isinstance(url, str):
        return None
    try:
        parts = urlsplit(url.strip())
        return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port
    except ValueError:
        return None


def _kept(value: Any) -> bool:
    """A write-only field sent back as the mask, or left empty in a form: keep the stored one."""
    return value == MASK or value == "" or value is None


class PagerDutyConfig:
    """The config half of the PagerDuty transport: `config_clean` and `config_public`."""

    def config_clean(self, config: Any, previous: dict[str, Any] | None) -> dict[str, Any]:
        if not isinstance(config, dict):
            raise ConfigError({"config": "Must be an object with a routing_key."})
        previous = previous or {}
        errors: dict[str, str] = {f"config.{key}": "Unknown field." for key in sorted(set(config) - FIELDS)}
        url = config.get("events_url")
        if url is None or url == "":
            url = EVENTS_URL
        if not isinstance(url, str) or len(url) > MAX_URL:
            errors["config.events_url"] = f"Must be a URL of at most {MAX_URL} characters."
        else:
            url = url.strip()
            problem = events_url_problem(url)
            if problem:
                errors["config.events_url"] = problem
        stored: dict[str, Any] = {"events_url": url}
        # The routing key goes to the Events API URL in clear: it follows the channel to another
        # host only when typed again (else whoever may edit the channel could read it there).
        moved = bool(previous) and _host(url) != _host(previous.get("events_url", EVENTS_URL))
        key = config.get("routing_key")
        if _kept(key) and previous.get("routing_key") and not moved:
            stored["routing_key"] = previous["routing_key"]
        elif _kept(key):
            errors["config.routing_key"] = (
                "The Events API URL changed: type the routing key again."
                if moved and previous.get("routing_key")
                else "This field is required: the integration key of a PagerDuty service (Events API v2)."
            )
        elif not isinstance(key, str) or len(key.strip()) > MAX_ROUTING_KEY or not _printable(key.strip()):
            errors["config.routing_key"] = f"Must be one word of at most {MAX_ROUTING_KEY} printable characters."
        else:
            stored["routing_key"] = secret_seal(key.strip())
        secret = config.get("webhook_secret")
        if _kept(secret):
            if previous.get("webhook_secret") and secret is not None:
                stored["webhook_secret"] = previous["webhook_secret"]
        elif not isinstance(secret, str) or len(secret) > MAX_WEBHOOK_SECRET:
            errors["config.webhook_secret"] = f"Must be text of at most {MAX_WEBHOOK_SECRET} characters."
        else:
            stored["webhook_secret"] = secret_seal(secret)
        if errors:
            raise ConfigError(errors)
        return stored

    def config_public(self, config: dict[str, Any]) -> dict[str, Any]:
        return {
            "routing_key": MASK if config.get("routing_key") else None,
            "events_url": config.get("events_url", EVENTS_URL),
            "webhook_secret": MASK if config.get("webhook_secret") else None,
        }

"""What Slack and Teams channels share: a write-only incoming-webhook URL, and one JSON POST to it.

The URL *is* the credential (whoever has it can post to the channel), so it is sealed at rest,
shown as ******** and never written into an error, a snippet or a log line: errors name the
host at most. It must be https; plain http is accepted only to a loopback address while
private destinations are allowed (ALERTSITE_WEBHOOK_ALLOW_PRIVATE, for local stand-ins), and
private addresses are refused as for webhooks (alertsite.netsafety), at save time and again,
after resolution, at send time. Requests go through the pooled keep-alive client pinned to
the checked address (alertsite.httppool), as webhooks do.
"""

from __future__ import annotations

import http.client
import socket
import ssl
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import orjson
from django.conf import settings

from alertsite.crypto import MASK, secret_open, secret_seal
from alertsite.httppool import Destination, Reply, pool
from alertsite.netsafety import UnsafeDestination, addresses_resolve, loopback_host, url_check
from alertsite.retry_after import retry_after_seconds
from channels.templating import CHAT_TEXT_FIELDS
from channels.transports.base import ConfigError, DeliveryError, Outgoing, SendResult, Transport
from channels.transports.chat_message import chat_message

if TYPE_CHECKING:
    from channels.models import Channel

MAX_URL = 2000
SNIPPET = 500
USER_AGENT = "alertsite-chat/1"
RETRYABLE = frozenset({408, 429})


def scheme_problem(url: str) -> str:
    """Why this URL may not be used for a chat webhook because of its scheme, or ""."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        return ""
    if parts.scheme == "http" and loopback_host(parts.hostname or "") and settings.ALERTSITE_WEBHOOK_ALLOW_PRIVATE:
        return ""
    return "Must be an https URL (plain http only to a loopback stand-in while private destinations are allowed)."


def url_problem(url: Any, *, service: str) -> str:
    """Why this incoming-webhook URL can't be saved, or "". Names the host at most, never the path."""
    if not isinstance(url, str) or not url.strip():
        return f"Required: the {service} incoming-webhook URL."
    url = url.strip()
    if len(url) > MAX_URL:
        return f"At most {MAX_URL} characters."
    try:
        if problem := scheme_problem(url):
            return problem
        url_check(url, resolve=True)
    except UnsafeDestination as exc:
        return str(exc)
    except ValueError:
        return "This is not a valid URL."
    return ""


class ChatWebhookTransport(Transport):
    """A transport that POSTs one JSON document to a write-only incoming-webhook URL.

    Subclasses say what to post (`payload`) and how the service answers (`outcome`).
    """

    service = ""  # "Slack", "Teams": in messages
    concurrent = True  # sending touches no database

    # -- config -----------------------------------------------------------------------

    def config_clean(self, config: Any, previous: dict[str, Any] | None) -> dict[str, Any]:
        if not isinstance(config, dict):
            raise ConfigError({"config": "Must be an object with webhook_url."})
        errors = {f"config.{key}": "Unknown field." for key in sorted(set(config) - {"webhook_url"})}
        previous = previous or {}
        url = config.get("webhook_url", MASK if previous.get("webhook_url") else None)
        stored: dict[str, Any] = {}
        if url == MASK:
            if previous.get("webhook_url"):
                stored["webhook_url"] = previous["webhook_url"]  # kept as it was checked when typed
            else:
                errors["config.webhook_url"] = (
                    f"Required: the {self.service} incoming-webhook URL (none is saved to keep)."
                )
        elif problem := url_problem(url, service=self.service):
            errors["config.webhook_url"] = problem
        else:
            stored["webhook_url"] = secret_seal(str(url).strip())
        if errors:
            raise ConfigError(errors)
        return stored

    def config_public(self, config: dict[str, Any]) -> dict[str, Any]:
        return {"webhook_url": MASK if config.get("webhook_url") else ""}

    # -- sending ----------------------------------------------------------------------

    # A channel's own wording (api.md §11): `{"text"}` replaces the title and the facts; the
    # heading (priority, what happened) and the button stay, so every message still links home.
    template_fields = CHAT_TEXT_FIELDS

    def template_defaults(self, message: Outgoing) -> dict[str, str]:
        parts = chat_message(message)
        return {"text": "\n".join([parts.title, *(f"{label}: {value}" for label, value in parts.facts)])}

    def payload(self, message: Outgoing, *, text: str | None = None) -> dict[str, Any]:
        raise NotImplementedError

    def outcome(self, reply: Reply, snippet: str) -> SendResult:
        """Success, or DeliveryError: the HTTP rules every chat service shares (5xx, 408 and 429
        retried, honouring Retry-After; redirects and other 4xx permanent, the body as the error)."""
        status = reply.status
        if 200 <= status < 300:
            return SendResult(status_code=status, snippet=snippet)
        if 300 <= status < 400:
            raise DeliveryError(
                f"HTTP {status}: redirects are not followed", permanent=True, status_code=status, snippet=snippet
            )
        said = f": {snippet[:200]}" if snippet.strip() else ""
        transient = status in RETRYABLE or status >= 500
        raise DeliveryError(
            f"{self.service} answered HTTP {status}{said}",
            permanent=not transient,
            status_code=status,
            retry_after=retry_after_seconds(reply.retry_after),
            snippet=snippet,
        )

    def send(self, channel: Channel, message: Outgoing, *, timeout: float) -> SendResult:
        url = secret_open(channel.config.get("webhook_url"))
        if not url:
            raise DeliveryError(f"The channel has no {self.service} webhook URL.", permanent=True)
        parts = urlsplit(url)
        host = parts.hostname or ""
        try:
            if problem := scheme_problem(url):
                raise DeliveryError(problem, permanent=True)
            url_check(url, resolve=False)
            port = parts.port or (443 if parts.scheme == "https" else 80)
            address = addresses_resolve(host, port)[0]
        except UnsafeDestination as exc:
            raise DeliveryError(str(exc), permanent=True) from None
        except socket.gaierror as exc:
            raise DeliveryError(f"Cannot resolve {host}: {exc.strerror}", permanent=False) from None
        except ValueError:
            raise DeliveryError("The webhook URL is not valid.", permanent=True) from None
        body = orjson.dumps(self.payload(message, text=self.rendered(channel, message).get("text") or None))
        # The services ignore these; they let a proxy or a stand-in tell deliveries (and retries) apart.
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Alertsite-Event": message.kind,
            "X-Alertsite-Delivery": message.delivery_id,
        }
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            reply = pool().post(
                Destination(parts.scheme, address, port, host),
                target,
                body=body,
                headers=headers,
                timeout=timeout,
                read_limit=SNIPPET,
            )
        except TimeoutError:
            raise DeliveryError(f"Timed out after {timeout:g} s", permanent=False) from None
        except ssl.SSLCertVerificationError as exc:
            raise DeliveryError(f"TLS certificate of {host} rejected: {exc.verify_message}", permanent=True) from None
        except (OSError, http.client.HTTPException) as exc:
            # The exception's text may quote the request line (the secret path): name the class only.
            raise DeliveryError(f"Connection to {host} failed: {exc.__class__.__name__}", permanent=False) from None
        snippet = reply.head.decode("utf-8", errors="replace")[:SNIPPET]
        return self.outcome(reply, snippet)

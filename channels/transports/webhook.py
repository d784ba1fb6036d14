"""Webhook transport: POST the JSON envelope, signed with HMAC-SHA256 when the channel has a secret.

Sending only; what a webhook channel may be set to is webhook_config.py.

"Protect sensitive data in the URL": the stored URL may reference write-only values as
`{{NAME}}` in its path or query (`url_secrets`, sealed at rest like the other secrets). They are
filled in, percent-encoded, only when a request is made, and the filled-in URL never appears in
an error, a response snippet or a log line (any secret value found there reads `***`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import logging
import socket
import ssl
import time
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import quote, quote_plus, urlsplit

import orjson

from alertsite.crypto import secret_open
from alertsite.httppool import Destination, pool
from alertsite.netsafety import UnsafeDestination, addresses_resolve, url_check
from alertsite.retry_after import retry_after_seconds
from channels.templating import TemplateField
from channels.transports.base import DeliveryError, Outgoing, SendResult, Transport, transports
from channels.transports.standard_webhooks import signature_headers
from channels.transports.webhook_config import MAX_URL_SECRET_VALUE, WebhookConfig, url_fill, url_placeholders

if TYPE_CHECKING:
    from channels.models import Channel

RETRYABLE = frozenset({408, 429})
SNIPPET = 500
USER_AGENT = "alertsite-webhook/1"
SNIPPET_MARGIN = 6 * MAX_URL_SECRET_VALUE  # read past the cut: the longest secret, however escaped

logger = logging.getLogger(__name__)


def signature_for(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def _json_escaped(text: str) -> str:
    """How a receiver that echoes the value inside a JSON string would write it."""
    return json.dumps(text)[1:-1]


def scrubber(secrets: list[str]) -> Callable[[str], str]:
    """Replace every secret value (as typed, or percent-encoded as it went on the wire) with ***."""
    forms = sorted(
        {
            form
            for value in secrets
            if value
            for encoded in (value, quote(value, safe=""), quote(value), quote_plus(value))
            for form in (encoded, encoded.lower() if "%" in encoded else encoded, _json_escaped(encoded))
        },
        key=len,
        reverse=True,
    )

    def scrub(text: str) -> str:
        for form in forms:
            text = text.replace(form, "***")
        return text

    return scrub


class WebhookTransport(WebhookConfig, Transport):
    label = "Webhook"
    concurrent = True  # sending touches no database: a batch's requests may go out side by side
    template_fields = {"body": TemplateField("json", "Body (JSON)")}

    def template_defaults(self, message: Outgoing) -> dict[str, str]:
        return {"body": orjson.dumps(message.envelope, option=orjson.OPT_INDENT_2).decode()}

    # -- sending ----------------------------------------------------------------------

    def request_parts(self, channel: Channel, message: Outgoing) -> tuple[bytes, dict[str, str]]:
        """The exact body and headers of the POST (api.md, "Outgoing webhook")."""
        config = channel.config
        rendered = self.rendered(channel, message)
        body = rendered["body"].encode() if "body" in rendered else orjson.dumps(message.envelope)
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Alertsite-Event": message.kind,
            "X-Alertsite-Delivery": message.delivery_id,
            "X-Alertsite-Timestamp": timestamp,
        }
        for header in config.get("headers") or []:
            headers[header["name"]] = secret_open(header["value"])
        if config.get("secret") and config.get("signature") == "standard":
            headers.update(
                signature_headers(
                    secret_open(config["secret"]), message_id=message.delivery_id, timestamp=timestamp, body=body
                )
            )
        elif config.get("secret"):
            headers["X-Alertsite-Signature"] = signature_for(secret_open(config["secret"]), timestamp, body)
        auth = config.get("auth") or {}
        if auth.get("type") == "basic":
            pair = f"{auth['username']}:{secret_open(auth['password'])}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        elif auth.get("type") == "bearer":
            headers["Authorization"] = f"Bearer {secret_open(auth['token'])}"
        return body, headers

    def send(self, channel: Channel, message: Outgoing, *, timeout: float) -> SendResult:
        secrets = {row["name"]: secret_open(row["value"]) for row in channel.config.get("url_secrets") or []}
        scrub = scrubber(list(secrets.values()))
        try:
            return self._send(channel, message, timeout=timeout, secrets=secrets, scrub=scrub)
        except DeliveryError:
            raise
        except Exception as exc:
            if not secrets:
                raise
            # Unexpected, with the filled-in URL perhaps in its text: log and report it scrubbed.
            logger.error("webhook transport raised\n%s", scrub("".join(traceback.format_exception(exc))))
            raise DeliveryError(scrub(f"{exc.__class__.__name__}: {exc}"), permanent=True) from None

    def _send(
        self,
        channel: Channel,
        message: Outgoing,
        *,
        timeout: float,
        secrets: dict[str, str],
        scrub: Callable[[str], str],
    ) -> SendResult:
        template = channel.config["url"]
        missing = [name for name in url_placeholders(template) if name not in secrets]
        if missing:
            raise DeliveryError(
                f"The URL refers to {{{{{missing[0]}}}}}, which has no protected value.", permanent=True
            )
        url = url_fill(template, secrets)  # only now, just before connecting
        parts = urlsplit(url)
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
            url_check(url, resolve=False)
            address = addresses_resolve(parts.hostname or "", port)[0]
        except UnsafeDestination as exc:
            raise DeliveryError(scrub(str(exc)), permanent=True) from None
        except socket.gaierror as exc:
            raise DeliveryError(f"Cannot resolve {parts.hostname}: {exc.strerror}", permanent=False) from exc
        except ValueError:
            raise DeliveryError("The URL is not valid.", permanent=True) from None
        body, headers = self.request_parts(channel, message)
        destination = Destination(
            parts.scheme, address, port, parts.hostname or "", bool(channel.config.get("verify_ssl", True))
        )
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        try:
            # Read past the cut so a secret echoed across it is still recognised, then cut.
            reply = pool().post(
                destination, target, body=body, headers=headers, timeout=timeout, read_limit=SNIPPET + SNIPPET_MARGIN
            )
        except TimeoutError as exc:
            raise DeliveryError(f"Timed out after {timeout:g} s", permanent=False) from exc
        except ssl.SSLCertVerificationError as exc:
            raise DeliveryError(scrub(f"TLS certificate rejected: {exc}"), permanent=True) from None
        except http.client.InvalidURL as exc:
            raise DeliveryError(scrub(f"Invalid URL: {exc}"), permanent=True) from None
        except UnicodeError:
            raise DeliveryError("The URL must be ASCII: percent-encode other characters.", permanent=True) from None
        except (OSError, http.client.HTTPException) as exc:
            raise DeliveryError(scrub(f"Connection failed: {exc.__class__.__name__}: {exc}"), permanent=False) from None
        snippet = scrub(reply.head.decode("utf-8", errors="replace"))[:SNIPPET]
        status = reply.status
        retry_after = retry_after_seconds(reply.retry_after)
        if 200 <= status < 300:
            return SendResult(status_code=status, snippet=snippet)
        if 300 <= status < 400:
            raise DeliveryError(
                f"HTTP {status}: redirects are not followed", permanent=True, status_code=status, snippet=snippet
            )
        transient = status in RETRYABLE or status >= 500
        raise DeliveryError(
            f"HTTP {status}", permanent=not transient, status_code=status, retry_after=retry_after, snippet=snippet
        )


transports.add("webhook", WebhookTransport())

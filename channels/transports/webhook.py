"""Webhook transport: POST the JSON envelope, signed with HMAC-SHA256 when the channel has a secret.

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
import re
import socket
import ssl
import time
import traceback
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, quote_plus, urlsplit

import orjson
from django.utils import timezone

from alertsite.crypto import MASK, is_sealed, secret_open, secret_seal
from alertsite.netsafety import (
    PinnedHTTPConnection,
    PinnedHTTPSConnection,
    UnsafeDestination,
    addresses_resolve,
    url_check,
)
from channels.transports.base import ConfigError, DeliveryError, Outgoing, SendResult, Transport, transports

if TYPE_CHECKING:
    from channels.models import Channel

MAX_URL = 2000
MAX_HEADERS = 20
MAX_HEADER_VALUE = 1000
MAX_SECRET = 256
HEADER_NAME_RE = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}\Z")
RESERVED_HEADERS = frozenset({"host", "content-length", "content-type", "transfer-encoding", "connection"})
RETRYABLE = frozenset({408, 429})
SNIPPET = 500
USER_AGENT = "alertsite-webhook/1"
MAX_URL_SECRETS = 10
MAX_URL_SECRET_VALUE = 1000
SNIPPET_MARGIN = 6 * MAX_URL_SECRET_VALUE  # read past the cut: the longest secret, however escaped
MAX_FILLED_URL = 8000
URL_SECRET_NAME_RE = re.compile(r"^[A-Z][A-Z0-9_]{0,63}\Z")
PLACEHOLDER_RE = re.compile(r"\{\{(.*?)\}\}")
URL_SECRET_NAME_HELP = "1 to 64 upper-case letters, digits or _, starting with a letter"

logger = logging.getLogger(__name__)


def _sendable(value: str) -> bool:
    """Printable ASCII only: anything else cannot be sent in an HTTP header as is."""
    return all(" " <= ch <= "~" or ch == "\t" for ch in value)


def signature_for(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def url_placeholders(url: str) -> list[str]:
    """The names referenced as {{NAME}} in a URL, in order, repeats included."""
    return PLACEHOLDER_RE.findall(url)


def url_fill(url: str, values: dict[str, str]) -> str:
    """The URL with every {{NAME}} replaced by its value, percent-encoded (no / ? # & = survive)."""
    return PLACEHOLDER_RE.sub(lambda match: quote(values[match.group(1)], safe=""), url)


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


def _masked_paths(config: dict[str, Any]) -> list[str]:
    """The error paths of the values the client sent back as the mask."""
    paths = []
    for key in ("url_secrets", "headers"):
        rows = config.get(key)
        for index, row in enumerate(rows if isinstance(rows, list) else []):
            if isinstance(row, dict) and row.get("value") == MASK:
                paths.append(f"config.{key}[{index}].value")
    auth = config.get("auth")
    for key in ("password", "token"):
        if isinstance(auth, dict) and auth.get(key) == MASK:
            paths.append(f"config.auth.{key}")
    return paths


def _destination(url: Any) -> tuple[str, str, int | None] | None:
    """Scheme, host and port: where a request goes (None when there is no usable URL)."""
    if not isinstance(url, str):
        return None
    try:
        parts = urlsplit(url.strip())
        return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port
    except ValueError:
        return None


def retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        return max(0.0, (parsedate_to_datetime(value) - timezone.now()).total_seconds())
    except (TypeError, ValueError):
        return None


class WebhookTransport(Transport):
    label = "Webhook"

    # -- config ---------------------------------------------------------------------

    def config_clean(self, config: Any, previous: dict[str, Any] | None) -> dict[str, Any]:
        errors: dict[str, str] = {}
        previous = previous or {}
        if not isinstance(config, dict):
            raise ConfigError({"config": "Must be an object with a url."})
        unknown = set(config) - {"url", "verify_ssl", "secret", "headers", "auth", "url_secrets"}
        for key in sorted(unknown):
            errors[f"config.{key}"] = "Unknown field."
        url = config.get("url")
        # Values sent in clear (URL values, sensitive headers, credentials) follow the channel to
        # a new destination only when typed again: keeping them behind their masks would let
        # anyone who may edit the channel read them at a host of their choosing. The signing
        # secret never leaves, so it stays.
        kept = {} if _destination(url) != _destination(previous.get("url")) and previous else previous
        url_secrets, clear = self._url_secrets_clean(
            config.get("url_secrets") or [], kept.get("url_secrets") or [], errors
        )
        if not isinstance(url, str) or not url.strip():
            errors["config.url"] = "This field is required."
        elif len(url) > MAX_URL:
            errors["config.url"] = f"At most {MAX_URL} characters."
        else:
            url = url.strip()
            self._url_clean(url, clear, errors)
        verify = config.get("verify_ssl", True)
        if not isinstance(verify, bool):
            errors["config.verify_ssl"] = "Must be true or false."
        stored: dict[str, Any] = {"url": url, "verify_ssl": verify, "url_secrets": url_secrets}

        secret = config.get("secret")
        if secret == MASK:
            if previous.get("secret"):
                stored["secret"] = previous["secret"]
        elif secret not in (None, ""):
            if not isinstance(secret, str) or len(secret) > MAX_SECRET:
                errors["config.secret"] = f"Must be text of at most {MAX_SECRET} characters."
            else:
                stored["secret"] = secret_seal(secret)

        stored["headers"] = self._headers_clean(config.get("headers") or [], kept.get("headers") or [], errors)
        stored["auth"] = self._auth_clean(config.get("auth") or {"type": "none"}, kept.get("auth") or {}, errors)
        if kept is not previous:
            for path in _masked_paths(config):
                if path in errors:
                    errors[path] = "The destination changed: type this value again."
        if errors:
            raise ConfigError(errors)
        return stored

    def _url_secrets_clean(
        self, rows: Any, previous: list[dict[str, Any]], errors: dict[str, str]
    ) -> tuple[list[dict[str, Any]], dict[str, tuple[int, str | None]] | None]:
        """Seal the URL's sensitive values. Returns the rows as stored, and name -> (index, clear
        value, or None when that row's value is unusable); None instead of the map when the list
        itself is unusable (then the URL's placeholders are not matched against it)."""
        if not isinstance(rows, list):
            errors["config.url_secrets"] = "Must be a list of {name, value}."
            return [], None
        if len(rows) > MAX_URL_SECRETS:
            errors["config.url_secrets"] = f"At most {MAX_URL_SECRETS} protected values."
            return [], None
        old = {row["name"]: row["value"] for row in previous if isinstance(row, dict) and is_sealed(row.get("value"))}
        cleaned: list[dict[str, Any]] = []
        clear: dict[str, tuple[int, str | None]] = {}
        for index, row in enumerate(rows):
            where = f"config.url_secrets[{index}]"
            if not isinstance(row, dict):
                errors[where] = "Must be an object with name and value."
                continue
            for key in sorted(set(row) - {"name", "value"}):
                errors[f"{where}.{key}"] = "Unknown field."
            name, value = row.get("name"), row.get("value")
            if not isinstance(name, str) or not URL_SECRET_NAME_RE.match(name):
                errors[f"{where}.name"] = f"Must be {URL_SECRET_NAME_HELP} (used as {{{{NAME}}}} in the URL)."
                continue
            if name in clear:
                errors[f"{where}.name"] = f"{name} is listed twice."
                continue
            if value == MASK and name in old:
                cleaned.append({"name": name, "value": old[name]})
                clear[name] = (index, secret_open(old[name]))
                continue
            clear[name] = (index, None)
            if value == MASK:
                errors[f"{where}.value"] = "There is no saved value to keep: enter the value."
            elif not isinstance(value, str) or not value or len(value) > MAX_URL_SECRET_VALUE:
                errors[f"{where}.value"] = f"Required: text of at most {MAX_URL_SECRET_VALUE} characters."
            else:
                cleaned.append({"name": name, "value": secret_seal(value)})
                clear[name] = (index, value)
        return cleaned, clear

    def _url_clean(self, url: str, clear: dict[str, tuple[int, str | None]] | None, errors: dict[str, str]) -> None:
        """Placeholders only in the path and query, each with a value and each value used; then the
        URL as it will be requested (values filled in) must pass the destination checks."""
        try:
            parts = urlsplit(url)
        except ValueError:
            errors["config.url"] = "This is not a valid URL."
            return
        names = url_placeholders(url)
        leftover = PLACEHOLDER_RE.sub("", url)
        bad = [name for name in names if not URL_SECRET_NAME_RE.match(name)]
        if "{{" in leftover or "}}" in leftover:
            errors["config.url"] = "Write a placeholder as {{NAME}}, with both pairs of braces."
            return
        if bad:
            errors["config.url"] = f"{{{{{bad[0][:70]}}}}} is not a placeholder: names are {URL_SECRET_NAME_HELP}."
            return
        if "{{" in parts.netloc or "{{" in parts.fragment or "{{" in parts.scheme:
            errors["config.url"] = "Placeholders may only be used in the path and query of the URL, not in its host."
            return
        if clear is None:
            return  # url_secrets itself is wrong; its error says so
        missing = [name for name in dict.fromkeys(names) if name not in clear]
        if missing:
            listed = ", ".join(f"{{{{{name}}}}}" for name in missing)
            errors["config.url"] = f"No protected value named {listed}: add it under url_secrets."
        for name, (index, _value) in clear.items():
            if name not in names:
                errors[f"config.url_secrets[{index}].name"] = (
                    f"{name} is not used in the URL: reference it as {{{{{name}}}}} or remove it."
                )
        if missing:
            return
        filled = url_fill(url, {name: value or "x" for name, (_index, value) in clear.items()})
        if len(filled) > MAX_FILLED_URL:
            errors["config.url"] = f"With its protected values filled in the URL is over {MAX_FILLED_URL} characters."
            return
        try:
            url_check(filled, resolve=True)
        except UnsafeDestination as exc:
            errors["config.url"] = str(exc)  # names the host at most, never the path or query
        except ValueError:
            errors["config.url"] = "This is not a valid URL."

    def _headers_clean(self, headers: Any, previous: list[dict[str, Any]], errors: dict[str, str]) -> list[dict]:
        if not isinstance(headers, list):
            errors["config.headers"] = "Must be a list of {name, value, sensitive}."
            return []
        if len(headers) > MAX_HEADERS:
            errors["config.headers"] = f"At most {MAX_HEADERS} headers."
            return []
        old = {h.get("name", "").lower(): h for h in previous if isinstance(h, dict)}
        cleaned, seen = [], set()
        for index, header in enumerate(headers):
            where = f"config.headers[{index}]"
            if not isinstance(header, dict):
                errors[where] = "Must be an object with name and value."
                continue
            name, value, sensitive = header.get("name"), header.get("value"), header.get("sensitive", False)
            if not isinstance(name, str) or not HEADER_NAME_RE.match(name):
                errors[f"{where}.name"] = "Must be a header name: letters, digits and -, no spaces or newlines."
                continue
            lowered = name.lower()
            if lowered in RESERVED_HEADERS or lowered.startswith("x-alertsite-"):
                errors[f"{where}.name"] = f"{name} is set by alertsite and cannot be overridden."
                continue
            if lowered in seen:
                errors[f"{where}.name"] = f"{name} is listed twice."
                continue
            seen.add(lowered)
            if not isinstance(sensitive, bool):
                errors[f"{where}.sensitive"] = "Must be true or false."
                continue
            if value == MASK and sensitive and is_sealed(old.get(lowered, {}).get("value")):
                cleaned.append({"name": name, "value": old[lowered]["value"], "sensitive": True})
                continue
            if value == MASK:
                errors[f"{where}.value"] = "There is no saved value to keep: enter the value."
                continue
            if not isinstance(value, str) or len(value) > MAX_HEADER_VALUE:
                errors[f"{where}.value"] = f"Must be text of at most {MAX_HEADER_VALUE} characters."
                continue
            if any(ch in value for ch in "\r\n\x00"):
                errors[f"{where}.value"] = "Must not contain line breaks or NUL characters."
                continue
            if not _sendable(value):
                errors[f"{where}.value"] = "Header values must be printable ASCII (encode anything else)."
                continue
            cleaned.append({"name": name, "value": secret_seal(value) if sensitive else value, "sensitive": sensitive})
        return cleaned

    def _auth_clean(self, auth: Any, previous: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
        if not isinstance(auth, dict) or auth.get("type", "none") not in ("none", "basic", "bearer"):
            errors["config.auth.type"] = "Must be none, basic or bearer."
            return {"type": "none"}
        kind = auth.get("type", "none")
        if kind == "none":
            return {"type": "none"}
        if kind == "basic":
            username, password = auth.get("username"), auth.get("password")
            if not isinstance(username, str) or not username or ":" in username or len(username) > 200:
                errors["config.auth.username"] = "Required, at most 200 characters, no colon."
            if password == MASK and previous.get("type") == "basic" and previous.get("password"):
                sealed = previous["password"]
            elif isinstance(password, str) and password and password != MASK and len(password) <= MAX_SECRET:
                sealed = secret_seal(password)
            else:
                errors["config.auth.password"] = "Required."
                sealed = None
            return {"type": "basic", "username": username, "password": sealed}
        token = auth.get("token")
        if token == MASK and previous.get("type") == "bearer" and previous.get("token"):
            sealed = previous["token"]
        elif isinstance(token, str) and token and token != MASK and len(token) <= 2000 and _sendable(token):
            sealed = secret_seal(token)
        else:
            errors["config.auth.token"] = "Required, one line."
            sealed = None
        return {"type": "bearer", "token": sealed}

    def config_public(self, config: dict[str, Any]) -> dict[str, Any]:
        auth = dict(config.get("auth") or {"type": "none"})
        for key in ("password", "token"):
            if key in auth:
                auth[key] = MASK
        return {
            "url": config.get("url", ""),
            "verify_ssl": config.get("verify_ssl", True),
            "url_secrets": [{"name": row["name"], "value": MASK} for row in config.get("url_secrets") or []],
            "secret": MASK if config.get("secret") else None,
            "headers": [
                {
                    "name": h["name"],
                    "value": MASK if h.get("sensitive") else h["value"],
                    "sensitive": h.get("sensitive"),
                }
                for h in config.get("headers") or []
            ],
            "auth": auth,
        }

    # -- sending ----------------------------------------------------------------------

    def request_parts(self, channel: Channel, message: Outgoing) -> tuple[bytes, dict[str, str]]:
        """The exact body and headers of the POST (api.md, "Outgoing webhook")."""
        config = channel.config
        body = orjson.dumps(message.envelope)
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
        if config.get("secret"):
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
        if parts.scheme == "https":
            connection = PinnedHTTPSConnection(
                parts.hostname, port, address=address, timeout=timeout, verify=channel.config.get("verify_ssl", True)
            )
        else:
            connection = PinnedHTTPConnection(parts.hostname, port, address=address, timeout=timeout)
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        try:
            connection.request("POST", target, body=body, headers=headers)
            response = connection.getresponse()
            # Read past the cut so a secret echoed across it is still recognised, then cut.
            raw = response.read(SNIPPET + SNIPPET_MARGIN).decode("utf-8", errors="replace")
            snippet = scrub(raw)[:SNIPPET]
            status = response.status
            retry_after = retry_after_seconds(response.getheader("Retry-After"))
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
        finally:
            connection.close()
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

"""Webhook channel settings: check a config from the API, admin or console, and show it masked.

One job: what a webhook channel may be set to (URL and its protected `{{NAME}}` values,
headers, authentication, signing secret), sealed at rest. Sending lives in webhook.py.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, urlsplit

from alertsite.crypto import MASK, is_sealed, secret_open, secret_seal
from alertsite.netsafety import UnsafeDestination, url_check
from channels.transports.base import ConfigError
from channels.transports.standard_webhooks import SIGNATURES, secret_key

MAX_URL = 2000
MAX_HEADERS = 20
MAX_HEADER_VALUE = 1000
MAX_SECRET = 256
HEADER_NAME_RE = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}\Z")
RESERVED_HEADERS = frozenset({"host", "content-length", "content-type", "transfer-encoding", "connection"})
MAX_URL_SECRETS = 10
MAX_URL_SECRET_VALUE = 1000
MAX_FILLED_URL = 8000
URL_SECRET_NAME_RE = re.compile(r"^[A-Z][A-Z0-9_]{0,63}\Z")
PLACEHOLDER_RE = re.compile(r"\{\{(.*?)\}\}")
URL_SECRET_NAME_HELP = "1 to 64 upper-case letters, digits or _, starting with a letter"


def _sendable(value: str) -> bool:
    """Printable ASCII only: anything else cannot be sent in an HTTP header as is."""
    return all(" " <= ch <= "~" or ch == "\t" for ch in value)


def url_placeholders(url: str) -> list[str]:
    """The names referenced as {{NAME}} in a URL, in order, repeats included."""
    return PLACEHOLDER_RE.findall(url)


def url_fill(url: str, values: dict[str, str]) -> str:
    """The URL with every {{NAME}} replaced by its value, percent-encoded (no / ? # & = survive)."""
    return PLACEHOLDER_RE.sub(lambda match: quote(values[match.group(1)], safe=""), url)


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


class WebhookConfig:
    """The config half of the webhook transport: `config_clean` and `config_public`."""

    def config_clean(self, config: Any, previous: dict[str, Any] | None) -> dict[str, Any]:
        errors: dict[str, str] = {}
        previous = previous or {}
        if not isinstance(config, dict):
            raise ConfigError({"config": "Must be an object with a url."})
        unknown = set(config) - {"url", "verify_ssl", "secret", "headers", "auth", "url_secrets", "signature"}
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

        stored["signature"] = self._signature_clean(config.get("signature", "alertsite"), stored, errors)
        stored["headers"] = self._headers_clean(config.get("headers") or [], kept.get("headers") or [], errors)
        stored["auth"] = self._auth_clean(config.get("auth") or {"type": "none"}, kept.get("auth") or {}, errors)
        if kept is not previous:
            for path in _masked_paths(config):
                if path in errors:
                    errors[path] = "The destination changed: type this value again."
        if errors:
            raise ConfigError(errors)
        return stored

    def _signature_clean(self, signature: Any, stored: dict[str, Any], errors: dict[str, str]) -> str:
        """`"alertsite"` (api.md §5) or `"standard"` (Standard Webhooks), which needs a `whsec_` secret."""
        if signature not in SIGNATURES:
            errors["config.signature"] = f"Must be one of {', '.join(SIGNATURES)}."
            return "alertsite"
        if signature == "standard" and "config.secret" not in errors:
            if not stored.get("secret"):
                errors["config.secret"] = "Standard Webhooks signatures need a secret: whsec_ followed by base64."
            else:
                try:
                    secret_key(secret_open(stored["secret"]))
                except ValueError as exc:
                    errors["config.secret"] = str(exc)
        return str(signature)

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
            "signature": config.get("signature", "alertsite"),
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

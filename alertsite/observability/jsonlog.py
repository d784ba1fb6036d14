"""One JSON object a log line (LOG_FORMAT=json), through python-json-logger's orjson formatter.

Every record's extra fields come along (request_id, user, duration_ms, ...), except what could
carry a secret: Django's `request` object is dropped and any field named like a credential
(password, token, secret, authorization, api key, cookie) is shown as "***".
"""

from __future__ import annotations

import re
from typing import Any

from pythonjsonlogger.orjson import OrjsonFormatter

MASK = "***"
SENSITIVE = re.compile(r"pass(word)?|secret|token|authori[sz]ation|api[-_]?key|cookie|session|credential", re.I)
# Attributes that are not log fields: Django's request (headers, cookies) and the socket of runserver.
DROPPED = ("request", "server_time", "connection")
SAFE = frozenset({"request_id"})


def redact(value: Any) -> Any:
    """Mask credential-named keys at any depth of a logged dict or list."""
    if isinstance(value, dict):
        return {key: MASK if _sensitive(key) else redact(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    return value


def _sensitive(key: Any) -> bool:
    return isinstance(key, str) and key not in SAFE and bool(SENSITIVE.search(key))


class JsonFormatter(OrjsonFormatter):
    """time, level, logger, message, request_id and the record's extra fields, secrets masked."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("fmt", ["asctime", "levelname", "name", "message"])
        kwargs.setdefault("rename_fields", {"asctime": "time", "levelname": "level", "name": "logger"})
        kwargs.setdefault("reserved_attrs", [*_standard_attrs(), *DROPPED])
        kwargs.setdefault("json_default", str)
        super().__init__(*args, **kwargs)

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        return redact(log_data)


def _standard_attrs() -> list[str]:
    from pythonjsonlogger.core import RESERVED_ATTRS

    return [attr for attr in RESERVED_ATTRS if attr not in ("asctime", "levelname", "name", "message")]

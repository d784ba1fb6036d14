"""LOGGING for the settings: the plain text of old (the default) or one JSON object a line.

Imported by the settings module, so nothing here may touch Django's app registry.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured

LOG_FORMATS = ("text", "json")


def log_format_check(value: str) -> str:
    """The LOG_FORMAT asked for, or a start-up error naming the setting and what it may be."""
    if value not in LOG_FORMATS:
        raise ImproperlyConfigured(f"LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}; got {value!r}.")
    return value


def logging_config(*, log_format: str, level: str) -> dict[str, Any]:
    """dictConfig for the root logger: every record gets the request id; JSON when asked for."""
    formatters: dict[str, Any] = {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}}
    if log_format == "json":
        formatters["json"] = {"()": "alertsite.observability.jsonlog.JsonFormatter"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "alertsite.observability.request_id.RequestIdFilter"}},
        "formatters": formatters,
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "json" if log_format == "json" else "plain",
                "filters": ["request_id"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
    }

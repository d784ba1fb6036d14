"""The `Retry-After` header (RFC 9110 §10.2.3), as webhooks and sources both read it."""

from __future__ import annotations

from email.utils import parsedate_to_datetime

from django.utils import timezone


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds (a delay or an HTTP date), None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        return max(0.0, (parsedate_to_datetime(value) - timezone.now()).total_seconds())
    except (TypeError, ValueError):
        return None

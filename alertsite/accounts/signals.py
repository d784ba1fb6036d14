"""What accounts announces, so the event log can record it without accounts importing events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.dispatch import Signal

# Sent once per console, admin or API login attempt, inside the transaction that counted it,
# with ``attempt=LoginAttempt(...)``. Receivers' errors propagate: an attempt that cannot be
# recorded is not let through unrecorded.
login_attempted = Signal()


@dataclass(frozen=True, slots=True)
class LoginAttempt:
    """One login attempt as the audit trail needs it. There is no password field, on purpose."""

    username: str
    success: bool
    client_ip: str
    interface: str  # "console", "admin" or "api"
    user_id: int | None = None  # the account of that username, when there is one
    email: str = ""
    throttled: bool = False  # refused by the throttle, the password unchecked
    locked_until: datetime | None = None
    user_agent: str = ""

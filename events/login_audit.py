"""Logins to alertsite itself, written to the event log as `alertsite_login_attempt` (api.md §13).

Accounts announces each attempt (alertsite.accounts.signals); this turns it into a Directory
Insights shaped event, as the vendor's `user_login_attempt` is, through the same path as every
other audit event, so rules evaluate it. The password is never part of what is announced.
"""

from __future__ import annotations

from typing import Any

from alertsite.accounts.signals import LoginAttempt, login_attempted
from events.services import AUDIT_SERVICE, audit_event_record

LOGIN_EVENT_TYPE = "alertsite_login_attempt"
# How each interface checks the password, in the vendor's `auth_method` words.
AUTH_METHODS = {"console": "session", "admin": "session", "api": "token"}


def login_event_payload(attempt: LoginAttempt) -> dict[str, Any]:
    """The fields of the event for one attempt (audit_payload adds id, timestamp and service)."""
    account: dict[str, Any] = {"type": "user", "username": attempt.username}
    if attempt.user_id is not None:
        account = {"type": "user", "id": str(attempt.user_id), "username": attempt.username, "email": attempt.email}
    extra: dict[str, Any] = {
        "client_ip": attempt.client_ip,
        "auth_method": AUTH_METHODS.get(attempt.interface, attempt.interface),
        "interface": attempt.interface,
        "mfa": False,
        "throttled": attempt.throttled,
        "error_message": None,
    }
    if attempt.throttled:
        extra["error_message"] = "too many failed login attempts"
        if attempt.locked_until is not None:
            extra["locked_until"] = attempt.locked_until.isoformat().replace("+00:00", "Z")
    else:
        extra["auth_context"] = {"auth_methods": {"password": {"success": attempt.success}}}
        if not attempt.success:
            extra["error_message"] = "invalid credentials"
    if attempt.user_agent:
        extra["useragent"] = {"raw": attempt.user_agent}
    return {
        "event_type": LOGIN_EVENT_TYPE,
        "service": AUDIT_SERVICE,
        "initiated_by": account,
        "resource": dict(account),
        "success": attempt.success,
        "extra": extra,
    }


def login_attempt_record(*, attempt: LoginAttempt) -> None:
    """Store the attempt's event in the caller's transaction."""
    audit_event_record(**login_event_payload(attempt))


def _on_login_attempted(sender: Any, *, attempt: LoginAttempt, **kwargs: Any) -> None:
    login_attempt_record(attempt=attempt)


def login_audit_connect() -> None:
    login_attempted.connect(_on_login_attempted, dispatch_uid="events.login_audit")

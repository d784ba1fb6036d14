"""Every password check of a login: throttled, counted and announced (console, admin and API alike).

Views and forms call ``login_authenticate`` instead of ``authenticate`` so that no way in skips the
throttle, and every attempt, refused ones included, reaches the audit trail (signals.login_attempted).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.auth import authenticate, get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction

from alertsite.accounts import services, throttle
from alertsite.accounts.signals import LoginAttempt, login_attempted
from alertsite.accounts.throttle import LoginLock
from alertsite.client_ip import client_ip

if TYPE_CHECKING:
    from django.contrib.auth.models import User

INTERFACES = ("console", "admin", "api")
_MAX_USERNAME = 150  # Django's username length; longer input is not a username anyone has
_MAX_USER_AGENT = 300


class LoginLocked(Exception):
    """Logins for this username or from this address are refused until ``lock.until``."""

    def __init__(self, lock: LoginLock) -> None:
        super().__init__(f"login locked until {lock.until.isoformat()}")
        self.lock = lock


def login_authenticate(*, request: Any, username: str, password: str, interface: str) -> User | None:
    """The user these credentials log in, or None; raises LoginLocked while the throttle refuses.

    A locked username or address is refused without checking the password, so a correct password
    found while locked neither gets in nor tells the guesser it was right.
    """
    address = client_ip(request)
    lock = throttle.login_lock_get(username=username, address=address)
    if lock is not None:
        _announce(request, username, success=False, interface=interface, address=address, lock=lock)
        raise LoginLocked(lock)
    user = authenticate(request, username=username, password=password)
    with transaction.atomic():
        if user is None:
            throttle.login_failure_record(username=username, address=address)
        else:
            # A success ends the username's run of failures; the address keeps its count, or one
            # valid account would let a guesser reset it between guesses.
            throttle.login_failures_clear(username=username)
        _announce(request, username, success=user is not None, interface=interface, address=address, user=user)
    return user


def password_change_checked(*, request: Any, user: User, old_password: str, new_password: str) -> User:
    """Change the caller's password; a wrong old password counts as a failed login, and a lock refuses."""
    address = client_ip(request)
    username = user.get_username()
    lock = throttle.login_lock_get(username=username, address=address)
    if lock is not None:
        raise LoginLocked(lock)
    try:
        return services.password_change(user=user, old_password=old_password, new_password=new_password)
    except ValidationError as exc:
        if "old_password" in getattr(exc, "error_dict", {}):
            throttle.login_failure_record(username=username, address=address)
        raise


def login_unlock(*, username: str = "", address: str = "") -> int:
    """Lift the lock of a username and/or an address now (admin); answers how many failures were forgotten."""
    return throttle.login_failures_clear(username=username, address=address)


def _announce(
    request: Any,
    username: str,
    *,
    success: bool,
    interface: str,
    address: str,
    user: User | None = None,
    lock: LoginLock | None = None,
) -> None:
    if user is None:
        UserModel = get_user_model()
        user = UserModel._default_manager.filter(**{UserModel.USERNAME_FIELD: username}).first()
    attempt = LoginAttempt(
        username=username[:_MAX_USERNAME],
        success=success,
        client_ip=address,
        interface=interface,
        user_id=user.pk if user is not None else None,
        email=(user.email or "") if user is not None else "",
        throttled=lock is not None,
        locked_until=lock.until if lock is not None else None,
        user_agent=str(request.META.get("HTTP_USER_AGENT", ""))[:_MAX_USER_AGENT],
    )
    login_attempted.send(sender=LoginAttempt, attempt=attempt)

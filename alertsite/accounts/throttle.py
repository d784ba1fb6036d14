"""Login throttling: N failed password checks within a window lock a username or an address.

- A key (a username, an address) is locked when its last ``ALERTSITE_LOGIN_MAX_FAILURES`` failures
  fall within ``ALERTSITE_LOGIN_FAILURE_WINDOW_SECONDS``; the lock lasts
  ``ALERTSITE_LOGIN_LOCKOUT_SECONDS`` from the last of them (the cool-off). Refused attempts are
  not failures (their password is never checked), so a lock ends on time however hard it is hammered;
  one more failure after it ends locks again at once.
- Usernames count case-insensitively ("Admin" and "admin" are one key);
  IPv6 addresses count by /64, the block one subscriber usually holds.
- State is rows in the database, shared by every gunicorn and Celery process whatever the install.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from alertsite.accounts.models import LoginFailure, LoginScope


@dataclass(frozen=True, slots=True)
class LoginLock:
    """Why and until when logins are refused."""

    scope: LoginScope
    until: datetime

    def seconds_left(self, now: datetime | None = None) -> int:
        """Whole seconds until the lock ends, at least 1 (what Retry-After says)."""
        left = (self.until - (now or timezone.now())).total_seconds()
        return max(1, int(left) + (0 if left == int(left) else 1))


def username_key(username: str) -> str:
    return username.strip().casefold()[:255]


def address_key(address: str) -> str:
    """The address as counted: IPv4 as is, IPv6 as its /64 network; "" when it is not an address."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return ""
    if ip.version == 6:
        mapped = ip.ipv4_mapped
        if mapped is not None:
            return str(mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _keys(username: str, address: str) -> list[tuple[LoginScope, str]]:
    """The (column, key) pairs to count, leaving out what is empty."""
    keys = [(LoginScope.USERNAME, username_key(username)), (LoginScope.ADDRESS, address_key(address))]
    return [(scope, key) for scope, key in keys if key]


def login_lock_get(*, username: str, address: str, now: datetime | None = None) -> LoginLock | None:
    """The lock on this username or this address that ends last, or None when logins may go ahead."""
    limit = settings.ALERTSITE_LOGIN_MAX_FAILURES
    if limit <= 0:
        return None
    now = now or timezone.now()
    window = timedelta(seconds=settings.ALERTSITE_LOGIN_FAILURE_WINDOW_SECONDS)
    cool_off = timedelta(seconds=settings.ALERTSITE_LOGIN_LOCKOUT_SECONDS)
    locks = []
    for scope, key in _keys(username, address):
        recent = list(
            LoginFailure.objects.filter(**{scope.value: key}, failed_at__gt=now - window - cool_off)
            .order_by("-failed_at")
            .values_list("failed_at", flat=True)[:limit]
        )
        if len(recent) == limit and recent[0] - recent[-1] <= window and now < recent[0] + cool_off:
            locks.append(LoginLock(scope=scope, until=recent[0] + cool_off))
    return max(locks, key=lambda lock: lock.until, default=None)


def login_failure_record(*, username: str, address: str, now: datetime | None = None) -> None:
    """Count one failed password check against the username and the address; drop rows too old to matter."""
    now = now or timezone.now()
    keep = timedelta(seconds=settings.ALERTSITE_LOGIN_FAILURE_WINDOW_SECONDS + settings.ALERTSITE_LOGIN_LOCKOUT_SECONDS)
    with transaction.atomic():
        LoginFailure.objects.filter(failed_at__lt=now - keep).delete()
        LoginFailure.objects.create(username=username_key(username), address=address_key(address), failed_at=now)


def login_failures_clear(*, username: str = "", address: str = "") -> int:
    """Forget the failures of a username and/or an address (unlocks them); answers how many rows went."""
    deleted = 0
    for scope, key in _keys(username, address):
        deleted += LoginFailure.objects.filter(**{scope.value: key}).delete()[0]
    return deleted


def login_failures_clear_all() -> int:
    """Forget every failure: unlock every username and address."""
    return LoginFailure.objects.all().delete()[0]

"""Encryption at rest for channel secrets (webhook secret, sensitive headers, credentials, URL values).

Values are stored as `{"$enc": "<Fernet token>"}` inside `Channel.config`. The key comes
from ALERTSITE_ENCRYPTION_KEY; older keys listed in ALERTSITE_ENCRYPTION_KEYS_OLD still
decrypt, so keys can be rotated: set the new key, move the old one to the _OLD list, run
`manage.py rotate_channel_secrets`, then drop the old key.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

ENCRYPTED = "$enc"
MASK = "********"


@lru_cache(maxsize=4)
def _fernet(primary: str, old: tuple[str, ...]) -> MultiFernet:
    if not primary:
        raise ImproperlyConfigured("ALERTSITE_ENCRYPTION_KEY must be set to store channel secrets.")
    try:
        return MultiFernet([Fernet(key.encode()) for key in (primary, *old)])
    except ValueError as exc:
        raise ImproperlyConfigured(f"ALERTSITE_ENCRYPTION_KEY is not a valid Fernet key: {exc}") from exc


def fernet() -> MultiFernet:
    return _fernet(settings.ALERTSITE_ENCRYPTION_KEY, tuple(settings.ALERTSITE_ENCRYPTION_KEYS_OLD))


def secret_seal(value: str) -> dict[str, str]:
    return {ENCRYPTED: fernet().encrypt(value.encode()).decode()}


def secret_open(value: Any) -> str:
    """The clear text of a sealed value (or the value itself when it was never sealed)."""
    if is_sealed(value):
        try:
            return fernet().decrypt(value[ENCRYPTED].encode()).decode()
        except InvalidToken as exc:
            raise ImproperlyConfigured("A channel secret cannot be decrypted with the configured keys.") from exc
    return value if isinstance(value, str) else ""


def secret_rotate(value: Any) -> Any:
    return {ENCRYPTED: fernet().rotate(value[ENCRYPTED].encode()).decode()} if is_sealed(value) else value


def is_sealed(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {ENCRYPTED}

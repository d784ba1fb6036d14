"""What a production start refuses, and how it says so: one line naming the setting and the fix.

Settings call the key checks while they load (`keys_refusal`), so every entry point (manage.py,
gunicorn, celery) stops before serving anything with a weak SECRET_KEY or no usable
ALERTSITE_ENCRYPTION_KEY. `manage.py` (its serving and migrating commands) and the WSGI/ASGI
entry points also check the database can be reached (`database_refusal`). Both hand the
message to `refuse`, which prints it without a traceback and exits.
"""

from __future__ import annotations

import sys
from typing import NoReturn

# Django's own bar for a secret key (its deploy check security.W009), so the two never disagree.
from django.core.checks.security.base import (
    SECRET_KEY_INSECURE_PREFIX,
    SECRET_KEY_MIN_LENGTH,
    SECRET_KEY_MIN_UNIQUE_CHARACTERS,
)
from django.core.exceptions import ImproperlyConfigured

GENERATE_SECRET_KEY = "python3 -c 'import secrets; print(secrets.token_urlsafe(50))'"
GENERATE_ENCRYPTION_KEY = "python3 -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())'"
# gunicorn's APP_LOAD_ERROR: its master stops ("App failed to load") instead of respawning the
# worker for ever; any other caller just sees a non-zero exit.
EXIT_REFUSED = 4


class StartupRefused(ImproperlyConfigured):
    """A setting or a service the product cannot start without; the message says what to do."""


def secret_key_problem(key: str) -> str | None:
    """Why `key` is not good enough for production, or None."""
    if not key:
        return "SECRET_KEY must be set when DEBUG is off"
    if key.startswith(SECRET_KEY_INSECURE_PREFIX):
        return f"SECRET_KEY starts with {SECRET_KEY_INSECURE_PREFIX!r} (a key Django generated for development)"
    if len(key) < SECRET_KEY_MIN_LENGTH:
        return f"SECRET_KEY is {len(key)} characters long; it needs at least {SECRET_KEY_MIN_LENGTH}"
    if len(set(key)) < SECRET_KEY_MIN_UNIQUE_CHARACTERS:
        return (
            f"SECRET_KEY has {len(set(key))} different characters; it needs at least {SECRET_KEY_MIN_UNIQUE_CHARACTERS}"
        )
    return None


def fernet_key_problem(name: str, key: str) -> str | None:
    """Why `key` (the setting `name`) is not a usable Fernet key, or None."""
    from cryptography.fernet import Fernet

    if not key:
        return f"{name} must be set when DEBUG is off (channel and source secrets are encrypted with it)"
    try:
        Fernet(key.encode())
    except ValueError:
        return f"{name} is not a Fernet key (32 bytes, url-safe base64: 44 characters ending in '=')"
    return None


def keys_refusal(secret_key: str, encryption_key: str, old_encryption_keys: list[str]) -> StartupRefused | None:
    """The refusal for the first unusable key of a production start, or None when all are usable."""
    problem = secret_key_problem(secret_key)
    if problem:
        return StartupRefused(f"{problem}. Generate one with: {GENERATE_SECRET_KEY}")
    problems = [fernet_key_problem("ALERTSITE_ENCRYPTION_KEY", encryption_key)]
    problems += [
        fernet_key_problem(f"ALERTSITE_ENCRYPTION_KEYS_OLD (item {number})", key)
        for number, key in enumerate(old_encryption_keys, start=1)
    ]
    problem = next((problem for problem in problems if problem), None)
    if problem:
        return StartupRefused(f"{problem}. Generate one with: {GENERATE_ENCRYPTION_KEY}")
    return None


def database_refusal() -> StartupRefused | None:
    """A refusal naming DATABASE_URL's host when no connection can be opened, or None (the connection is closed again)."""
    from django.db import connection
    from django.db.utils import OperationalError

    try:
        connection.ensure_connection()
    except OperationalError as exc:
        where = connection.settings_dict.get("HOST") or "localhost"
        port = connection.settings_dict.get("PORT")
        reason = " ".join(str(exc).split())  # psycopg's message spans lines
        target = f"{where}:{port}" if port else where
        return StartupRefused(f"DATABASE_URL: cannot connect to the database at {target}: {reason}")
    finally:
        connection.close()  # a forking server must not hand this connection to its workers
    return None


def refuse(refusal: ImproperlyConfigured) -> NoReturn:
    """Print one line to stderr and exit non-zero: no traceback for a configuration problem."""
    print(f"alertsite: refusing to start: {refusal}", file=sys.stderr)
    raise SystemExit(EXIT_REFUSED)

"""Keys for the embedded default, generated once into a git-ignored file.

A newcomer runs the console with no environment at all; the secret key and the
encryption key must still be random and must survive restarts (sessions, tokens and
encrypted channel secrets depend on them), so they are written to a local file.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from pathlib import Path


def local_secret(path: Path, name: str) -> str:
    """Return the named secret from `path`, creating it (and the file) on first use."""
    values: dict[str, str] = {}
    if path.exists():
        values = json.loads(path.read_text())
    if name not in values:
        values[name] = _new_secret(name)
        tmp = path.with_suffix(".tmp")
        # Created 0600 from the start: the keys are never readable by other users.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(json.dumps(values, indent=2))
        tmp.replace(path)
    return values[name]


def _new_secret(name: str) -> str:
    if name == "ENCRYPTION_KEY":
        # Fernet-compatible: 32 url-safe base64-encoded bytes.
        return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    return secrets.token_urlsafe(50)

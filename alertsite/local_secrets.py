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
        tmp.write_text(json.dumps(values, indent=2))
        os.chmod(tmp, 0o600)
        tmp.replace(path)
    return values[name]


def _new_secret(name: str) -> str:
    if name == "ENCRYPTION_KEY":
        # Fernet-compatible: 32 url-safe base64-encoded bytes.
        return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    return secrets.token_urlsafe(50)

"""Standard Webhooks signatures (https://www.standardwebhooks.com): the `"standard"` option of a
webhook's `config.signature`, so receivers can verify with an off-the-shelf library.

The secret is `whsec_` followed by the base64 of the key bytes; the signed content is
`<webhook-id>.<webhook-timestamp>.<body>`, and `webhook-signature` is `v1,<base64 HMAC-SHA256>`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

PREFIX = "whsec_"
MIN_KEY_BYTES = 24
MAX_KEY_BYTES = 64
SIGNATURES = ("alertsite", "standard")


def secret_key(secret: str) -> bytes:
    """The key bytes of a `whsec_` secret; ValueError saying what is wrong otherwise."""
    if not secret.startswith(PREFIX):
        raise ValueError(f"A Standard Webhooks secret starts with {PREFIX} followed by base64.")
    try:
        key = base64.b64decode(secret[len(PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"What follows {PREFIX} must be base64 (A-Z, a-z, 0-9, +, /, = padding).") from None
    if not MIN_KEY_BYTES <= len(key) <= MAX_KEY_BYTES:
        raise ValueError(f"The key must be {MIN_KEY_BYTES} to {MAX_KEY_BYTES} bytes once decoded; got {len(key)}.")
    return key


def signature_headers(secret: str, *, message_id: str, timestamp: str, body: bytes) -> dict[str, str]:
    """The three headers of a signed request."""
    content = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), content, hashlib.sha256).digest()
    return {
        "webhook-id": message_id,
        "webhook-timestamp": timestamp,
        "webhook-signature": "v1," + base64.b64encode(digest).decode(),
    }

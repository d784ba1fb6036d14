"""PagerDuty v3 webhook signatures: `X-PagerDuty-Signature: v1=<hex HMAC-SHA256 of the raw body>`.

PagerDuty may list several comma-separated signatures (while a subscription's secret is being
rotated); one matching signature made with the channel's `webhook_secret` is enough.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from alertsite.crypto import secret_open


def pagerduty_signature(secret: str, body: bytes) -> str:
    """The `v1=` signature PagerDuty sends for `body` (also what tests sign their webhooks with)."""
    return "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_valid(config: dict[str, Any], body: bytes, header: str | None) -> bool:
    """Whether `header` carries a signature of `body` by the channel's webhook secret."""
    if not header or not config.get("webhook_secret"):
        return False
    expected = pagerduty_signature(secret_open(config["webhook_secret"]), body)
    found = False
    for candidate in header.split(","):
        # Compare every candidate (no early exit), so timing says nothing about which one matched.
        found |= hmac.compare_digest(candidate.strip().encode(), expected.encode())
    return found

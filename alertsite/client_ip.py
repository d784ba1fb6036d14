"""The address a request came from: the one place that decides it (login throttling and login events).

REMOTE_ADDR for now. Behind a reverse proxy every request would seem to come from the proxy, so a
trusted-proxy setting belongs here, and only here, when one is added (X-Forwarded-For is written by
the client unless a proxy we trust overwrites it, so it must never be read unconditionally).
"""

from __future__ import annotations

from typing import Any


def client_ip(request: Any) -> str:
    """The client's IP address as a string, or "" when the server did not say."""
    return str(request.META.get("REMOTE_ADDR") or "")

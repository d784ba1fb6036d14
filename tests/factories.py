"""Valid defaults for test data; tests override only the fields that matter to them."""

from __future__ import annotations


def make_event(**overrides: object) -> dict[str, object]:
    """A valid Directory-Insights-shaped event; override only what the test is about."""
    event: dict[str, object] = {
        "id": "65f0a1b2c3d4e5f6a7b8c902",
        "event_type": "user_login_attempt",
        "service": "directory",
        "timestamp": "2025-03-02T09:16:41.077Z",
        "initiated_by": {"id": "61c0ffee0000000000000a02", "type": "user", "email": "bob.smith@example.com"},
        "client_ip": "198.51.100.77",
        "geoip": {"country_code": "DE"},
        "success": False,
    }
    event.update(overrides)
    return {key: value for key, value in event.items() if value is not ...}

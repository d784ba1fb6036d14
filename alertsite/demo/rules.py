"""The rules `manage.py demo_setup` creates on a fresh install, so the simulated traffic raises alerts
from several rules at every priority (not two dozen from one rule).

Plain rule bodies in the API's shape (this package knows no app); the command hands them to
`rules.services.rule_create`. Those with a `template` start from that built-in template and
override what is given. The simulator's traffic decides what fires: logins dominate, ~6.5% of
user logins fail, a few percent of SSO and RADIUS attempts fail, brute-force bursts are rare.
"""

from __future__ import annotations

from typing import Any

from alertsite.demo.simulator import HOME_LOCATIONS

# Where the demo organisation works: the simulated workforce's home countries in North America,
# Europe and Oceania. Logins of its few people in Asia and South America, and from the rare
# unusual places (attackers), are "not in the list".
ALLOWED_COUNTRIES = sorted(
    {geo["country_code"] for _, geo in HOME_LOCATIONS if geo["continent_code"] in ("NA", "EU", "OC")}
)


def _failed(event_type: str) -> dict[str, Any]:
    return {"event_type": event_type, "filters": [{"key": "success", "operator": "eq", "value": False}]}


def _outside_allowed(event_type: str) -> dict[str, Any]:
    return {
        "event_type": event_type,
        "filters": [
            {"key": "success", "operator": "eq", "value": True},
            {"key": "geoip.country_code", "operator": "exists"},
            {"key": "geoip.country_code", "operator": "not_in", "value": ALLOWED_COUNTRIES},
        ],
    }


DEMO_RULES: tuple[dict[str, Any], ...] = (
    {"template": "failed_admin_logins", "name": "Failed admin logins"},
    {"template": "brute_force_user_logins", "name": "Brute-force user logins"},
    {
        "template": "login_outside_allowed_countries",
        "name": "Login from a country not in the list",
        "description": "A successful login from outside North America, Europe and Oceania, where the demo organisation works.",
        "conditions": [_outside_allowed("user_login_attempt"), _outside_allowed("admin_login_attempt")],
    },
    {"template": "user_lockout", "name": "User lockout"},
    {"template": "sso_failures", "name": "SSO failures"},
    {
        "name": "RADIUS authentication failures",
        "description": "A Wi-Fi or VPN (RADIUS) login failed. Failures of one user within an hour add to the same alert.",
        "priority": "medium",
        "conditions": [_failed("radius_auth_attempt")],
        "group_by": ["initiated_by.username"],
        "group_window_minutes": 60,
    },
    {
        "name": "Failed user logins",
        "description": "A User Portal login failed. Failures of one user within an hour add to the same alert.",
        "priority": "low",
        "conditions": [_failed("user_login_attempt")],
        "group_by": ["initiated_by.email"],
        "group_window_minutes": 60,
    },
    {
        "name": "Password Manager item revealed",
        "description": "A user revealed a stored password in the Password Manager. One alert per user and hour.",
        "priority": "low",
        "conditions": [{"event_type": "passwordmanager_item_reveal"}],
        "group_by": ["initiated_by.email"],
        "group_window_minutes": 60,
    },
)

"""Sample event sets for the detection templates (rules.templates_catalog): each fires exactly once.

Every set is built from the vendor-shaped fixtures (tests/fixtures/event-samples) with only
what the story needs changed, as a stream in event-time order starting at `start`. For a
new_value template the first `learned` events are what the rule already knows (stored before it
is saved, or before a preview's window); of the rest, only the last counts (a new value, or
the last step of a sequence); the ones between are the near misses.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "event-samples"

JANE = {"id": "61c0ffee0000000000000a01", "type": "user", "username": "jane.doe", "email": "jane.doe@example.com"}
CAROL = {"id": "61c0ffee0000000000000a03", "type": "user", "username": "carol.ng", "email": "carol.ng@example.com"}
IT_ADMIN = {"id": "60a1b2c3d4e5f60718293a4b", "type": "admin", "email": "it.admin@example.com"}
HELPDESK = {"id": "60a1b2c3d4e5f60718293a4c", "type": "admin", "email": "helpdesk@example.com"}


@cache
def _sample(name: str) -> tuple[dict[str, Any], ...]:
    loaded = json.loads((SAMPLES / f"{name}.json").read_text())
    return tuple(loaded if isinstance(loaded, list) else [loaded])


def _stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


class Stream:
    """Builds events at minutes after `start`, each with a unique id under `tag`."""

    def __init__(self, start: datetime, tag: str) -> None:
        self.start, self.tag, self.count = start, tag, 0

    def event(self, base: dict[str, Any], minutes: float, **changes: Any) -> dict[str, Any]:
        self.count += 1
        event = copy.deepcopy(base)
        event.update(copy.deepcopy(changes))
        event["id"] = f"{self.tag}-{self.count:03d}"
        event["timestamp"] = _stamp(self.start + timedelta(minutes=minutes))
        return event


def _object_event(event_type: str, *, initiated_by: dict[str, Any], resource: dict[str, Any]) -> dict[str, Any]:
    """A directory object event shaped like the user_update fixture (the vendor's common shape)."""
    base = copy.deepcopy(_sample("user_update")[0])
    base.update(event_type=event_type, initiated_by=initiated_by, resource=resource, changes=[], success=True)
    return base


def _geo(country: str) -> dict[str, Any]:
    return {"country_code": country}


def login_new_country(start: datetime) -> list[dict[str, Any]]:
    jane_login = _sample("user_login_attempt")[0]  # success, US, Mac
    stream = Stream(start, "lnc")
    return [
        stream.event(jane_login, 0),
        stream.event(jane_login, 60 * 24),  # US again a day later: seen before
        stream.event(jane_login, 60 * 24 + 5, success=False, geoip={**jane_login["geoip"], **_geo("DE")}),  # failed
        stream.event(jane_login, 60 * 48, geoip={**jane_login["geoip"], **_geo("DE")}),  # fires
    ]


def first_admin_privilege_grant(start: datetime) -> list[dict[str, Any]]:
    granted_jane = _object_event("user_admin_granted", initiated_by=IT_ADMIN, resource=JANE)
    granted_carol = _object_event("user_admin_granted", initiated_by=IT_ADMIN, resource=CAROL)
    stream = Stream(start, "fapg")
    return [
        stream.event(granted_jane, 0),
        stream.event(granted_jane, 60 * 24 * 3),  # Jane again: not her first
        stream.event(granted_carol, 60 * 24 * 4),  # fires: Carol's first
    ]


def totp_disabled_then_password_changed(start: datetime) -> list[dict[str, Any]]:
    disabled = _sample("admin_totp_disable")[0]  # it.admin disables helpdesk's TOTP
    changed = _object_event("admin_password_change", initiated_by=IT_ADMIN, resource=disabled["resource"])
    changed["changes"] = [{"field": "password"}]
    stream = Stream(start, "tdpc")
    return [
        stream.event(disabled, 0),
        stream.event(changed, 25),  # 25 minutes later: too late
        stream.event(disabled, 60),
        stream.event(changed, 64),  # fires: within 10 minutes
    ]


def password_reset_then_login_new_country(start: datetime) -> list[dict[str, Any]]:
    reset = _object_event("user_password_reset_request", initiated_by=JANE, resource=JANE)
    login = _sample("user_login_attempt")[0]
    stream = Stream(start, "prln")
    return [
        stream.event(login, 0, geoip={**login["geoip"], **_geo("BR")}),  # abroad, but no reset before it
        stream.event(reset, 10),
        stream.event(login, 15),  # from the US: an allowed country
        stream.event(login, 40, geoip={**login["geoip"], **_geo("BR")}),  # fires
    ]


def admin_privilege_granted_then_revoked(start: datetime) -> list[dict[str, Any]]:
    granted = _object_event("user_admin_granted", initiated_by=IT_ADMIN, resource=CAROL)
    revoked = _object_event("user_admin_revoked", initiated_by=IT_ADMIN, resource=CAROL)
    revoked_jane = _object_event("user_admin_revoked", initiated_by=IT_ADMIN, resource=JANE)
    stream = Stream(start, "apgr")
    return [
        stream.event(revoked, 0),  # revoked before any grant: no sequence
        stream.event(granted, 5),
        stream.event(revoked_jane, 20),  # someone else's revoke
        stream.event(revoked, 50),  # fires: Carol's, 45 minutes after the grant
    ]


def admin_login_new_device_type(start: datetime) -> list[dict[str, Any]]:
    login = _sample("admin_login_attempt")[0]  # it.admin, success, Mac
    stream = Stream(start, "alnd")
    iphone = {**login["useragent"], "device": "iPhone", "os_name": "iOS"}
    return [
        stream.event(login, 0),
        stream.event(login, 60 * 24),  # Mac again
        stream.event(login, 60 * 24 + 1, success=False, useragent=iphone),  # failed: not a login
        stream.event(login, 60 * 24 * 2, useragent=iphone),  # fires
    ]


@dataclass(frozen=True)
class SampleSet:
    learned: list[dict[str, Any]]
    live: list[dict[str, Any]]

    @property
    def firing(self) -> dict[str, Any]:
        return self.live[-1]


# How many events at the start of each set are the learned history (new_value templates).
LEARNED = {"login_new_country": 1, "first_admin_privilege_grant": 1, "admin_login_new_device_type": 1}


def sample_set(slug: str, start: datetime) -> SampleSet:
    events = SAMPLE_SETS[slug](start)
    learned = LEARNED.get(slug, 0)
    return SampleSet(learned=events[:learned], live=events[learned:])


SAMPLE_SETS: dict[str, Callable[[datetime], list[dict[str, Any]]]] = {
    "login_new_country": login_new_country,
    "first_admin_privilege_grant": first_admin_privilege_grant,
    "totp_disabled_then_password_changed": totp_disabled_then_password_changed,
    "password_reset_then_login_new_country": password_reset_then_login_new_country,
    "admin_privilege_granted_then_revoked": admin_privilege_granted_then_revoked,
    "admin_login_new_device_type": admin_login_new_device_type,
}

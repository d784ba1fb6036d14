"""What a source may be set to (api.md §8): checked, defaulted and sealed before it is stored.

Every check answers the path of the bad field and what is wrong; the API key is sealed at
rest like webhook secrets and shown as ******** everywhere else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from alertsite.crypto import MASK, secret_open, secret_seal
from alertsite.errors import FieldErrors
from alertsite.netsafety import UnsafeDestination, url_check
from events.catalog import ALL_SERVICES, VENDOR_SERVICES
from events.validation import parse_timestamp

DEFAULT_BASE_URL = "https://api.jumpcloud.com"
# What a source may pull: "all", or any of the vendor's services.
SOURCE_SERVICES = (ALL_SERVICES, *VENDOR_SERVICES)
ORG_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
DEFAULT_ORG = "default"  # the cursor of the key's own organisation (no x-org-id header)
MAX_PAGE_LIMIT = 10_000
INTERVAL_RANGE = (10, 86_400)
OVERLAP_RANGE = (0, 86_400)
TIMEOUT_RANGE = (1, 300)
FIELDS = (
    "base_url",
    "api_key",
    "org_ids",
    "services",
    "start_time",
    "poll_interval_seconds",
    "page_limit",
    "overlap_seconds",
    "timeout_seconds",
)


class SourceConfigError(FieldErrors):
    """Problems with a source: path of each bad field -> message."""


@dataclass(frozen=True, slots=True)
class SourceConfig:
    """A stored config, read back. The key stays sealed until `api_key` is read (the poller only:
    never log it), so reading the schedule or the organisations never needs the encryption key."""

    base_url: str
    sealed_key: Any
    org_ids: tuple[str, ...]
    services: tuple[str, ...]
    start_time: datetime
    poll_interval_seconds: int
    page_limit: int
    overlap_seconds: int
    timeout_seconds: int

    @classmethod
    def from_stored(cls, config: dict[str, Any]) -> SourceConfig:
        start = parse_timestamp(config["start_time"])
        assert isinstance(start, datetime)
        return cls(
            base_url=config["base_url"].rstrip("/"),
            sealed_key=config["api_key"],
            org_ids=tuple(config.get("org_ids") or ()),
            services=tuple(config.get("services") or ("all",)),
            start_time=start,
            poll_interval_seconds=int(config["poll_interval_seconds"]),
            page_limit=int(config["page_limit"]),
            overlap_seconds=int(config["overlap_seconds"]),
            timeout_seconds=int(config.get("timeout_seconds") or settings.ALERTSITE_SOURCE_TIMEOUT_SECONDS),
        )

    @property
    def api_key(self) -> str:
        """The key in clear; ImproperlyConfigured when the configured keys cannot open it."""
        return secret_open(self.sealed_key)

    @property
    def orgs(self) -> tuple[str, ...]:
        """The cursors to poll: each org id on its own, or the key's own organisation."""
        return self.org_ids or (DEFAULT_ORG,)


def max_backfill() -> timedelta:
    return timedelta(days=settings.ALERTSITE_SOURCE_MAX_BACKFILL_DAYS)


def iso(moment: datetime) -> str:
    """RFC 3339 in UTC with milliseconds and a Z, as the vendor writes timestamps."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _int_in(errors: dict[str, str], field: str, value: Any, bounds: tuple[int, int]) -> int:
    low, high = bounds
    if isinstance(value, bool) or not isinstance(value, int):
        errors[f"config.{field}"] = f"Must be a whole number from {low:,} to {high:,}."
        return low
    if not low <= value <= high:
        errors[f"config.{field}"] = f"Must be from {low:,} to {high:,}; got {value:,}."
    return value


def source_config_clean(
    raw: Any, previous: dict[str, Any] | None = None, *, now: datetime | None = None
) -> dict[str, Any]:
    """Check a config as sent (a partial one on update: missing fields keep their stored value).

    Answers the config to store: defaults filled in, `api_key` sealed. An `api_key` of
    ******** or left out on update keeps the stored key.
    """
    if not isinstance(raw, dict):
        raise SourceConfigError({"config": "Must be a JSON object."})
    now = now or timezone.now()
    previous = previous or {}
    errors: dict[str, str] = {}
    for unknown in sorted(set(raw) - set(FIELDS)):
        errors[f"config.{unknown}"] = f"Unknown field; the fields are {', '.join(FIELDS)}."
    merged = {**previous, **raw}

    base_url = merged.get("base_url", DEFAULT_BASE_URL)
    if not isinstance(base_url, str) or not base_url.strip():
        errors["config.base_url"] = "Must be the vendor's base URL, e.g. https://api.jumpcloud.com."
    else:
        base_url = base_url.strip().rstrip("/")
        if base_url != previous.get("base_url") or "base_url" in raw:
            try:
                url_check(base_url, resolve=True, allow_private=settings.ALERTSITE_SOURCE_ALLOW_PRIVATE)
            except UnsafeDestination as exc:
                hint = (
                    " (ALERTSITE_SOURCE_ALLOW_PRIVATE=true allows it)"
                    if "loopback" in str(exc) or "private" in str(exc)
                    else ""
                )
                errors["config.base_url"] = f"{exc}{hint}"

    api_key: Any = raw.get("api_key", MASK if previous.get("api_key") else None)
    if api_key == MASK and previous.get("api_key"):
        sealed_key = previous["api_key"]
    elif not isinstance(api_key, str) or not api_key.strip():
        errors["config.api_key"] = "The Directory Insights API key is required."
        sealed_key = None
    elif len(api_key) > 512 or any(ch.isspace() or ord(ch) < 32 for ch in api_key.strip()):
        errors["config.api_key"] = (
            "Must be the API key as the vendor's console shows it: no spaces, at most 512 characters."
        )
        sealed_key = None
    else:
        sealed_key = secret_seal(api_key.strip())

    org_ids = merged.get("org_ids") or []
    if not isinstance(org_ids, list) or not all(isinstance(org, str) for org in org_ids):
        errors["config.org_ids"] = (
            "Must be a list of organisation ids (strings); empty means the key's own organisation."
        )
        org_ids = []
    else:
        org_ids = [org.strip() for org in org_ids]
        for index, org in enumerate(org_ids):
            if not ORG_ID_RE.fullmatch(org):
                errors[f"config.org_ids[{index}]"] = (
                    f"Must be 1 to 64 characters of A-Z, a-z, 0-9, '_' or '-'; got {org[:70]!r}."
                )
            elif org == DEFAULT_ORG:
                errors[f"config.org_ids[{index}]"] = (
                    f"{DEFAULT_ORG!r} is reserved for the key's own organisation: leave the list empty."
                )
            elif org in org_ids[:index]:
                errors[f"config.org_ids[{index}]"] = f"{org!r} is listed twice."

    services = merged.get("services", ["all"])
    if not isinstance(services, list) or not services or not all(isinstance(s, str) for s in services):
        errors["config.services"] = f"Must be a non-empty list of {', '.join(SOURCE_SERVICES)}."
        services = ["all"]
    else:
        for index, service in enumerate(services):
            if service not in SOURCE_SERVICES:
                errors[f"config.services[{index}]"] = (
                    f"Unknown service {service[:70]!r}; one of {', '.join(SOURCE_SERVICES)}."
                )
        services = list(dict.fromkeys(services))

    start_raw = merged.get("start_time")
    start_text = iso(now - timedelta(hours=24))
    if start_raw is None:
        pass
    elif "start_time" not in raw or start_raw == previous.get("start_time"):
        start_text = start_raw  # stored before: not re-checked against a moving "now"
    else:
        parsed = parse_timestamp(start_raw)
        if isinstance(parsed, str):
            errors["config.start_time"] = f"Start time {parsed}."
        elif parsed > now:
            errors["config.start_time"] = "Must not be in the future."
        elif parsed < now - max_backfill():
            errors["config.start_time"] = (
                f"May go back at most {max_backfill().days} days (the vendor's retention; "
                "ALERTSITE_SOURCE_MAX_BACKFILL_DAYS raises it)."
            )
        else:
            start_text = iso(parsed)

    config = {
        "base_url": base_url,
        "api_key": sealed_key,
        "org_ids": org_ids,
        "services": services,
        "start_time": start_text,
        "poll_interval_seconds": _int_in(
            errors, "poll_interval_seconds", merged.get("poll_interval_seconds", 60), INTERVAL_RANGE
        ),
        "page_limit": _int_in(errors, "page_limit", merged.get("page_limit", 1000), (1, MAX_PAGE_LIMIT)),
        "overlap_seconds": _int_in(errors, "overlap_seconds", merged.get("overlap_seconds", 300), OVERLAP_RANGE),
        "timeout_seconds": _int_in(
            errors,
            "timeout_seconds",
            merged.get("timeout_seconds", settings.ALERTSITE_SOURCE_TIMEOUT_SECONDS),
            TIMEOUT_RANGE,
        ),
    }
    if errors:
        raise SourceConfigError(errors)
    return config


def source_config_public(config: dict[str, Any]) -> dict[str, Any]:
    """The config as the API and console show it: the key masked."""
    shown = dict(config)
    shown["api_key"] = MASK if config.get("api_key") else ""
    return shown

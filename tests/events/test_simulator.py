"""The event simulator and the `simulate_events` command."""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from alertsite.demo.simulator import LOCKOUT_AFTER, EventSimulator
from events.models import AuditEvent
from events.validation import EventRecord, Limits, event_validate

START = datetime(2025, 3, 2, 9, 0, tzinfo=UTC)
DOCUMENTATION_NETWORKS = [
    ipaddress.ip_network(net) for net in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
]
OBJECT_ID_RE = re.compile(r"^[0-9a-f]{24}$")
UPPER_UUID_RE = re.compile(r"^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$")
TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


@pytest.fixture(scope="module")
def traffic() -> list[dict[str, Any]]:
    return list(EventSimulator(seed=7).events(2000, start=START, rate_per_second=20))


def test_same_seed_gives_same_events() -> None:
    first = list(EventSimulator(seed=42).events(300, start=START, rate_per_second=5))
    second = list(EventSimulator(seed=42).events(300, start=START, rate_per_second=5))
    assert first == second


def test_different_seeds_give_different_events() -> None:
    first = list(EventSimulator(seed=1).events(50, start=START))
    second = list(EventSimulator(seed=2).events(50, start=START))
    assert [e["id"] for e in first] != [e["id"] for e in second]


def test_every_generated_event_passes_validation(traffic: list[dict[str, Any]]) -> None:
    limits = Limits.from_settings()
    for index, event in enumerate(traffic):
        result = event_validate(event, index=index, limits=limits)
        assert isinstance(result, EventRecord), (event["event_type"], result)
        assert result.event_id == event["id"]


def test_traffic_covers_at_least_twenty_event_types(traffic: list[dict[str, Any]]) -> None:
    types = Counter(event["event_type"] for event in traffic)
    assert len(types) >= 20, types
    assert types.most_common(1)[0][0] == "user_login_attempt"


def test_event_ids_are_unique_and_shaped_like_directory_insights_ids(traffic: list[dict[str, Any]]) -> None:
    ids = [event["id"] for event in traffic]
    assert len(set(ids)) == len(ids)
    for event in traffic:
        pattern = UPPER_UUID_RE if event["event_type"] == "radius_auth_attempt" else OBJECT_ID_RE
        assert pattern.match(event["id"]), event["id"]


def test_client_ips_are_only_in_documentation_ranges(traffic: list[dict[str, Any]]) -> None:
    addresses = [event[key] for event in traffic for key in ("client_ip", "src_ip") if event.get(key)]
    assert addresses
    for address in addresses:
        ip = ipaddress.ip_address(address)
        assert any(ip in network for network in DOCUMENTATION_NETWORKS), address
    assert any(ipaddress.ip_address(address).version == 6 for address in addresses)


def test_every_event_has_the_common_directory_insights_fields(traffic: list[dict[str, Any]]) -> None:
    for event in traffic:
        assert TIMESTAMP_RE.match(event["timestamp"]), event["timestamp"]
        assert event["@version"] == "1"
        assert event["organization"]
        assert event["service"]


def test_people_have_example_com_addresses(traffic: list[dict[str, Any]]) -> None:
    emails = {event["initiated_by"]["email"] for event in traffic if "email" in event.get("initiated_by", {})}
    assert emails
    assert all(email.endswith("@example.com") for email in emails)


def test_roughly_eight_percent_of_user_logins_fail() -> None:
    logins = [
        e
        for e in EventSimulator(seed=3).events(10_000, start=START, rate_per_second=50)
        if e["event_type"] == "user_login_attempt"
    ]
    failed = sum(not e["success"] for e in logins) / len(logins)
    assert 0.05 < failed < 0.12


def test_brute_force_burst_ends_in_a_lockout_of_the_victim() -> None:
    simulator = EventSimulator(seed=5, burst_rate=1.0)
    events = list(simulator.events(200, start=START, rate_per_second=10))
    lockout = next(e for e in events if e["event_type"] == "user_lockout")
    victim = lockout["resource"]["username"]
    before = events[: events.index(lockout)]
    failures = [
        e
        for e in before
        if e["event_type"] == "user_login_attempt" and not e["success"] and e["initiated_by"]["username"] == victim
    ]
    assert len(failures) >= LOCKOUT_AFTER
    assert len({e["client_ip"] for e in failures[-LOCKOUT_AFTER:]}) == 1


def test_user_update_changes_record_from_and_to(traffic: list[dict[str, Any]]) -> None:
    updates = [e for e in traffic if e["event_type"] == "user_update"]
    assert updates
    for event in updates:
        assert event["changes"]
        assert all({"field", "from", "to"} <= change.keys() for change in event["changes"])


def test_a_rate_spaces_events_over_time() -> None:
    events = list(EventSimulator(seed=9).events(1000, start=START, rate_per_second=10))
    last = datetime.fromisoformat(events[-1]["timestamp"])
    assert timedelta(seconds=80) < last - START < timedelta(seconds=120)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        EventSimulator().event(datetime(2025, 3, 2, 9, 0))


@pytest.mark.django_db
def test_simulate_events_count_stores_that_many_events() -> None:
    out = StringIO()
    call_command("simulate_events", "--count", "50", stdout=out)
    assert AuditEvent.objects.count() == 50
    assert "accepted 50" in out.getvalue()


@pytest.mark.django_db
def test_backfill_spreads_events_over_the_last_hours() -> None:
    call_command("simulate_events", "--count", "60", "--backfill-hours", "24", "--seed", "1", stdout=StringIO())
    now = timezone.now()
    stamps = list(AuditEvent.objects.values_list("timestamp", flat=True))
    assert len(stamps) == 60
    assert min(stamps) >= now - timedelta(hours=24, minutes=1)
    assert max(stamps) <= now
    assert max(stamps) - min(stamps) > timedelta(hours=20)


@pytest.mark.django_db
def test_live_mode_stores_the_rate_times_the_duration() -> None:
    out = StringIO()
    call_command("simulate_events", "--rate", "25", "--duration", "1", "--seed", "3", stdout=out)
    assert AuditEvent.objects.count() == 25
    assert "(target 25/s)" in out.getvalue()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--count", "0"], "--count must be a positive"),
        (["--rate", "-1"], "--rate must be a positive"),
        (["--duration", "0"], "--duration must be a positive"),
        (["--count", "5", "--backfill-hours", "-2"], "--backfill-hours must not be negative"),
        (["--backfill-hours", "3"], "only applies with --count"),
        (["--count", "5", "--batch-size", "0"], "--batch-size must be between"),
        (["--count", "5", "--rate", "10"], "leave out --rate and --duration"),
    ],
)
def test_invalid_arguments_are_refused_with_a_clear_message(arguments: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("simulate_events", *arguments)

"""Maintenance window occurrences (alerts.maintenance): one-off, recurring, across real DST changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from alerts.maintenance import (
    MUTE_ALERTS,
    MaintenanceInputError,
    WindowSpec,
    calendar_for,
    covers,
    current_end,
    next_start,
    occurrences,
    pattern_before,
    recurrence_normalize,
    recurrence_parse,
    windows_active,
    zone_parse,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def saturday_night(zone: ZoneInfo, first: datetime, **overrides) -> WindowSpec:
    """Saturdays 22:00 to Sunday 02:00 local, from `first` (a Saturday, naive local)."""
    start = first.replace(tzinfo=zone)
    fields = {"recurrence": "RRULE:FREQ=WEEKLY;BYDAY=SA", **overrides}
    return WindowSpec(
        id=1, name="Patching", starts_at=start, ends_at=start + timedelta(hours=4), timezone=zone.key, **fields
    )


def test_a_one_off_window_covers_its_start_and_not_its_end():
    spec = WindowSpec(id=1, name="Once", starts_at=utc(2026, 5, 1, 10), ends_at=utc(2026, 5, 1, 12))
    assert covers(spec, utc(2026, 5, 1, 10))
    assert covers(spec, utc(2026, 5, 1, 11, 59))
    assert not covers(spec, utc(2026, 5, 1, 12))
    assert not covers(spec, utc(2026, 5, 1, 9, 59))


def test_berlin_saturday_night_stays_at_22_local_across_the_spring_change():
    # Europe/Berlin springs forward on Sunday 2026-03-29 at 02:00.
    spec = saturday_night(BERLIN, datetime(2026, 3, 21, 22))
    found = occurrences(spec, utc(2026, 3, 20), utc(2026, 4, 6))
    starts = [begin.astimezone(BERLIN).strftime("%a %H:%M") for begin, _ in found]
    assert starts == ["Sat 22:00", "Sat 22:00", "Sat 22:00"]
    # In UTC the start moves by the hour the clocks moved.
    assert [begin for begin, _ in found] == [utc(2026, 3, 21, 21), utc(2026, 3, 28, 21), utc(2026, 4, 4, 20)]
    # It ends at 02:00 local on the wall clock; on the night of the change 02:00 does not exist,
    # so it ends when the clocks jump (01:00 UTC, shown as 03:00 CEST).
    assert [end for _, end in found] == [utc(2026, 3, 22, 1), utc(2026, 3, 29, 1), utc(2026, 4, 5, 0)]
    assert [end.astimezone(BERLIN).hour for _, end in found] == [2, 3, 2]


def test_berlin_window_across_the_autumn_change_ends_at_the_first_2_oclock():
    # Europe/Berlin falls back on Sunday 2026-10-25 from 03:00 CEST to 02:00 CET: 02:00 comes twice.
    spec = saturday_night(BERLIN, datetime(2026, 10, 17, 22))
    (first, _), (second, second_end), (third, _) = occurrences(spec, utc(2026, 10, 17), utc(2026, 11, 1))
    assert first == utc(2026, 10, 17, 20)
    assert second == utc(2026, 10, 24, 20)  # 22:00 CEST
    assert second_end == utc(2026, 10, 25, 0)  # the first 02:00 (CEST)
    assert third == utc(2026, 10, 31, 21)  # 22:00 CET
    assert covers(spec, utc(2026, 10, 24, 23, 30))
    assert not covers(spec, utc(2026, 10, 25, 0, 30))


def test_new_york_window_follows_its_own_change_not_europes():
    # America/New_York springs forward on 2026-03-08; Europe two weeks later.
    spec = saturday_night(NEW_YORK, datetime(2026, 3, 7, 22))
    found = occurrences(spec, utc(2026, 3, 7), utc(2026, 3, 15, 12))
    assert [begin for begin, _ in found] == [utc(2026, 3, 8, 3), utc(2026, 3, 15, 2)]
    assert all(begin.astimezone(NEW_YORK).hour == 22 for begin, _ in found)
    assert covers(spec, utc(2026, 3, 15, 5, 59))  # 01:59 EDT, Sunday
    assert not covers(spec, utc(2026, 3, 15, 6))  # 02:00 EDT


def test_a_recurring_window_covers_only_inside_an_occurrence():
    spec = saturday_night(BERLIN, datetime(2026, 3, 21, 22))
    assert covers(spec, utc(2026, 3, 28, 23))
    assert not covers(spec, utc(2026, 3, 28, 20, 59))
    assert not covers(spec, utc(2026, 3, 25, 23))  # a Wednesday
    assert not covers(spec, utc(2026, 3, 14, 22))  # before the first occurrence


def test_next_start_and_current_end():
    spec = saturday_night(BERLIN, datetime(2026, 3, 21, 22))
    assert next_start(spec, utc(2026, 3, 25)) == utc(2026, 3, 28, 21)
    assert current_end(spec, utc(2026, 3, 25)) is None
    assert current_end(spec, utc(2026, 3, 28, 22)) == utc(2026, 3, 29, 1)
    once = WindowSpec(id=2, name="Once", starts_at=utc(2026, 5, 1, 10), ends_at=utc(2026, 5, 1, 12))
    assert next_start(once, utc(2026, 4, 1)) == utc(2026, 5, 1, 10)
    assert next_start(once, utc(2026, 5, 1, 11)) is None


def test_count_and_until_end_a_recurrence():
    spec = saturday_night(BERLIN, datetime(2026, 3, 21, 22), recurrence="RRULE:FREQ=WEEKLY;BYDAY=SA;COUNT=2")
    assert next_start(spec, utc(2026, 3, 29)) is None
    assert len(occurrences(spec, utc(2026, 3, 1), utc(2026, 6, 1))) == 2


def test_an_occurrence_open_before_the_range_is_included():
    spec = saturday_night(BERLIN, datetime(2026, 3, 21, 22))
    assert occurrences(spec, utc(2026, 3, 21, 23), utc(2026, 3, 22)) == [(utc(2026, 3, 21, 21), utc(2026, 3, 22, 1))]


def test_windows_active_and_scope():
    once = WindowSpec(id=1, name="A", starts_at=utc(2026, 5, 1), ends_at=utc(2026, 5, 2), priorities=("low",))
    later = WindowSpec(id=2, name="B", starts_at=utc(2026, 6, 1), ends_at=utc(2026, 6, 2))
    assert windows_active([once, later], utc(2026, 5, 1, 12)) == [once]
    assert once.in_scope(rule_id=3, priority="low", event_type="x")
    assert not once.in_scope(rule_id=3, priority="high", event_type="x")
    scoped = WindowSpec(id=3, name="C", starts_at=utc(2026, 5, 1), ends_at=utc(2026, 5, 2), rule_ids=(7,))
    assert scoped.in_scope(rule_id=7, priority="high", event_type="x")
    assert not scoped.in_scope(rule_id=8, priority="high", event_type="x")


def test_the_calendar_prefers_a_window_that_mutes_alerts():
    quiet = WindowSpec(id=5, name="Notifications", starts_at=utc(2026, 5, 1), ends_at=utc(2026, 5, 2))
    silent = WindowSpec(id=9, name="Alerts", starts_at=utc(2026, 5, 1), ends_at=utc(2026, 5, 2), mute=MUTE_ALERTS)
    calendar = calendar_for([quiet, silent], utc(2026, 5, 1, 1), utc(2026, 5, 1, 2))
    assert calendar.suppressing(rule_id=1, priority="low", event_type="x", at=utc(2026, 5, 1, 1)) == silent
    assert calendar.suppressing(rule_id=1, priority="low", event_type="x", at=utc(2026, 5, 3)) is None
    assert not calendar_for([quiet], utc(2026, 6, 1), utc(2026, 6, 2))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("FREQ=WEEKLY;BYDAY=SA,SU", "RRULE:FREQ=WEEKLY;BYDAY=SA,SU"),
        ("rrule:freq=daily", "RRULE:FREQ=DAILY"),
        (None, ""),
        ("  ", ""),
    ],
)
def test_recurrence_is_normalized(text, expected):
    assert recurrence_normalize(text) == expected


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("RRULE:FREQ=FORTNIGHTLY", "invalid 'FREQ'"),
        ("RRULE:FREQ=WEEKLY;BYDAY=XX", "invalid 'BYDAY'"),
        ("RRULE:BYDAY=SA", "FREQ is required"),
        ("RRULE:FREQ=MINUTELY", "HOURLY or longer"),
        ("RRULE:FREQ=WEEKLY;UNTIL=20270101T000000", "UNTIL values must be specified in UTC"),
    ],
)
def test_an_invalid_rrule_says_what_dateutil_found(text, words):
    with pytest.raises(MaintenanceInputError) as caught:
        recurrence_parse(text, datetime(2026, 3, 21, 22, tzinfo=BERLIN))
    assert caught.value.field == "recurrence"
    assert words in caught.value.message


def test_dtstart_in_the_recurrence_is_refused():
    with pytest.raises(MaintenanceInputError, match="Only an RRULE"):
        recurrence_normalize("DTSTART:20260101T000000Z")


def test_an_unknown_time_zone_is_refused():
    with pytest.raises(MaintenanceInputError) as caught:
        zone_parse("Mars/Olympus_Mons")
    assert caught.value.field == "timezone"
    assert zone_parse("Europe/Berlin").key == "Europe/Berlin"


@pytest.mark.parametrize(
    "recurrence",
    [
        "RRULE:FREQ=HOURLY;INTERVAL=5",
        "RRULE:FREQ=DAILY;BYHOUR=1,13",
        "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=SA,SU",
        "RRULE:FREQ=WEEKLY;BYDAY=SU;UNTIL=20261101T000000Z",
        "RRULE:FREQ=MONTHLY;BYDAY=-1SA",
        "RRULE:FREQ=DAILY;COUNT=400",
    ],
)
def test_occurrences_far_from_the_first_agree_with_dateutil_walking_from_the_start(recurrence):
    """Hourly, daily and weekly rules are generated in segments from later starts; the result is
    the same as walking the rule from its first occurrence, DST changes included."""
    first = datetime(2025, 1, 4, 22, 30, tzinfo=BERLIN)
    spec = WindowSpec(
        id=1,
        name="x",
        starts_at=first,
        ends_at=first + timedelta(hours=1),
        timezone="Europe/Berlin",
        recurrence=recurrence,
    )
    reference = recurrence_parse(recurrence, first)
    for start in (utc(2025, 1, 1), utc(2025, 3, 29), utc(2026, 3, 27), utc(2026, 10, 23), utc(2027, 6, 1)):
        end = start + timedelta(days=9)
        expected = [
            begin.astimezone(UTC)
            for begin in reference.between(start - timedelta(hours=4), end, inc=True)
            if begin.astimezone(UTC) < end and begin.astimezone(UTC) + timedelta(hours=1, minutes=1) > start
        ]
        got = [begin for begin, _ in occurrences(spec, start, end)]
        assert [moment for moment in got if moment + timedelta(hours=1, minutes=1) > start] == expected, start
        following = reference.after(end)
        assert next_start(spec, end) == (following.astimezone(UTC) if following is not None else None)


def test_pattern_before_moves_a_later_weekly_window_back_by_whole_weeks_on_the_wall_clock():
    berlin = ZoneInfo("Europe/Berlin")
    spec = saturday_night(berlin, datetime(2026, 4, 4, 22, tzinfo=berlin))  # after the spring change
    moved = pattern_before(spec, utc(2026, 3, 20))
    assert moved.starts_at.astimezone(berlin) == datetime(2026, 3, 14, 22, tzinfo=berlin)  # before it: 22:00 still
    assert moved.ends_at - moved.starts_at == spec.ends_at - spec.starts_at


def test_pattern_before_leaves_one_off_and_earlier_windows_alone():
    spec = WindowSpec(id=1, name="once", starts_at=utc(2026, 5, 1), ends_at=utc(2026, 5, 2))
    assert pattern_before(spec, utc(2026, 4, 1)) is spec
    weekly = WindowSpec(
        id=2, name="w", starts_at=utc(2026, 3, 1), ends_at=utc(2026, 3, 2), recurrence="RRULE:FREQ=WEEKLY"
    )
    assert pattern_before(weekly, utc(2026, 4, 1)) is weekly

"""Backtesting: how many alerts a stream of matches would open, with grouping and thresholds replayed."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from events.services import event_batch_ingest
from events.validation import Limits, event_validate
from rules.preview import alerts_replay, rule_preview
from tests.factories import make_event

START = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def at(*minutes: float, key: str = "bob") -> list[tuple[datetime, str]]:
    return [(START + timedelta(minutes=m), key) for m in minutes]


def replay(matches: list[tuple[datetime, str]], window: int = 0, threshold: dict[str, int] | None = None) -> int:
    return alerts_replay(matches, group_window_minutes=window, threshold=threshold)


# -- no grouping -----------------------------------------------------------------------------------


def test_no_matches_open_no_alerts():
    assert replay([]) == 0
    assert replay([], window=10, threshold={"count": 2, "window_minutes": 5}) == 0


def test_window_zero_opens_one_alert_per_match():
    assert replay(at(0, 0, 1, 2)) == 4


def test_window_zero_opens_one_alert_per_match_whatever_the_group_key():
    assert replay([*at(0, 1), *at(0, 1, key="carol")]) == 4


# -- group window ----------------------------------------------------------------------------------


def test_matches_within_the_window_join_the_open_alert():
    assert replay(at(0, 2, 4), window=5) == 1


def test_match_exactly_the_window_after_the_last_event_still_joins():
    assert replay(at(0, 5), window=5) == 1


def test_match_beyond_the_window_opens_a_new_alert():
    assert replay(at(0, 5.5), window=5) == 2


def test_window_is_measured_from_the_alerts_last_event_not_its_first():
    assert replay(at(0, 4, 8, 12, 16), window=5) == 1


def test_gap_longer_than_the_window_splits_a_run_of_matches():
    assert replay(at(0, 4, 20, 24), window=5) == 2


def test_each_group_key_has_its_own_alert():
    assert replay([*at(0, 1, 2), *at(0.5, 1.5, key="carol")], window=5) == 2


def test_another_group_keys_match_does_not_extend_an_alert():
    assert replay([*at(0, 8), *at(4, key="carol")], window=5) == 3


# -- threshold -------------------------------------------------------------------------------------

THREE_IN_TEN = {"count": 3, "window_minutes": 10}


def test_threshold_fires_when_n_matches_fall_within_w_minutes():
    assert replay(at(0, 4, 9), threshold=THREE_IN_TEN) == 1


def test_threshold_does_not_fire_below_n_matches():
    assert replay(at(0, 4), threshold=THREE_IN_TEN) == 0


def test_threshold_does_not_fire_when_the_matches_are_spread_wider_than_w():
    assert replay(at(0, 6, 12, 18, 24), threshold=THREE_IN_TEN) == 0


def test_threshold_window_slides():
    # 0 and 6 are within 10 of each other, 0 and 11 are not; 6, 11 and 12 are.
    assert replay(at(0, 6, 11), threshold=THREE_IN_TEN) == 0
    assert replay(at(0, 6, 11, 12), threshold=THREE_IN_TEN) == 1


def test_matches_exactly_w_minutes_apart_are_within_the_window():
    assert replay(at(0, 5, 10), threshold=THREE_IN_TEN) == 1


def test_threshold_fires_once_per_crossing_and_then_matches_join_the_alert():
    assert replay(at(0, 1, 2, 3, 4, 5, 30, 31, 32, 90), threshold=THREE_IN_TEN) == 1


def test_threshold_counts_each_group_key_separately():
    assert replay([*at(0, 1), *at(2, 3, key="carol")], threshold=THREE_IN_TEN) == 0
    assert replay([*at(0, 1, 2), *at(0, 1, 2, key="carol")], threshold=THREE_IN_TEN) == 2


def test_threshold_of_another_key_does_not_join_its_matches():
    assert replay([*at(0, 1, 2), *at(3, 4, key="carol")], threshold=THREE_IN_TEN) == 1


# -- input order -----------------------------------------------------------------------------------


def test_unsorted_matches_are_replayed_in_event_time_order():
    matches = [*at(0, 4, 8, 30, 34), *at(1, 2, 40, key="carol")]
    shuffled = matches[:]
    random.Random(7).shuffle(shuffled)
    assert shuffled != matches
    assert replay(shuffled, window=5) == replay(matches, window=5) == 4
    assert replay(shuffled, threshold=THREE_IN_TEN) == replay(matches, threshold=THREE_IN_TEN) == 1


def test_unsorted_matches_within_the_window_join():
    assert replay(at(8, 0, 4), window=5) == 1


def test_unsorted_matches_reach_the_threshold():
    assert replay(at(9, 0, 4), threshold=THREE_IN_TEN) == 1


def test_any_iterable_of_matches_is_accepted():
    assert replay(iter(at(0, 1, 2)), window=5) == 1  # type: ignore[arg-type]


# -- over stored events ----------------------------------------------------------------------------


def store(event_id: str, minutes_ago: float, **fields: object) -> None:
    moment = timezone.now() - timedelta(minutes=minutes_ago)
    payload = make_event(id=event_id, timestamp=moment.isoformat().replace("+00:00", "Z"), **fields)
    record = event_validate(payload, index=0, limits=Limits.from_settings())
    assert not isinstance(record, list), record
    event_batch_ingest(records=[record])


VALUES = {
    "conditions": [
        {"event_type": "user_login_attempt", "filters": [{"key": "success", "operator": "eq", "value": False}]}
    ],
    "group_by": ["initiated_by.email"],
    "group_window_minutes": 0,
    "threshold": {"count": 2, "window_minutes": 10},
}


@pytest.mark.django_db
def test_rule_preview_scans_only_the_rules_event_types_since_the_date():
    store("a", 5, success=False)
    store("b", 4, success=False)
    store("c", 3, success=True)
    store("d", 2, success=False, event_type="admin_login_attempt")
    store("old", 60 * 24, success=False)
    result = rule_preview(values=VALUES, since=timezone.now() - timedelta(hours=1), sample_size=1)
    assert (result.scanned, result.matched, result.alerts, result.truncated) == (3, 2, 1, False)
    assert [event.event_id for event in result.sample] == ["b"]

"""Alert Metrics reads (alerts.metrics) on a small fixed data set, their query counts, and the snapshots."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from alerts.metrics import (
    Spread,
    alert_metrics_page,
    alerts_by_category_and_source,
    alerts_per_day,
    metrics_window,
    noisiest_rules,
    page_as_json,
    page_from_json,
    period_parse,
    response_times_per_week,
    spread_of_histogram,
)
from alerts.models import Alert, AlertMetricsSnapshot
from alerts.services.metrics_snapshots import alert_metrics_current, alert_metrics_refresh_all
from alerts.tasks import alert_metrics_refresh_task
from rules.models import Rule
from rules.services import rule_create

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 11, 12, 0, tzinfo=UTC)  # a Wednesday: the 7-day window is Thu Mar 5 .. Wed Mar 11


def at(day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def rule(name: str) -> Rule:
    return rule_create(
        data={"name": name, "priority": "high", "conditions": [{"event_type": "user_login_attempt"}]}, actor=None
    )


def make_alert(
    created: datetime,
    priority: str,
    rule: Rule | None,
    *,
    category: str = "directory",
    source_type: str = "user",
    to_ack: int | None = None,
    to_resolve: int | None = None,
) -> Alert:
    return Alert.objects.create(
        rule=rule,
        rule_name=rule.name if rule else "Gone",
        priority=priority,
        status="resolved" if to_resolve is not None else "acknowledged" if to_ack is not None else "open",
        title="t",
        category=category,
        source_type=source_type,
        source_id="u1" if source_type else "",
        event_type="user_login_attempt",
        first_seen_at=created,
        last_seen_at=created,
        created_at=created,
        seconds_to_acknowledge=to_ack,
        seconds_to_resolve=to_resolve,
    )


@pytest.fixture
def rules() -> tuple[Rule, Rule]:
    return rule("Failed logins"), rule("TOTP disabled")


@pytest.fixture
def fixed_set(rules) -> None:
    """Five alerts in the 7-day window (two ISO weeks) and one just before it."""
    failed, totp = rules
    make_alert(at(11, 10), "high", failed, category="sso", to_ack=60, to_resolve=600)
    make_alert(at(11, 9), "high", failed, to_ack=120)
    make_alert(at(10, 8), "medium", totp, source_type="device", to_ack=600, to_resolve=1200)
    make_alert(at(9), "low", totp, category="", source_type="", to_resolve=300)
    make_alert(at(5), "low", failed, to_ack=30, to_resolve=30)
    make_alert(at(4, 23, 59), "high", failed, to_ack=5, to_resolve=5)  # the day before the window


# -- the window -----------------------------------------------------------------------------------


def test_window_covers_whole_utc_days_ending_today():
    window = metrics_window(7, NOW)
    assert window.start == at(5)
    assert window.dates == [date(2026, 3, d) for d in range(5, 12)]
    assert window.weeks == [date(2026, 3, 2), date(2026, 3, 9)]


@pytest.mark.parametrize(("raw", "days"), [("7", 7), ("90", 90), ("30", 30), ("14", 30), ("x", 30), (None, 30)])
def test_period_is_7_30_or_90_days_and_30_otherwise(raw, days):
    assert period_parse(raw) == days


# -- the numbers ----------------------------------------------------------------------------------


@pytest.mark.usefixtures("fixed_set")
def test_alerts_per_day_counts_each_priority_on_every_day_of_the_window():
    days = {d.day.day: d.by_priority for d in alerts_per_day(metrics_window(7, NOW))}
    assert list(days) == [5, 6, 7, 8, 9, 10, 11]
    assert days[5] == {"high": 0, "medium": 0, "low": 1}
    assert days[6] == {"high": 0, "medium": 0, "low": 0}
    assert days[9] == {"high": 0, "medium": 0, "low": 1}
    assert days[10] == {"high": 0, "medium": 1, "low": 0}
    assert days[11] == {"high": 2, "medium": 0, "low": 0}


@pytest.mark.usefixtures("fixed_set")
def test_response_times_give_median_and_nearest_rank_p90_per_week():
    weeks = response_times_per_week(metrics_window(7, NOW))
    assert [w.week for w in weeks] == [date(2026, 3, 2), date(2026, 3, 9)]
    # Week of Mar 2 holds only the window's Mar 5 alert (Mar 4 is outside the window).
    assert weeks[0].mtta == Spread(1, 30.0, 30.0)
    assert weeks[0].mttr == Spread(1, 30.0, 30.0)
    assert weeks[1].mtta == Spread(3, 120.0, 600.0)
    assert weeks[1].mttr == Spread(3, 600.0, 1200.0)


def test_a_week_without_acknowledgements_has_no_mtta(rules):
    make_alert(at(10), "high", rules[0])
    weeks = response_times_per_week(metrics_window(7, NOW))
    assert weeks[1].mtta == Spread(0, None, None)


def test_median_of_an_even_count_is_the_mean_of_the_two_middle_values():
    assert spread_of_histogram({10: 1, 20: 1, 30: 1, 40: 1}) == Spread(4, 25.0, 40.0)


def test_histogram_percentiles_weigh_repeated_values():
    assert spread_of_histogram({5: 8, 100: 2}) == Spread(10, 5.0, 100.0)
    assert spread_of_histogram({}) == Spread()


@pytest.mark.usefixtures("fixed_set")
def test_noisiest_rules_are_ranked_by_alerts_in_the_window(rules):
    failed, totp = rules
    ranked = noisiest_rules(metrics_window(7, NOW))
    assert [(s.label, s.alerts, s.rule_id) for s in ranked] == [
        ("Failed logins", 3, failed.pk),
        ("TOTP disabled", 2, totp.pk),
    ]


def test_alerts_of_deleted_rules_count_as_one_entry_without_a_link():
    make_alert(at(10), "low", None)
    make_alert(at(11), "low", None)
    (entry,) = noisiest_rules(metrics_window(7, NOW))
    assert (entry.label, entry.alerts, entry.rule_id) == ("Deleted rules", 2, None)


@pytest.mark.usefixtures("fixed_set")
def test_alerts_by_category_count_a_missing_category_as_other():
    breakdown = alerts_by_category_and_source(metrics_window(7, NOW))
    assert [(s.label, s.alerts) for s in breakdown.by_category] == [("Directory", 3), ("Other", 1), ("SSO", 1)]


@pytest.mark.usefixtures("fixed_set")
def test_alerts_by_source_type_name_alerts_about_neither_user_nor_device():
    breakdown = alerts_by_category_and_source(metrics_window(7, NOW))
    assert [(s.key, s.label, s.alerts) for s in breakdown.by_source_type] == [
        ("user", "User", 3),
        ("device", "Device", 1),
        ("", "Neither user nor device", 1),
    ]


@pytest.mark.usefixtures("fixed_set")
def test_longer_periods_include_older_alerts():
    assert alert_metrics_page(7, NOW).total == 5
    assert alert_metrics_page(30, NOW).total == 6


# -- query counts ---------------------------------------------------------------------------------


def test_the_page_costs_four_queries_whatever_the_number_of_alerts(rules, django_assert_num_queries):
    for i in range(3):
        make_alert(at(10, i), "high", rules[0], to_ack=i, to_resolve=i * 2)
    with django_assert_num_queries(4):
        alert_metrics_page(30, NOW)
    for i in range(60):
        make_alert(at(5 + i % 7, i % 24, i), ("high", "medium", "low")[i % 3], rules[i % 2], to_ack=i, to_resolve=i)
    with django_assert_num_queries(4):
        page = alert_metrics_page(30, NOW)
    assert page.total == 63


# -- snapshots ------------------------------------------------------------------------------------


@pytest.mark.usefixtures("fixed_set")
def test_a_page_survives_its_snapshot_round_trip():
    page = alert_metrics_page(30, NOW)
    assert page_from_json(page_as_json(page)) == page


@pytest.mark.usefixtures("fixed_set")
def test_a_fresh_snapshot_is_read_in_one_query(django_assert_num_queries):
    alert_metrics_current(30, NOW)
    with django_assert_num_queries(1):
        page, as_of = alert_metrics_current(30, NOW + timedelta(minutes=3))
    assert (page.total, as_of) == (6, NOW)


def test_a_snapshot_older_than_twice_the_refresh_interval_is_recomputed(rules, settings):
    settings.ALERTSITE_METRICS_REFRESH_SECONDS = 300
    alert_metrics_current(30, NOW)
    make_alert(at(11, 11), "high", rules[0])
    page, _ = alert_metrics_current(30, NOW + timedelta(minutes=9))
    assert page.total == 0  # still the snapshot
    page, as_of = alert_metrics_current(30, NOW + timedelta(minutes=11))
    assert (page.total, as_of) == (1, NOW + timedelta(minutes=11))


def test_a_snapshot_of_yesterday_s_window_is_recomputed(rules):
    alert_metrics_current(7, NOW)
    make_alert(at(12, 0, 5), "low", rules[0])
    page, _ = alert_metrics_current(7, at(12, 0, 10))
    assert page.window.start == at(6)
    assert page.total == 1


@pytest.mark.usefixtures("fixed_set")
def test_the_periodic_job_stores_every_period():
    assert alert_metrics_refresh_task.apply().get() == 3
    assert sorted(AlertMetricsSnapshot.objects.values_list("days", flat=True)) == [7, 30, 90]
    assert alert_metrics_refresh_all() == 3
    assert AlertMetricsSnapshot.objects.count() == 3

"""Insights > Alert Metrics, its CSV downloads and the home sparkline: every signed-in role reads them."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from alerts.models import Alert
from rules.models import Rule
from rules.services import rule_create

pytestmark = pytest.mark.django_db

PAGE = "/insights/alerts/metrics/"
CHARTS = ("alerts-per-day", "response-times", "noisiest-rules", "by-category", "by-source-type")


@pytest.fixture
def failed_logins() -> Rule:
    return rule_create(
        data={"name": "Failed logins", "priority": "high", "conditions": [{"event_type": "user_login_attempt"}]},
        actor=None,
    )


def make_alerts(
    rule: Rule,
    count: int,
    *,
    priority: str = "high",
    days_ago: int = 0,
    to_ack: int | None = 90,
    to_resolve: int | None = None,
) -> None:
    created = timezone.now() - timedelta(days=days_ago, minutes=5)
    Alert.objects.bulk_create(
        Alert(
            rule=rule,
            rule_name=rule.name,
            priority=priority,
            status="resolved" if to_resolve is not None else "acknowledged" if to_ack is not None else "open",
            title=f"Alert {i}",
            category="directory",
            source_type="user",
            source_id=f"u{i}",
            event_type="user_login_attempt",
            first_seen_at=created,
            last_seen_at=created,
            created_at=created,
            seconds_to_acknowledge=to_ack,
            seconds_to_resolve=to_resolve,
        )
        for i in range(count)
    )


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


# -- who may read ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "responder", "viewer"])
def test_every_console_role_opens_the_metrics_page(login, role, failed_logins):
    make_alerts(failed_logins, 2)
    response = login(role).get(PAGE)
    assert response.status_code == 200
    assert "Alert Metrics" in response.content.decode()


@pytest.mark.parametrize("role", ["admin", "responder", "viewer"])
@pytest.mark.parametrize("chart", CHARTS)
def test_every_console_role_downloads_each_chart_as_csv(login, role, chart, failed_logins):
    make_alerts(failed_logins, 2)
    response = login(role).get(f"{PAGE}csv/{chart}/?days=7")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert f'filename="alert-metrics-{chart}-7d.csv"' in response["Content-Disposition"]


def test_anonymous_users_are_asked_to_sign_in():
    assert Client().get(PAGE)["Location"].startswith("/accounts/login")
    assert Client().get(f"{PAGE}csv/alerts-per-day/")["Location"].startswith("/accounts/login")


def test_an_unknown_chart_is_404(login):
    assert login("viewer").get(f"{PAGE}csv/nothing/").status_code == 404


# -- what the page shows --------------------------------------------------------------------------


def test_the_side_navigation_links_to_alert_metrics(login):
    page = login("viewer").get("/").content.decode()
    assert f'href="{PAGE}"' in page and "Alert Metrics" in page


def test_without_alerts_the_page_says_so_instead_of_drawing_charts(login):
    page = login("viewer").get(PAGE).content.decode()
    assert 'data-testid="metrics-empty"' in page
    assert "No alerts in the last 30 days" in page
    assert '<svg class="chart"' not in page


def test_the_page_draws_every_chart_with_its_numbers(login, failed_logins):
    make_alerts(failed_logins, 3, to_resolve=600)
    page = login("viewer").get(PAGE).content.decode()
    for testid in ("chart-alerts-per-day", "chart-mtta", "chart-mttr", "chart-noisiest-rules"):
        assert f'data-testid="{testid}"' in page
    assert 'data-testid="chart-by-category"' in page and 'data-testid="chart-by-source-type"' in page
    assert page.count('<svg class="chart"') == 3  # per day, MTTA, MTTR
    assert "Show the numbers" in page
    assert "3 alerts raised since" in page


def test_a_week_without_resolutions_shows_an_empty_mttr_chart(login, failed_logins):
    make_alerts(failed_logins, 2)  # acknowledged, never resolved
    page = login("viewer").get(PAGE).content.decode()
    assert "has been resolved yet" in page


def test_noisiest_rules_link_to_the_rule(login, failed_logins):
    make_alerts(failed_logins, 2)
    page = login("viewer").get(PAGE).content.decode()
    assert f'href="/insights/alerts/rules/{failed_logins.pk}/edit/"' in page


def test_the_period_switch_offers_7_30_and_90_days_and_marks_the_current_one(login, failed_logins):
    make_alerts(failed_logins, 1, days_ago=20)
    client = login("viewer")
    week = client.get(f"{PAGE}?days=7").content.decode()
    assert 'href="?days=7" aria-current="page"' in week
    assert "0 alerts raised since" in week
    month = client.get(f"{PAGE}?days=30").content.decode()
    assert 'href="?days=30" aria-current="page"' in month and "1 alert raised since" in month
    assert 'href="?days=90"' in month


def test_an_unknown_period_shows_30_days(login):
    page = login("viewer").get(f"{PAGE}?days=12").content.decode()
    assert 'href="?days=30" aria-current="page"' in page


def test_priorities_are_told_apart_without_colour(login, failed_logins):
    make_alerts(failed_logins, 1, priority="medium")
    make_alerts(failed_logins, 1, priority="low")
    page = login("viewer").get(PAGE).content.decode()
    assert 'id="chart-fill-medium"' in page and 'id="chart-fill-low"' in page  # hatched and dotted
    assert 'fill="url(#chart-fill-medium)"' in page
    assert "</svg> High</li>" in page and "</svg> Medium</li>" in page and "</svg> Low</li>" in page


def test_the_page_costs_the_same_queries_with_many_alerts(login, failed_logins, django_assert_max_num_queries):
    client = login("viewer")
    make_alerts(failed_logins, 2)
    client.get(PAGE)  # stores the snapshot
    with django_assert_max_num_queries(6):
        client.get(PAGE)
    make_alerts(failed_logins, 200, days_ago=3)
    with django_assert_max_num_queries(6):
        client.get(PAGE)


# -- CSV ------------------------------------------------------------------------------------------


def test_per_day_csv_lists_every_day_of_the_period_by_priority(login, failed_logins):
    make_alerts(failed_logins, 2, priority="high")
    make_alerts(failed_logins, 1, priority="low", days_ago=1)
    rows = csv_rows(login("viewer").get(f"{PAGE}csv/alerts-per-day/?days=7"))
    assert rows[0] == ["day", "high", "medium", "low", "total"]
    assert len(rows) == 1 + 7
    today = timezone.now().date().isoformat()
    assert rows[-1] == [today, "2", "0", "0", "2"]
    assert rows[-2][1:] == ["0", "0", "1", "1"]


def test_response_times_csv_gives_seconds(login, failed_logins):
    make_alerts(failed_logins, 3, to_ack=120)
    rows = csv_rows(login("viewer").get(f"{PAGE}csv/response-times/?days=7"))
    assert rows[0] == [
        "week_start",
        "acknowledged",
        "mtta_median_seconds",
        "mtta_p90_seconds",
        "resolved",
        "mttr_median_seconds",
        "mttr_p90_seconds",
    ]
    this_week = rows[-1]
    assert this_week[1:4] == ["3", "120.0", "120.0"]
    assert this_week[4:] == ["0", "", ""]


def test_noisiest_rules_csv_names_the_rule_and_its_id(login, failed_logins):
    make_alerts(failed_logins, 4)
    rows = csv_rows(login("viewer").get(f"{PAGE}csv/noisiest-rules/"))
    assert rows == [["rule", "rule_id", "alerts"], ["Failed logins", str(failed_logins.pk), "4"]]


def test_category_and_source_type_csv_give_key_label_and_count(login, failed_logins):
    make_alerts(failed_logins, 2)
    client = login("viewer")
    assert csv_rows(client.get(f"{PAGE}csv/by-category/")) == [
        ["category", "label", "alerts"],
        ["directory", "Directory", "2"],
    ]
    assert csv_rows(client.get(f"{PAGE}csv/by-source-type/")) == [
        ["source_type", "label", "alerts"],
        ["user", "User", "2"],
    ]


def test_each_chart_links_its_csv_for_the_period_shown(login, failed_logins):
    make_alerts(failed_logins, 1)
    page = login("viewer").get(f"{PAGE}?days=90").content.decode()
    for chart in CHARTS:
        assert f'href="{PAGE}csv/{chart}/?days=90"' in page


# -- home sparkline -------------------------------------------------------------------------------


def test_home_shows_a_7_day_sparkline_by_priority_above_the_open_alerts_widget(login, failed_logins):
    make_alerts(failed_logins, 2, priority="high")
    make_alerts(failed_logins, 1, priority="low", days_ago=6)
    make_alerts(failed_logins, 5, priority="low", days_ago=8)  # older than the week
    page = login("viewer").get("/").content.decode()
    assert 'data-testid="alerts-sparkline"' in page
    assert page.index('data-testid="alerts-sparkline"') < page.index('data-testid="open-alerts-widget"')
    assert "3 alerts: 2 high, 0 medium, 1 low" in page
    assert f'href="{PAGE}?days=7"' in page


def test_home_without_alerts_this_week_says_so(login):
    page = login("viewer").get("/").content.decode()
    assert "No alerts in the last 7 days." in page
    assert 'class="sparkline"' not in page

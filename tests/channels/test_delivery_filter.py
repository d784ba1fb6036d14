"""DeliveryFilter: one FilterSet behind `GET /api/v1/deliveries` and the console's delivery log of a channel.

The same filter names give the same deliveries in both; a bad value is a 400 naming the filter in the API
and is ignored by the console.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest

from channels.models import Channel, Delivery

pytestmark = pytest.mark.django_db

API = "/api/v1/deliveries"


@pytest.fixture
def channel() -> Channel:
    """A channel with deliveries of several statuses and kinds, beside another channel's."""
    hook = Channel.objects.create(kind="webhook", name="SOC", config={"url": "http://127.0.0.1:9/hook"})
    other = Channel.objects.create(kind="webhook", name="Other", config={"url": "http://127.0.0.1:9/other"})
    for number, (status, kind) in enumerate(
        [("sent", "test"), ("failed", "alert.created"), ("pending", "alert.created"), ("failed", "test")]
    ):
        Delivery.objects.create(channel=hook, kind=kind, source=f"s{number}", status=status)
    Delivery.objects.create(channel=other, kind="test", source="elsewhere", status="failed")
    return hook


def log_url(channel: Channel) -> str:
    return f"/settings/notification-channels/{channel.pk}/deliveries/"


def api_ids(client, query: dict) -> list[str]:
    response = client.get(API, query)
    assert response.status_code == 200, response.content
    return [item["delivery_id"] for item in response.json()["results"]]


def console_ids(client, channel: Channel, query: dict) -> list[str]:
    response = client.get(f"{log_url(channel)}?{urlencode(query)}")
    assert response.status_code == 200
    return re.findall(r"<td><code>([0-9a-f-]{36})</code></td>", response.content.decode())


@pytest.mark.parametrize(
    "query",
    [{}, {"status": "failed"}, {"status": "sent"}, {"kind": "alert.created"}, {"status": "failed", "kind": "test"}],
    ids=lambda query: urlencode(query) or "no-filter",
)
def test_console_and_api_give_the_same_deliveries_for_the_same_filter(channel, auth_client, login, query):
    expected = api_ids(auth_client("viewer"), {**query, "channel": channel.pk})
    assert expected, "the query should find something"
    assert console_ids(login("viewer"), channel, query) == expected


def test_console_log_shows_only_its_channel_whatever_the_query_says(channel, login):
    other = Channel.objects.get(name="Other")
    ids = console_ids(login("viewer"), channel, {"channel": other.pk})
    assert len(ids) == 4
    assert str(Delivery.objects.get(channel=other).uuid) not in ids


@pytest.mark.parametrize("bad", [{"status": "lost"}, {"channel": "soc"}, {"alert": "-1"}], ids=lambda q: urlencode(q))
def test_api_answers_400_naming_the_bad_filter(channel, auth_client, bad):
    response = auth_client("viewer").get(API, bad)
    assert response.status_code == 400
    assert list(response.json()) == list(bad)


@pytest.mark.parametrize("bad", [{"status": "lost"}, {"alert": "one"}, {"rule": "1.5"}], ids=lambda q: urlencode(q))
def test_console_ignores_a_bad_filter_value(channel, login, bad):
    client = login("viewer")
    assert console_ids(client, channel, bad) == console_ids(client, channel, {})

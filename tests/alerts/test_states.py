"""alerts.states: the one transition table, and the one map from a move's name to the status it reaches."""

from __future__ import annotations

import pytest
from django.urls import reverse

from alerts.api.serializers import BULK_SNOOZE_ACTIONS, BulkInputSerializer
from alerts.models import Alert
from alerts.states import ACTIONS, TRANSITIONS, AlertStatus, action_allowed
from tests.factories import make_event

pytestmark = pytest.mark.django_db


def test_each_action_names_the_status_it_moves_to():
    assert ACTIONS == {
        "acknowledge": AlertStatus.ACKNOWLEDGED,
        "resolve": AlertStatus.RESOLVED,
        "reopen": AlertStatus.OPEN,
    }


@pytest.mark.parametrize("status", AlertStatus.values)
@pytest.mark.parametrize("action", [*ACTIONS, "delete"])
def test_an_action_is_allowed_exactly_where_the_transition_table_allows_its_status(status, action):
    assert action_allowed(status, action) == (action in ACTIONS and ACTIONS[action] in TRANSITIONS[status])


def test_the_api_bulk_endpoint_takes_the_named_actions_and_snoozes():
    assert list(BulkInputSerializer().fields["action"].choices) == [*ACTIONS, *BULK_SNOOZE_ACTIONS]


@pytest.mark.parametrize("status", AlertStatus.values)
def test_the_alert_page_offers_the_moves_the_transition_table_allows(raise_alert, login, status):
    alert = raise_alert(make_event())
    Alert.objects.filter(pk=alert.pk).update(status=status)
    page = login("responder").get(reverse("console-alert-detail", args=[alert.pk])).content.decode()
    offered = {action for action in ACTIONS if reverse("console-alert-action", args=[alert.pk, action]) in page}
    assert offered == {action for action in ACTIONS if action_allowed(status, action)}

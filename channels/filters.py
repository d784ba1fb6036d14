"""The delivery log's filters: one FilterSet for `GET /api/v1/deliveries` and the console's delivery log."""

from __future__ import annotations

import django_filters

from alertsite.filters import IdFilter, ListFilterSet
from channels.models import Delivery, DeliveryStatus


class DeliveryFilter(ListFilterSet):
    channel = IdFilter(field_name="channel_id", help_text="A channel id.")
    status = django_filters.ChoiceFilter(choices=DeliveryStatus.choices)
    alert = IdFilter(field_name="alert_id", help_text="An alert id.")
    rule = IdFilter(field_name="rule_id", help_text="A rule id.")
    kind = django_filters.CharFilter(help_text="The notification type, e.g. alert.created or test.")

    class Meta:
        model = Delivery
        fields = ["channel", "status", "alert", "rule", "kind"]

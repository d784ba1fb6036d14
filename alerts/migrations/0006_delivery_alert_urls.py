"""Notifications now carry the alert's URL (built by alerts); give the unsent ones theirs.

Rows queued before the typed notification had no `alert.url`: channels added it when sending.
"""

from django.conf import settings
from django.db import migrations

UNSENT = ("pending", "sending")


def urls_add(apps, schema_editor):
    Delivery = apps.get_model("channels", "Delivery")
    base = settings.ALERTSITE_BASE_URL.rstrip("/")
    for delivery in Delivery.objects.filter(status__in=UNSENT).iterator():
        alert = (delivery.payload or {}).get("alert")
        if isinstance(alert, dict) and "url" not in alert:
            alert["url"] = f"{base}/insights/alerts/{alert.get('id')}/"
            Delivery.objects.filter(pk=delivery.pk).update(payload=delivery.payload)


class Migration(migrations.Migration):
    dependencies = [
        ("alerts", "0005_alert_policy"),
        ("channels", "0002_channel_consecutive_failures_and_more"),
    ]

    operations = [migrations.RunPython(urls_add, migrations.RunPython.noop)]

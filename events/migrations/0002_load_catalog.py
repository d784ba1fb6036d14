"""Load the built-in event-type catalog so `migrate` leaves a usable rule editor."""

from __future__ import annotations

from django.db import migrations

from events.catalog import catalog_sync


def load_catalog(apps, schema_editor):
    catalog_sync(apps.get_model("events", "EventType"))


class Migration(migrations.Migration):
    dependencies = [("events", "0001_initial")]

    operations = [migrations.RunPython(load_catalog, migrations.RunPython.noop)]

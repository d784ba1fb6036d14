"""A GIN index on the payload for containment queries: PostgreSQL only.

On SQLite (the embedded default) there is no JSONB, so this migration does nothing there.
"""

from django.db import migrations

INDEX = "events_auditevent_payload_gin"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON events_auditevent USING gin (payload jsonb_path_ops)"
        )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("events", "0002_load_catalog")]

    operations = [migrations.RunPython(create_index, drop_index)]

"""Trigram indexes so searching alert titles and rule names stays fast on millions of rows (PostgreSQL).

Needs the pg_trgm extension; where the database user may not create it, the migration
logs that and leaves search working without the indexes. Nothing happens on SQLite.
"""

import logging

from django.db import migrations, transaction

logger = logging.getLogger(__name__)

INDEXES = {
    "alert_title_trgm_idx": "title",
    "alert_rule_name_trgm_idx": "rule_name",
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except Exception:  # noqa: BLE001 - no privilege: search still works, only slower
        logger.warning("pg_trgm is not available; alert search runs without trigram indexes")
        return
    for name, column in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON alerts_alert USING gin ((UPPER({column}::text)) gin_trgm_ops)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name in INDEXES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("alerts", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]

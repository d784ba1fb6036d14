"""alertsite.stamps: the stamp table, and the triggers that move a table's stamp when it is written."""

from __future__ import annotations

from django.db import migrations

from alertsite.runtime.stamp_triggers import stamps_drop, stamps_ensure


def create(apps, schema_editor) -> None:
    stamps_ensure(schema_editor.connection)


def drop(apps, schema_editor) -> None:
    stamps_drop(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("channels", "0007_fk_indexes_covered"),
        ("alerts", "0014_fk_indexes_covered"),
    ]

    operations = [migrations.RunPython(create, drop)]

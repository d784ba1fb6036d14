"""Existing alerts get their category and source (spec 5.1), filled from their event.

The backfill walks the alerts by primary key in batches, each batch in its own transaction
(the migration is not atomic as a whole), so a table of millions neither holds one long
lock on PostgreSQL nor loads every payload into memory: only the few event keys the
derivation reads are fetched. It resumes where it stopped if interrupted (rows still
without a category). An alert whose event is gone (retention) gets category `other` and no source.
"""

from django.db import migrations, transaction

from alerts.subjects import SUBJECT_KEYS, alert_category_for, alert_source_for

BATCH_SIZE = 1000


def backfill(apps, schema_editor):
    Alert = apps.get_model("alerts", "Alert")
    AuditEvent = apps.get_model("events", "AuditEvent")
    db = schema_editor.connection.alias
    last = 0
    while True:
        with transaction.atomic(using=db):
            rows = list(
                Alert.objects.using(db)
                .filter(pk__gt=last, category="")
                .order_by("pk")
                .values_list("pk", "event_id")[:BATCH_SIZE]
            )
            if not rows:
                return
            last = rows[-1][0]
            subjects = {
                row.pop("pk"): {key: row[f"payload__{key}"] for key in SUBJECT_KEYS}
                for row in AuditEvent.objects.using(db)
                .filter(pk__in={event_id for _, event_id in rows if event_id is not None})
                .values("pk", *(f"payload__{key}" for key in SUBJECT_KEYS))
            }
            updates = []
            for pk, event_id in rows:
                subject = subjects.get(event_id)
                source_type, source_id = alert_source_for(subject)
                updates.append(
                    Alert(pk=pk, category=alert_category_for(subject), source_type=source_type, source_id=source_id)
                )
            Alert.objects.using(db).bulk_update(updates, ["category", "source_type", "source_id"])


class Migration(migrations.Migration):
    # Each batch commits on its own; the fields come from 0003 (atomic), so a run cut short
    # is simply run again and carries on with the rows still without a category.
    atomic = False

    dependencies = [
        ("alerts", "0003_category_source"),
        ("events", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True),
    ]

"""Evaluation progress in a narrow table instead of an `evaluated_at` UPDATE of each event row.

Events still unevaluated become pending rows; the evaluated count starts at the events an
evaluation run marked (those stored as already evaluated carry `evaluated_at == received_at`
and are not counted, as they are not from now on). Backwards, every event that is not
pending gets `evaluated_at = received_at`: when it was really evaluated is not kept.
"""

import django.db.models.deletion
from django.db import migrations, models


def pending_from_evaluated_at(apps, schema_editor):
    qn = schema_editor.quote_name
    events = qn(apps.get_model("events", "AuditEvent")._meta.db_table)
    pending = qn(apps.get_model("events", "PendingEvaluation")._meta.db_table)
    counts = qn(apps.get_model("events", "EvaluationCount")._meta.db_table)
    schema_editor.execute(
        f"INSERT INTO {pending} (event_id, received_at) SELECT id, received_at FROM {events} WHERE evaluated_at IS NULL"
    )
    schema_editor.execute(
        f"INSERT INTO {counts} (shard, evaluated) SELECT 0, COUNT(*) FROM {events} WHERE evaluated_at > received_at"
    )


def evaluated_at_from_pending(apps, schema_editor):
    qn = schema_editor.quote_name
    events = qn(apps.get_model("events", "AuditEvent")._meta.db_table)
    pending = qn(apps.get_model("events", "PendingEvaluation")._meta.db_table)
    schema_editor.execute(
        f"UPDATE {events} SET evaluated_at = received_at "
        f"WHERE NOT EXISTS (SELECT 1 FROM {pending} p WHERE p.event_id = {events}.id)"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0005_insights_service_time_index"),
    ]

    operations = [
        migrations.CreateModel(
            name="EvaluationCount",
            fields=[
                ("shard", models.PositiveSmallIntegerField(primary_key=True, serialize=False)),
                ("evaluated", models.BigIntegerField(default=0)),
            ],
        ),
        migrations.CreateModel(
            name="PendingEvaluation",
            fields=[
                (
                    "event",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="events.auditevent",
                    ),
                ),
                ("received_at", models.DateTimeField()),
            ],
            options={"indexes": [models.Index(fields=["received_at"], name="pending_received_idx")]},
        ),
        migrations.RunPython(pending_from_evaluated_at, evaluated_at_from_pending),
        migrations.RemoveIndex(
            model_name="auditevent",
            name="event_unevaluated_idx",
        ),
        migrations.RemoveField(
            model_name="auditevent",
            name="evaluated_at",
        ),
    ]

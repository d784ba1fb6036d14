"""Foreign keys whose own index another index already covers (a composite one leads with the
column, or an identical one exists), or that are mostly empty (partial indexes replace theirs),
lose that index: one entry less to write per row on the alerting path. Only the indexes are
dropped; the foreign key constraints stay as they are (Django's AlterField would drop and
re-validate each constraint, a scan of the table)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("alerts", "0013_alert_explanation"),
        ("events", "0007_ingest_count"),
        ("rules", "0014_fk_indexes_covered"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="alert",
                    name="acknowledged_by",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                migrations.AlterField(
                    model_name="alert",
                    name="assignee",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="assigned_alerts",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                migrations.AlterField(
                    model_name="alert",
                    name="resolved_by",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                migrations.AlterField(
                    model_name="alert",
                    name="rule",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="alerts",
                        to="rules.rule",
                    ),
                ),
                migrations.AlterField(
                    model_name="alert",
                    name="snoozed_by",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                migrations.AlterField(
                    model_name="alert",
                    name="suppressed_by",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="suppressed_alerts",
                        to="alerts.maintenancewindow",
                    ),
                ),
                migrations.AlterField(
                    model_name="alertevent",
                    name="alert",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="alert_events",
                        to="alerts.alert",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "alerts_alert_acknowledged_by_id_6e4e3b9d"',
                    'CREATE INDEX "alerts_alert_acknowledged_by_id_6e4e3b9d" ON "alerts_alert" ("acknowledged_by_id")',
                ),
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "alerts_alert_assignee_id_4dc80ef5"',
                    'CREATE INDEX "alerts_alert_assignee_id_4dc80ef5" ON "alerts_alert" ("assignee_id")',
                ),
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "alerts_alert_resolved_by_id_b59cbeaf"',
                    'CREATE INDEX "alerts_alert_resolved_by_id_b59cbeaf" ON "alerts_alert" ("resolved_by_id")',
                ),
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "alerts_alert_rule_id_74644b2d"',
                    'CREATE INDEX "alerts_alert_rule_id_74644b2d" ON "alerts_alert" ("rule_id")',
                ),
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "alerts_alert_snoozed_by_id_fd6b4aa6"',
                    'CREATE INDEX "alerts_alert_snoozed_by_id_fd6b4aa6" ON "alerts_alert" ("snoozed_by_id")',
                ),
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "alerts_alert_suppressed_by_id_1b874a23"',
                    'CREATE INDEX "alerts_alert_suppressed_by_id_1b874a23" ON "alerts_alert" ("suppressed_by_id")',
                ),
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "alerts_alertevent_alert_id_edd734b8"',
                    'CREATE INDEX "alerts_alertevent_alert_id_edd734b8" ON "alerts_alertevent" ("alert_id")',
                ),
            ],
        ),
        migrations.AddIndex(
            model_name="alert",
            index=models.Index(
                condition=models.Q(("acknowledged_by__isnull", False)),
                fields=["acknowledged_by"],
                name="alert_acknowledged_by_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="alert",
            index=models.Index(
                condition=models.Q(("resolved_by__isnull", False)), fields=["resolved_by"], name="alert_resolved_by_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="alert",
            index=models.Index(
                condition=models.Q(("snoozed_by__isnull", False)), fields=["snoozed_by"], name="alert_snoozed_by_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="alert",
            index=models.Index(
                condition=models.Q(("suppressed_by__isnull", False)),
                fields=["suppressed_by"],
                name="alert_suppressed_by_idx",
            ),
        ),
    ]

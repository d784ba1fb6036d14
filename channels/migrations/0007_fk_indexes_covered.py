"""Foreign keys whose own index another index already covers (a composite one leads with the
column, or an identical one exists), or that are mostly empty (partial indexes replace theirs),
lose that index: one entry less to write per row on the alerting path. Only the indexes are
dropped; the foreign key constraints stay as they are (Django's AlterField would drop and
re-validate each constraint, a scan of the table)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("alerts", "0014_fk_indexes_covered"),
        ("channels", "0006_delivery_kind_reminder_escalated"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="delivery",
                    name="alert",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="deliveries",
                        to="alerts.alert",
                    ),
                ),
                migrations.AlterField(
                    model_name="delivery",
                    name="channel",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="deliveries",
                        to="channels.channel",
                    ),
                ),
                migrations.AlterField(
                    model_name="deliveryattempt",
                    name="delivery",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="attempt_log",
                        to="channels.delivery",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "channels_delivery_alert_id_a2f53b2c"',
                    'CREATE INDEX "channels_delivery_alert_id_a2f53b2c" ON "channels_delivery" ("alert_id")',
                ),
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "channels_delivery_channel_id_59493e4b"',
                    'CREATE INDEX "channels_delivery_channel_id_59493e4b" ON "channels_delivery" ("channel_id")',
                ),
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "channels_deliveryattempt_delivery_id_faa90d0e"',
                    'CREATE INDEX "channels_deliveryattempt_delivery_id_faa90d0e" ON "channels_deliveryattempt" ("delivery_id")',
                ),
            ],
        ),
    ]

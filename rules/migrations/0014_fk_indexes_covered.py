"""Foreign keys whose own index another index already covers (a composite one leads with the
column, or an identical one exists), or that are mostly empty (partial indexes replace theirs),
lose that index: one entry less to write per row on the alerting path. Only the indexes are
dropped; the foreign key constraints stay as they are (Django's AlterField would drop and
re-validate each constraint, a scan of the table)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("rules", "0013_detection_step_chain"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="rulematch",
                    name="rule",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="matches",
                        to="rules.rule",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "rules_rulematch_rule_id_9c4248ad"',
                    'CREATE INDEX "rules_rulematch_rule_id_9c4248ad" ON "rules_rulematch" ("rule_id")',
                ),
            ],
        ),
    ]

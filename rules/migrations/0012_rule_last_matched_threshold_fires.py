"""`Rule.last_matched_at`; a threshold rule's `last_triggered_at` becomes its last alert.

Until now every match moved `last_triggered_at`, so a threshold rule that had matched once, far
below its threshold, read "Last triggered: 2 minutes ago". Each rule's last match moves to
`last_matched_at`; a threshold rule that raises alerts takes its newest alert's creation as the
last time it triggered (none: never).
"""

from django.db import migrations, models
from django.db.models import F, Max, OuterRef, Subquery


def forward(apps, schema_editor):
    Rule = apps.get_model("rules", "Rule")
    Alert = apps.get_model("alerts", "Alert")
    Rule.objects.update(last_matched_at=F("last_triggered_at"))
    newest = Alert.objects.filter(rule=OuterRef("pk")).order_by().values("rule").annotate(at=Max("created_at"))
    for rule in Rule.objects.filter(generate_alerts=True).only("pk", "threshold"):
        if isinstance(rule.threshold, dict):
            Rule.objects.filter(pk=rule.pk).update(last_triggered_at=Subquery(newest.values("at")))


def backward(apps, schema_editor):
    """Back to "the last match" for every rule."""
    Rule = apps.get_model("rules", "Rule")
    Rule.objects.exclude(last_matched_at=None).update(last_triggered_at=F("last_matched_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("alerts", "0013_alert_explanation"),
        ("rules", "0011_detection_stores"),
    ]

    operations = [
        migrations.AddField(
            model_name="rule",
            name="last_matched_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(forward, backward),
    ]

"""Alerts now keep what they need of their rule (channels, notify flags, grouping): copy it once.

This lives in rules, which may use alerts; alerts itself never reads rules.
"""

from django.db import migrations


def policy_copy(apps, schema_editor):
    Rule = apps.get_model("rules", "Rule")
    Alert = apps.get_model("alerts", "Alert")
    through = Rule.channels.through
    channels: dict[int, list[int]] = {}
    for rule_id, channel_id in through.objects.values_list("rule_id", "channel_id"):
        channels.setdefault(rule_id, []).append(channel_id)
    for rule in Rule.objects.all().iterator():
        notify = rule.generate_alerts and rule.send_notifications
        Alert.objects.filter(rule_id=rule.pk).update(
            notify_channel_ids=sorted(channels.get(rule.pk, [])),
            notify_on_acknowledge=notify and rule.notify_on_acknowledge,
            notify_on_resolve=notify and rule.notify_on_resolve,
            grouped=rule.threshold is not None or rule.group_window_minutes > 0,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("rules", "0004_rule_match_plural"),
        ("alerts", "0005_alert_policy"),
    ]

    operations = [migrations.RunPython(policy_copy, migrations.RunPython.noop)]

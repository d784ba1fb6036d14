"""Every rule saved before rule history existed gets its version 1: the rule as it is now.

The field list is frozen here (the rule's API fields at this migration), so later fields do not
change what this migration writes.
"""

from django.db import migrations

FIELDS = (
    "name",
    "description",
    "enabled",
    "priority",
    "template",
    "conditions",
    "generate_alerts",
    "send_notifications",
    "notify_on_acknowledge",
    "notify_on_resolve",
    "existing_conditions",
    "group_by",
    "group_window_minutes",
    "threshold",
)


def first_versions(apps, schema_editor):
    Rule = apps.get_model("rules", "Rule")
    RuleVersion = apps.get_model("rules", "RuleVersion")
    Channel = apps.get_model("channels", "Channel")
    through = Rule.channels.through
    channels: dict[int, list[int]] = {}
    for rule_id, channel_id in through.objects.values_list("rule_id", "channel_id"):
        channels.setdefault(rule_id, []).append(channel_id)
    names = {str(pk): name for pk, name in Channel.objects.values_list("pk", "name")}
    versioned = set(RuleVersion.objects.values_list("rule_id", flat=True))
    for rule in Rule.objects.exclude(pk__in=versioned).iterator():
        snapshot = {name: getattr(rule, name) for name in FIELDS}
        snapshot["channels"] = sorted(channels.get(rule.pk, []))
        RuleVersion.objects.create(
            rule_id=rule.pk,
            version=1,
            created_at=rule.updated_at,
            author_id=rule.updated_by_id or rule.created_by_id,
            comment="The rule as it was when rule history began.",
            snapshot=snapshot,
            channel_names={str(pk): names.get(str(pk), "") for pk in snapshot["channels"]},
        )


class Migration(migrations.Migration):
    dependencies = [
        ("rules", "0006_rule_versions"),
        ("channels", "0001_initial"),
    ]

    operations = [migrations.RunPython(first_versions, migrations.RunPython.noop)]

"""Migration rules.0007: every rule saved before rule history existed gets its version 1."""

from __future__ import annotations

import pytest

from channels.models import Channel
from rules.models import RuleVersion
from tests.migration_steps import migrate, migrate_latest

BEFORE = [("rules", "0006_rule_versions")]
AFTER = [("rules", "0007_rule_versions_first")]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_existing_rules_get_version_1_as_they_are(make_user):
    author = make_user("admin", username="ann")
    old = migrate(BEFORE)
    try:
        Rule = old.get_model("rules", "Rule")
        channel = Channel.objects.create(kind="webhook", name="Ops hook", config={"url": "http://127.0.0.1:9/"})
        rule = Rule.objects.create(
            name="Old rule",
            priority="high",
            conditions=[{"event_type": "user_login_attempt", "match": "all", "filters": []}],
            send_notifications=True,
            created_by_id=author.pk,
        )
        rule.channels.set([channel.pk])
        migrate(AFTER)
        version = RuleVersion.objects.get(rule_id=rule.pk)
        assert (version.version, version.author_id) == (1, author.pk)
        assert version.snapshot["name"] == "Old rule"
        assert version.snapshot["channels"] == [channel.pk]
        assert version.channel_names == {str(channel.pk): "Ops hook"}
    finally:
        migrate_latest()

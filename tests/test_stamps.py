"""alertsite.stamps: every write to channels or maintenance windows moves its stamp, and an
evaluation batch reads those tables again only when their stamp moved."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts.models import MaintenanceWindow
from alerts.services.maintenance import windows_possible
from alertsite import stamps
from channels.models import Channel
from channels.services.sending import channels_whole
from rules.selectors import rules_stamp_pinned

pytestmark = pytest.mark.django_db


def stamp(name: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT stamp FROM {stamps.TABLE} WHERE name = %s", [name])
        return str(cursor.fetchone()[0])


def hook(name: str = "Hook") -> Channel:
    return Channel.objects.create(kind="webhook", name=name, config={"url": "https://hooks.example.com/x"})


def window() -> MaintenanceWindow:
    now = timezone.now()
    return MaintenanceWindow.objects.create(name="Patch night", starts_at=now, ends_at=now + timedelta(hours=1))


def reads_of(table: str, queries: CaptureQueriesContext) -> int:
    return sum(table in query["sql"] for query in queries.captured_queries)


def test_inserting_updating_and_deleting_a_channel_each_move_its_stamp():
    seen = [stamp(stamps.CHANNELS)]
    channel = hook()
    seen.append(stamp(stamps.CHANNELS))
    Channel.objects.filter(pk=channel.pk).update(consecutive_failures=1)
    seen.append(stamp(stamps.CHANNELS))
    channel.delete()
    seen.append(stamp(stamps.CHANNELS))
    assert len(set(seen)) == 4


def test_a_maintenance_window_write_moves_its_stamp_and_not_the_channels_one():
    channels_before, windows_before = stamp(stamps.CHANNELS), stamp(stamps.MAINTENANCE)
    window()
    assert stamp(stamps.MAINTENANCE) != windows_before
    assert stamp(stamps.CHANNELS) == channels_before


def test_a_batch_reads_channels_again_only_after_a_change():
    channel = hook()
    with rules_stamp_pinned():
        channels_whole([channel.pk])
    with CaptureQueriesContext(connection) as queries, rules_stamp_pinned():
        assert channels_whole([channel.pk], enabled_only=True)[channel.pk].name == "Hook"
    assert reads_of("channels_channel", queries) == 0
    Channel.objects.filter(pk=channel.pk).update(enabled=False)
    with CaptureQueriesContext(connection) as queries, rules_stamp_pinned():
        assert channels_whole([channel.pk], enabled_only=True) == {}
    assert reads_of("channels_channel", queries) == 1


def test_a_deleted_channel_is_gone_for_the_next_batch():
    channel = hook()
    with rules_stamp_pinned():
        channels_whole([channel.pk])
    Channel.objects.filter(pk=channel.pk).delete()
    with rules_stamp_pinned():
        assert channels_whole([channel.pk]) == {}


def test_outside_a_batch_channels_are_always_read():
    channel = hook()
    with CaptureQueriesContext(connection) as queries:
        channels_whole([channel.pk])
        channels_whole([channel.pk])
    assert reads_of("channels_channel", queries) == 2


def test_without_windows_a_batch_reads_none_and_a_new_window_is_seen_by_the_next_batch():
    now = timezone.now()
    with rules_stamp_pinned():
        assert windows_possible(now, now) == []
    with CaptureQueriesContext(connection) as queries, rules_stamp_pinned():
        assert windows_possible(now, now) == []
    assert reads_of("alerts_maintenancewindow", queries) == 0
    created = window()
    with rules_stamp_pinned():
        assert [spec.id for spec in windows_possible(now, now + timedelta(minutes=5))] == [created.pk]


def test_a_change_rolled_back_leaves_no_stamp_a_later_change_could_meet():
    """A transaction that changed a channel and read it under its own stamp, then rolled back:
    the next change must not hand out that same stamp (random stamps, not a counter)."""
    from django.db import transaction

    channel = hook()

    class Rollback(Exception):
        pass

    with pytest.raises(Rollback), transaction.atomic():
        Channel.objects.filter(pk=channel.pk).update(name="Inside")
        with rules_stamp_pinned():
            assert channels_whole([channel.pk])[channel.pk].name == "Inside"
        raise Rollback
    Channel.objects.filter(pk=channel.pk).update(name="After")
    with rules_stamp_pinned():
        assert channels_whole([channel.pk])[channel.pk].name == "After"


def test_updating_a_window_leaves_the_stamp_only_existence_is_kept():
    """Muting batches update their windows' counters: that must not move the stamp (a lock each queues on)."""
    created = window()
    before = stamp(stamps.MAINTENANCE)
    MaintenanceWindow.objects.filter(pk=created.pk).update(muted_alerts=3)
    assert stamp(stamps.MAINTENANCE) == before
    created.delete()
    assert stamp(stamps.MAINTENANCE) != before


def test_a_trigger_a_table_rebuild_dropped_is_put_back_after_migrate():
    """SQLite drops a table's triggers when a migration rebuilds the table."""
    from alertsite.runtime.stamp_triggers import stamps_after_migrate

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("DROP TRIGGER channels_channel_stamp ON channels_channel")
        else:
            cursor.execute("DROP TRIGGER channels_channel_stamp_insert")
    before = stamp(stamps.CHANNELS)
    hook()
    assert stamp(stamps.CHANNELS) == before
    stamps_after_migrate(sender=None)
    hook("Another")
    assert stamp(stamps.CHANNELS) != before

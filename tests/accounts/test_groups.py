from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission

from alertsite.accounts.groups import RESPONDER_EXTRA_PERMISSIONS, role_groups_sync

pytestmark = pytest.mark.django_db


def _perms(group_name: str) -> set[str]:
    group = Group.objects.get(name=group_name)
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}


def test_migrate_creates_the_four_role_groups():
    assert set(Group.objects.values_list("name", flat=True)) >= {"admin", "responder", "viewer", "ingest"}


def test_admin_group_has_every_permission():
    assert Group.objects.get(name="admin").permissions.count() == Permission.objects.count()


def test_viewer_group_has_only_view_permissions_of_alertsite_apps():
    perms = _perms("viewer")

    assert "events.view_auditevent" in perms
    assert all(name.split(".")[1].startswith("view_") for name in perms)
    assert {name.split(".")[0] for name in perms} <= {"events", "rules", "alerts", "channels", "accounts"}


def test_responder_group_reads_everything_the_viewer_reads():
    assert _perms("viewer") <= _perms("responder")


def test_responder_group_adds_only_the_alert_actions_that_exist():
    existing = {
        name
        for name in RESPONDER_EXTRA_PERMISSIONS
        if Permission.objects.filter(content_type__app_label=name.split(".")[0], codename=name.split(".")[1]).exists()
    }

    assert _perms("responder") - _perms("viewer") == existing


def test_ingest_group_may_only_add_audit_events():
    assert _perms("ingest") == {"events.add_auditevent"}


def test_group_sync_is_idempotent_and_repairs_hand_edits():
    viewer = Group.objects.get(name="viewer")
    viewer.permissions.add(Permission.objects.get(codename="delete_user"))

    role_groups_sync()
    role_groups_sync()

    assert Group.objects.filter(name="viewer").count() == 1
    assert "auth.delete_user" not in _perms("viewer")

from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def catalog_ensure(sender: AppConfig, **kwargs) -> None:
    """After every migrate (and every test flush), make sure the whole catalog is there.

    The data migration loads it once; this keeps it complete when code adds event types
    and when a test database is flushed. Cheap when nothing is missing: one query.
    """
    from events.catalog import CATALOG_BY_NAME, catalog_keys_refresh, catalog_sync
    from events.models import EventType

    using = kwargs.get("using", "default")
    present = set(EventType.objects.using(using).filter(known=True).values_list("name", flat=True))
    missing = [spec for name, spec in CATALOG_BY_NAME.items() if name not in present]
    if missing:
        catalog_sync(EventType, missing)
    catalog_keys_refresh(EventType, using=using)


class EventsConfig(AppConfig):
    name = "events"
    verbose_name = "Events"

    def ready(self) -> None:
        post_migrate.connect(catalog_ensure, sender=self, dispatch_uid="events.catalog_ensure")
        from events.login_audit import login_audit_connect

        login_audit_connect()

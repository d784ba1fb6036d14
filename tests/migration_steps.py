"""Moving the test database between migration states, for tests of data migrations."""

from __future__ import annotations

from django.apps.registry import Apps
from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def migrate(targets: list[tuple[str, str]]) -> Apps:
    """Migrate to `targets` and return the historical apps there (models as they were)."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def migrate_latest() -> None:
    """Back to every app's newest migration, so later tests see today's schema."""
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

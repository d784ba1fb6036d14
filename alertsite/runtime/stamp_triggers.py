"""The triggers behind alertsite.stamps, created by migration runtime 0001 and checked after every migrate.

SQLite rebuilds a table for most schema changes (a new non-null column, an altered one), and the
rebuild drops the table's triggers with it: the stamps would stop moving and batches would keep
stale channels or miss a new maintenance window. So `stamps_ensure` runs after every `migrate`
(post_migrate) as well and puts back whatever is missing; on PostgreSQL it finds them in place.

Channels move their stamp on every write (a batch keeps whole rows); maintenance windows only on
an insert or a delete (a batch keeps only whether any exists, and every muting batch updates its
windows' counters: a stamp moved by those would be a lock each such batch queues on).
"""

from __future__ import annotations

from typing import Any

from alertsite.stamps import CHANNELS, MAINTENANCE, TABLE

WATCHED = {
    CHANNELS: ("channels_channel", ("INSERT", "UPDATE", "DELETE")),
    MAINTENANCE: ("alerts_maintenancewindow", ("INSERT", "DELETE")),
}
NEW_POSTGRES = "md5(random()::text || clock_timestamp()::text)"
NEW_SQLITE = "lower(hex(randomblob(16)))"


def stamps_ensure(connection: Any) -> None:
    """Create the stamp table, its rows and the triggers that are missing (idempotent)."""
    tables = set(connection.introspection.table_names())
    postgres = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (name varchar(40) PRIMARY KEY, stamp varchar(32) NOT NULL)")
        for name in WATCHED:
            cursor.execute(
                f"INSERT INTO {TABLE} (name, stamp) VALUES (%s, {NEW_POSTGRES if postgres else NEW_SQLITE}) "
                "ON CONFLICT (name) DO NOTHING",
                [name],
            )
        if postgres:
            cursor.execute(
                f"""CREATE OR REPLACE FUNCTION alertsite_stamp_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE {TABLE} SET stamp = {NEW_POSTGRES} WHERE name = TG_ARGV[0];
    RETURN NULL;
END $$"""
            )
        for name, (table, operations) in WATCHED.items():
            if table not in tables:
                continue
            if postgres:
                events = " OR ".join((*operations, "TRUNCATE"))
                cursor.execute(
                    f"""DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = '{table}_stamp' AND tgrelid = '{table}'::regclass) THEN
        CREATE TRIGGER {table}_stamp AFTER {events} ON {table}
        FOR EACH STATEMENT EXECUTE FUNCTION alertsite_stamp_move('{name}');
    END IF;
END $$"""
                )
                continue
            for operation in operations:
                cursor.execute(
                    f"CREATE TRIGGER IF NOT EXISTS {table}_stamp_{operation.lower()} AFTER {operation} ON {table} "
                    f"BEGIN UPDATE {TABLE} SET stamp = {NEW_SQLITE} WHERE name = '{name}'; END"
                )


def stamps_drop(connection: Any) -> None:
    postgres = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        for table, _ in WATCHED.values():
            if postgres:
                cursor.execute(f"DROP TRIGGER IF EXISTS {table}_stamp ON {table}")
            else:
                for operation in ("INSERT", "UPDATE", "DELETE"):
                    cursor.execute(f"DROP TRIGGER IF EXISTS {table}_stamp_{operation.lower()}")
        if postgres:
            cursor.execute("DROP FUNCTION IF EXISTS alertsite_stamp_move()")
        cursor.execute(f"DROP TABLE IF EXISTS {TABLE}")


def stamps_after_migrate(sender: Any, using: str = "default", **kwargs: Any) -> None:
    """post_migrate: put back triggers a SQLite table rebuild dropped (nothing before the table exists)."""
    from django.db import connections

    connection = connections[using]
    if TABLE in connection.introspection.table_names():
        stamps_ensure(connection)

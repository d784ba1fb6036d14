"""alertsite.stamps: the stamp table, and the triggers that move a table's stamp on every write to it."""

from __future__ import annotations

from django.db import migrations

TABLES = {"channels": "channels_channel", "maintenance": "alerts_maintenancewindow"}

POSTGRES = [
    "CREATE TABLE alertsite_stamp (name varchar(40) PRIMARY KEY, stamp varchar(32) NOT NULL)",
    """CREATE FUNCTION alertsite_stamp_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE alertsite_stamp SET stamp = md5(random()::text || clock_timestamp()::text) WHERE name = TG_ARGV[0];
    RETURN NULL;
END $$""",
    *(
        f"CREATE TRIGGER {table}_stamp AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION alertsite_stamp_move('{name}')"
        for name, table in TABLES.items()
    ),
]
POSTGRES_DROP = [
    *(f"DROP TRIGGER IF EXISTS {table}_stamp ON {table}" for table in TABLES.values()),
    "DROP FUNCTION IF EXISTS alertsite_stamp_move()",
    "DROP TABLE IF EXISTS alertsite_stamp",
]
SQLITE = [
    "CREATE TABLE alertsite_stamp (name varchar(40) PRIMARY KEY, stamp varchar(32) NOT NULL)",
    *(
        f"CREATE TRIGGER {table}_stamp_{operation.lower()} AFTER {operation} ON {table} BEGIN "
        f"UPDATE alertsite_stamp SET stamp = lower(hex(randomblob(16))) WHERE name = '{name}'; END"
        for name, table in TABLES.items()
        for operation in ("INSERT", "UPDATE", "DELETE")
    ),
]
SQLITE_DROP = [
    *(
        f"DROP TRIGGER IF EXISTS {table}_stamp_{operation.lower()}"
        for table in TABLES.values()
        for operation in ("INSERT", "UPDATE", "DELETE")
    ),
    "DROP TABLE IF EXISTS alertsite_stamp",
]


def create(apps, schema_editor) -> None:
    postgres = schema_editor.connection.vendor == "postgresql"
    for sql in POSTGRES if postgres else SQLITE:
        schema_editor.execute(sql)
    seed = "md5(random()::text)" if postgres else "lower(hex(randomblob(16)))"
    for name in TABLES:
        schema_editor.execute(f"INSERT INTO alertsite_stamp (name, stamp) VALUES ('{name}', {seed})")


def drop(apps, schema_editor) -> None:
    for sql in POSTGRES_DROP if schema_editor.connection.vendor == "postgresql" else SQLITE_DROP:
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [
        ("channels", "0007_fk_indexes_covered"),
        ("alerts", "0014_fk_indexes_covered"),
    ]

    operations = [migrations.RunPython(create, drop)]

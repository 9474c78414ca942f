"""Give the tax rates, categories, stores and registers that existed before they were versioned
a catalog version each, so a register following the change feed from 0 receives them."""

from django.db import migrations

TABLES = ("catalog_taxrate", "catalog_category", "accounts_store", "accounts_register")


def backfill(apps, schema_editor):  # type: ignore[no-untyped-def]
    with schema_editor.connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"SELECT count(*) FROM {table} WHERE version = 0")  # noqa: S608 # nosec B608
            (count,) = cursor.fetchone()
            if not count:
                continue
            cursor.execute(
                "UPDATE catalog_catalogversion SET value = value + %s WHERE id = 1 "
                "RETURNING value",
                [count],
            )
            row = cursor.fetchone()
            if row is None:
                continue
            first = row[0] - count
            cursor.execute(
                f"UPDATE {table} AS t SET version = %s + n.rn FROM (SELECT id, "  # noqa: S608 # nosec B608
                f"row_number() OVER (ORDER BY id) AS rn FROM {table} WHERE version = 0) AS n "
                "WHERE t.id = n.id",
                [first],
            )


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0008_sync_versions"),
        ("accounts", "0009_sync_versions"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]

"""Stock movements become RANGE-partitioned by month of `created_at` (dbtools.partitions): the
primary key in the database is `(id, created_at)` (Django still sees `id`); indexes, checks and
foreign keys are kept and existing rows copied. Plus an index on (store, id) for the
store-filtered lists, newest first."""

from django.db import migrations, models

from dbtools.partitions import partition_table


def partition(apps, schema_editor):
    partition_table(schema_editor, table="catalog_stockmovement", column="created_at")


class Migration(migrations.Migration):
    dependencies = [("catalog", "0008_sync_versions")]

    operations = [
        migrations.RunPython(partition, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="stockmovement",
            index=models.Index(fields=["store", "id"], name="stockmove_store_id"),
        ),
    ]

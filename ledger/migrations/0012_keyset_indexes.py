"""A (store, id) index for keyset pages of one store's journal entries (`?cursor=&store=`).
Built CONCURRENTLY (no write lock on the table), hence outside a transaction."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("ledger", "0011_partition_journal_lines"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="journalentry",
            index=models.Index(fields=("store", "id"), name="journal_store_id"),
        ),
    ]

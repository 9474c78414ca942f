"""A (store, id) index for keyset pages of one store's journal entries (`?cursor=&store=`).
Built CONCURRENTLY (no write lock on the table), hence outside a transaction, and
without the session's statement and lock timeouts (`dbtools.ddl`): on a big table the build
waits out the writes in flight and takes minutes."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models

from dbtools.ddl import without_session_timeouts


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("ledger", "0011_partition_journal_lines"),
    ]

    operations = without_session_timeouts(
        AddIndexConcurrently(
            model_name="journalentry",
            index=models.Index(fields=("store", "id"), name="journal_store_id"),
        ),
    )

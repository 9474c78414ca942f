"""(store, id) indexes for keyset pages of one store's orders and refunds (`?cursor=&store=`):
`WHERE store_id = %s AND id < %s ORDER BY id DESC LIMIT n` reads n index entries at any depth.
Built CONCURRENTLY (no write lock on the tables), hence outside a transaction, and
without the session's statement and lock timeouts (`dbtools.ddl`): on a big table the build
waits out the writes in flight and takes minutes."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models

from dbtools.ddl import without_session_timeouts


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("orders", "0021_partitions_beat_schedule"),
    ]

    operations = without_session_timeouts(
        AddIndexConcurrently(
            model_name="order",
            index=models.Index(fields=("store", "id"), name="order_store_id"),
        ),
        AddIndexConcurrently(
            model_name="refund",
            index=models.Index(fields=("store", "id"), name="refund_store_id"),
        ),
    )

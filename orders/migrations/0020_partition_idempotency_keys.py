"""Idempotency keys become RANGE-partitioned by month of `created_at`, so retention drops whole
partitions (`DROP TABLE`) instead of deleting rows.

A unique index on a partitioned table must include the partition key, so (user, key) can no
longer be a UNIQUE constraint. `orders_idempotency_key_claim(...)` takes its place: it takes a
transaction-scoped advisory lock on (user, key), looks for an unexpired key and inserts one
only when there is none. The lock is held to the end of the claimer's transaction, so a
concurrent duplicate waits for the owner to commit (and then finds its key: a replay) or to roll
back (and then claims the key itself) — what `INSERT … ON CONFLICT DO NOTHING` did before.
This relies on READ COMMITTED (the project's isolation level): the check after the lock wait
takes a fresh snapshot and so sees a key committed meanwhile.
"""

from django.db import migrations, models

from dbtools.partitions import partition_table

CLAIM_SQL = """
CREATE OR REPLACE FUNCTION orders_idempotency_key_claim(
    p_user_id bigint, p_key text, p_endpoint text, p_fingerprint text, p_state text,
    p_created_at timestamptz, p_expires_at timestamptz
) RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    claimed bigint;
BEGIN
    -- Two-key form: its own lock space (20019 = this feature), apart from any bigint lock.
    PERFORM pg_advisory_xact_lock(20019, hashtext(p_user_id::text || ':' || p_key));
    -- A new snapshot (READ COMMITTED, volatile function): sees a key committed while we waited.
    PERFORM 1 FROM orders_idempotencykey
     WHERE user_id = p_user_id AND key = p_key AND expires_at > p_created_at;
    IF FOUND THEN
        RETURN NULL;
    END IF;
    INSERT INTO orders_idempotencykey
        (user_id, key, endpoint, fingerprint, state, response_body, created_at, expires_at)
    VALUES (p_user_id, p_key, p_endpoint, p_fingerprint, p_state, '', p_created_at, p_expires_at)
    RETURNING id INTO claimed;
    RETURN claimed;
END;
$$;
"""

DROP_CLAIM_SQL = """
DROP FUNCTION IF EXISTS orders_idempotency_key_claim(
    bigint, text, text, text, text, timestamptz, timestamptz);
"""


def partition(apps, schema_editor):
    partition_table(schema_editor, table="orders_idempotencykey", column="created_at")


class Migration(migrations.Migration):
    dependencies = [("orders", "0019_catalog_depth")]

    operations = [
        migrations.RemoveConstraint(
            model_name="idempotencykey", name="idempotencykey_unique_per_user"
        ),
        migrations.RunPython(partition, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="idempotencykey",
            index=models.Index(fields=["user", "key"], name="idempotencykey_user_key"),
        ),
        migrations.RunSQL(CLAIM_SQL, DROP_CLAIM_SQL),
    ]

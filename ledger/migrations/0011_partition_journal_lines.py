"""Journal lines become RANGE-partitioned by month of a new `created_at` column: the time of
their entry (the posting statement copies it; existing lines get it from their entry).

* the primary key in the database is `(id, created_at)`; Django still sees `id`.
* the immutability trigger and the deferred balance trigger are created on the partitioned
  parent, so PostgreSQL clones them onto every partition (an UPDATE or DELETE addressed to a
  partition by name is refused too).
* the balance check now also refuses a line whose `created_at` is more than a day away from
  its entry's: all lines of an entry then sit in the partitions of that two-day window, so the
  check sums them there (partition pruning) instead of probing every month.
"""

from django.db import migrations, models
from django.utils import timezone

from dbtools.partitions import partition_table

DROP_TRIGGERS_SQL = """
DROP TRIGGER IF EXISTS ledger_journalline_balanced ON ledger_journalline;
DROP TRIGGER IF EXISTS ledger_journalline_immutable ON ledger_journalline;
"""

ADD_COLUMN_SQL = """
ALTER TABLE ledger_journalline ADD COLUMN created_at timestamp with time zone;
UPDATE ledger_journalline AS l SET created_at = e.created_at
  FROM ledger_journalentry AS e WHERE e.id = l.entry_id;
ALTER TABLE ledger_journalline ALTER COLUMN created_at SET NOT NULL;
-- For lines written in SQL by hand: the transaction's time, which is the time of an entry
-- written in the same transaction (the posting statement copies the entry's time itself).
ALTER TABLE ledger_journalline ALTER COLUMN created_at SET DEFAULT now();
"""

TRIGGERS_SQL = """
CREATE OR REPLACE FUNCTION ledger_check_entry_balance() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    entry bigint;
    entry_at timestamptz;
    total_debit numeric;
    total_credit numeric;
BEGIN
    IF TG_OP = 'DELETE' THEN
        entry := OLD.entry_id;
    ELSE
        entry := NEW.entry_id;
    END IF;
    SELECT created_at INTO entry_at FROM ledger_journalentry WHERE id = entry;
    IF entry_at IS NULL THEN
        -- No such entry: the foreign key refuses the line; sum everywhere to be safe.
        SELECT COALESCE(SUM(debit), 0), COALESCE(SUM(credit), 0)
          INTO total_debit, total_credit
          FROM ledger_journalline WHERE entry_id = entry;
    ELSE
        IF TG_OP <> 'DELETE' AND (NEW.created_at < entry_at - interval '1 day'
                                  OR NEW.created_at > entry_at + interval '1 day') THEN
            RAISE EXCEPTION 'ledger: a line of journal entry % is dated % (the entry %)',
                entry, NEW.created_at, entry_at
                USING ERRCODE = 'check_violation';
        END IF;
        SELECT COALESCE(SUM(debit), 0), COALESCE(SUM(credit), 0)
          INTO total_debit, total_credit
          FROM ledger_journalline
         WHERE entry_id = entry
           AND created_at BETWEEN entry_at - interval '1 day' AND entry_at + interval '1 day';
    END IF;
    IF total_debit <> total_credit THEN
        RAISE EXCEPTION 'ledger: journal entry % is unbalanced (debit %, credit %)',
            entry, total_debit, total_credit
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER ledger_journalline_immutable
    BEFORE UPDATE OR DELETE ON ledger_journalline
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();

CREATE CONSTRAINT TRIGGER ledger_journalline_balanced
    AFTER INSERT OR UPDATE OR DELETE ON ledger_journalline
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_check_entry_balance();
"""


def partition(apps, schema_editor):
    schema_editor.execute(DROP_TRIGGERS_SQL, params=None)
    schema_editor.execute(ADD_COLUMN_SQL, params=None)
    partition_table(schema_editor, table="ledger_journalline", column="created_at")
    schema_editor.execute(TRIGGERS_SQL, params=None)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0010_store_credit_and_loyalty_accounts")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddField(
                    model_name="journalline",
                    name="created_at",
                    field=models.DateTimeField(default=timezone.now),
                ),
            ],
            database_operations=[migrations.RunPython(partition, migrations.RunPython.noop)],
        ),
    ]

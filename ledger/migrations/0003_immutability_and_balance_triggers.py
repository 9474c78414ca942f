"""PostgreSQL backstops behind the ORM guards:

* `BEFORE UPDATE OR DELETE` row triggers on journal entries and lines: posted records are
  immutable, whatever client writes to the database (raw SQL, another service, a console).
* a `DEFERRABLE INITIALLY DEFERRED` constraint trigger on journal lines that checks, at commit,
  that every touched entry has Σ debit = Σ credit: a half-written or unbalanced entry can never
  commit, even when the lines are inserted one by one.

TRUNCATE fires no row triggers, so the test runner's flush (and an operator's deliberate
`TRUNCATE`) still works.
"""

from django.db import migrations

CREATE_SQL = """
CREATE OR REPLACE FUNCTION ledger_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger: % on % refused: posted entries are immutable, post a reversal',
        TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END;
$$;

CREATE TRIGGER ledger_journalentry_immutable
    BEFORE UPDATE OR DELETE ON ledger_journalentry
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();

CREATE TRIGGER ledger_journalline_immutable
    BEFORE UPDATE OR DELETE ON ledger_journalline
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();

CREATE OR REPLACE FUNCTION ledger_check_entry_balance() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    entry bigint;
    total_debit numeric;
    total_credit numeric;
BEGIN
    IF TG_OP = 'DELETE' THEN
        entry := OLD.entry_id;
    ELSE
        entry := NEW.entry_id;
    END IF;
    SELECT COALESCE(SUM(debit), 0), COALESCE(SUM(credit), 0)
      INTO total_debit, total_credit
      FROM ledger_journalline WHERE entry_id = entry;
    IF total_debit <> total_credit THEN
        RAISE EXCEPTION 'ledger: journal entry % is unbalanced (debit %, credit %)',
            entry, total_debit, total_credit
            USING ERRCODE = 'check_violation';
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.entry_id <> NEW.entry_id THEN
        SELECT COALESCE(SUM(debit), 0), COALESCE(SUM(credit), 0)
          INTO total_debit, total_credit
          FROM ledger_journalline WHERE entry_id = OLD.entry_id;
        IF total_debit <> total_credit THEN
            RAISE EXCEPTION 'ledger: journal entry % is unbalanced (debit %, credit %)',
                OLD.entry_id, total_debit, total_credit
                USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    RETURN NULL;
END;
$$;

CREATE CONSTRAINT TRIGGER ledger_journalline_balanced
    AFTER INSERT OR UPDATE OR DELETE ON ledger_journalline
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_check_entry_balance();
"""

DROP_SQL = """
DROP TRIGGER IF EXISTS ledger_journalline_balanced ON ledger_journalline;
DROP TRIGGER IF EXISTS ledger_journalline_immutable ON ledger_journalline;
DROP TRIGGER IF EXISTS ledger_journalentry_immutable ON ledger_journalentry;
DROP FUNCTION IF EXISTS ledger_check_entry_balance();
DROP FUNCTION IF EXISTS ledger_refuse_change();
"""


def create_triggers(apps, schema_editor):
    schema_editor.execute(CREATE_SQL, params=None)


def drop_triggers(apps, schema_editor):
    schema_editor.execute(DROP_SQL, params=None)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0002_seed_chart_of_accounts")]

    operations = [migrations.RunPython(create_triggers, drop_triggers)]

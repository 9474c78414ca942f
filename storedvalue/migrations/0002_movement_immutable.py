"""PostgreSQL backstop behind the ORM guard (`AppendOnlyModel`): a store credit movement, like a
journal entry or a gift card movement, is never updated or deleted, whatever client writes to the
database. TRUNCATE fires no row triggers, so the test runner's flush still works."""

from django.db import migrations

CREATE_SQL = """
CREATE OR REPLACE FUNCTION storedvalue_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'storedvalue: % on % refused: store credit movements are immutable',
        TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END;
$$;

CREATE TRIGGER storedvalue_storecreditmovement_immutable
    BEFORE UPDATE OR DELETE ON storedvalue_storecreditmovement
    FOR EACH ROW EXECUTE FUNCTION storedvalue_refuse_change();
"""

DROP_SQL = """
DROP TRIGGER IF EXISTS storedvalue_storecreditmovement_immutable
    ON storedvalue_storecreditmovement;
DROP FUNCTION IF EXISTS storedvalue_refuse_change();
"""


def create_triggers(apps, schema_editor):
    schema_editor.execute(CREATE_SQL, params=None)


def drop_triggers(apps, schema_editor):
    schema_editor.execute(DROP_SQL, params=None)


class Migration(migrations.Migration):
    dependencies = [("storedvalue", "0001_initial")]

    operations = [migrations.RunPython(create_triggers, drop_triggers)]

"""PostgreSQL backstop behind the ORM guard (`AppendOnlyModel`): a gift card movement, like a
journal entry, is never updated or deleted, whatever client writes to the database. TRUNCATE
fires no row triggers, so the test runner's flush still works."""

from django.db import migrations

CREATE_SQL = """
CREATE OR REPLACE FUNCTION giftcards_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'giftcards: % on % refused: gift card movements are immutable',
        TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END;
$$;

CREATE TRIGGER giftcards_giftcardmovement_immutable
    BEFORE UPDATE OR DELETE ON giftcards_giftcardmovement
    FOR EACH ROW EXECUTE FUNCTION giftcards_refuse_change();
"""

DROP_SQL = """
DROP TRIGGER IF EXISTS giftcards_giftcardmovement_immutable ON giftcards_giftcardmovement;
DROP FUNCTION IF EXISTS giftcards_refuse_change();
"""


def create_triggers(apps, schema_editor):
    schema_editor.execute(CREATE_SQL, params=None)


def drop_triggers(apps, schema_editor):
    schema_editor.execute(DROP_SQL, params=None)


class Migration(migrations.Migration):
    dependencies = [("giftcards", "0001_initial")]

    operations = [migrations.RunPython(create_triggers, drop_triggers)]

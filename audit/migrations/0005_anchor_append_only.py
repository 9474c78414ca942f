"""Chain anchors are append-only too, like the events they point at: the same `BEFORE UPDATE OR
DELETE` row trigger (`audit_refuse_change`, migration 0002) refuses any change to one, whoever
sends the SQL. The append writes an anchor with `INSERT … ON CONFLICT DO NOTHING` and nothing
ever rewrites one; month-by-month verification starts from them, and the full walk checks each
against its event, which still catches what gets past the trigger.

TRUNCATE fires no row trigger, so Django's test flush keeps working.
"""

from django.db import migrations

CREATE_SQL = """
CREATE TRIGGER audit_auditchainanchor_append_only
    BEFORE UPDATE OR DELETE ON audit_auditchainanchor
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
"""

DROP_SQL = "DROP TRIGGER IF EXISTS audit_auditchainanchor_append_only ON audit_auditchainanchor;"


class Migration(migrations.Migration):
    dependencies = [("audit", "0004_chain_help_text")]

    operations = [migrations.RunSQL(CREATE_SQL, DROP_SQL)]

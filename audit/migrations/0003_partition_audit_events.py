"""Audit events become RANGE-partitioned by month of `at` (dbtools.partitions), with a chain
anchor per (chain, month) so one month can be verified on its own.

* `hash` loses its global UNIQUE (a unique index on a partitioned table must include `at`);
  a duplicated event cannot link into the chain, and verification checks every link.
* the primary key in the database is `(id, at)`; Django still sees `id`.
* the append-only trigger is created on the partitioned parent: PostgreSQL clones it onto every
  partition, present and future, so an UPDATE or DELETE addressed to a partition by name is
  refused as well.
* existing events are copied, and their anchors written from them.
"""

from django.db import migrations, models

from dbtools.partitions import partition_table

TRIGGER_SQL = """
CREATE TRIGGER audit_auditevent_append_only
    BEFORE UPDATE OR DELETE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
"""

ANCHORS_SQL = """
INSERT INTO audit_auditchainanchor (chain, month, first_event_id, prev_hash, hash)
SELECT DISTINCT ON (chain, date_trunc('month', at AT TIME ZONE 'UTC'))
       chain, date_trunc('month', at AT TIME ZONE 'UTC')::date, id, prev_hash, hash
FROM audit_auditevent
ORDER BY chain, date_trunc('month', at AT TIME ZONE 'UTC'), id
ON CONFLICT (chain, month) DO NOTHING
"""


def partition(apps, schema_editor):
    partition_table(schema_editor, table="audit_auditevent", column="at")
    schema_editor.execute(TRIGGER_SQL, params=None)


def write_anchors(apps, schema_editor):
    schema_editor.execute(ANCHORS_SQL, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only_trigger")]

    operations = [
        migrations.AlterField(
            model_name="auditevent",
            name="hash",
            field=models.CharField(max_length=64),
        ),
        migrations.RunPython(partition, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["store_id", "id"], name="auditevent_store_id"),
        ),
        migrations.CreateModel(
            name="AuditChainAnchor",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("chain", models.BigIntegerField()),
                ("month", models.DateField(help_text="The first day of the month (UTC).")),
                ("first_event_id", models.BigIntegerField()),
                ("prev_hash", models.CharField(max_length=64)),
                ("hash", models.CharField(max_length=64)),
            ],
            options={
                "ordering": ("chain", "first_event_id"),
                "constraints": [
                    models.UniqueConstraint(
                        fields=("chain", "month"), name="auditchainanchor_unique"
                    )
                ],
            },
        ),
        migrations.RunPython(write_anchors, migrations.RunPython.noop),
    ]

"""Add 1090 Exchange clearing to the chart of accounts (API.md, Version 1.1, "Exchanges"): an
exchange's refund credits it and the sale the returned goods pay for debits it, in one
transaction. Copied here, not imported, like 0002."""

from django.db import migrations

ACCOUNTS = (("1090", "Exchange clearing", "asset"),)


def add_accounts(apps, schema_editor):
    Account = apps.get_model("ledger", "Account")
    db = schema_editor.connection.alias
    for code, name, type_ in ACCOUNTS:
        Account.objects.using(db).update_or_create(
            code=code, defaults={"name": name, "type": type_}
        )


def remove_accounts(apps, schema_editor):
    # An account with posted lines is protected; only unused ones go.
    Account = apps.get_model("ledger", "Account")
    Account.objects.using(schema_editor.connection.alias).filter(
        code__in=[code for code, _, _ in ACCOUNTS], lines__isnull=True
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0007_returns"),
    ]

    operations = [
        migrations.RunPython(add_accounts, remove_accounts),
    ]

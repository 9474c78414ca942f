"""Add 2150 Tips payable and 6910 Cash rounding to the chart of accounts (API.md, Version 1.1,
"Money per currency, rounding and tips"). Copied here, not imported, like 0002."""

from django.db import migrations

ACCOUNTS = (
    ("2150", "Tips payable", "liability"),
    ("6910", "Cash rounding", "expense"),
)


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
        ("ledger", "0004_money_three_decimals"),
    ]

    operations = [
        migrations.RunPython(add_accounts, remove_accounts),
    ]

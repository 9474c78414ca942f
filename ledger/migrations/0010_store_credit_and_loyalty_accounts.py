"""Add 2310 Store credit (liability: what customers' store-credit balances hold) and 2320 Loyalty
points (liability: the value of the points customers hold) to the chart of accounts (API.md,
Version 1.1, "Customers, stored value and loyalty"). Both move only inside a sale, refund, return
or void (lines of their entries), so no new journal source. Copied here, not imported, like
0002."""

from django.db import migrations

ACCOUNTS = (
    ("2310", "Store credit", "liability"),
    ("2320", "Loyalty points", "liability"),
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
        ("ledger", "0009_gift_card_accounts"),
    ]

    operations = [
        migrations.RunPython(add_accounts, remove_accounts),
    ]

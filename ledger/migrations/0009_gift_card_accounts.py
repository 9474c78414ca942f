"""Add 2300 Gift cards outstanding (liability: what issued gift cards still hold) and 4010 Gift
card breakage (revenue: what expired cards held) to the chart of accounts (API.md, Version 1.1,
"Customers, stored value and loyalty", gift cards), and the journal sources of a gift card's
issue and expiry. Copied here, not imported, like 0002."""

from django.db import migrations, models

ACCOUNTS = (
    ("2300", "Gift cards outstanding", "liability"),
    ("4010", "Gift card breakage", "revenue"),
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
        ("ledger", "0008_exchange_clearing_account"),
    ]

    operations = [
        migrations.AlterField(
            model_name='journalentry',
            name='source',
            field=models.CharField(choices=[('sale', 'Sale'), ('refund', 'Refund'), ('shift_close', 'Shift close'), ('cash_movement', 'Cash movement'), ('stock_adjustment', 'Stock adjustment'), ('reversal', 'Reversal'), ('void', 'Void'), ('return', 'Return without receipt'), ('gift_card_issue', 'Gift card issued'), ('gift_card_expiry', 'Gift card expired')], max_length=20),
        ),
        migrations.RunPython(add_accounts, remove_accounts),
    ]

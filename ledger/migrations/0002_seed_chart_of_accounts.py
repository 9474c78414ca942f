"""Seed the chart of accounts the contract names (API.md "Ledger").

The list is copied here rather than imported from `ledger.models`, so this migration keeps
doing what it did when it was written even if the model module changes later.
"""

from django.db import migrations

CHART = (
    ("1000", "Cash", "asset"),
    ("1010", "Card clearing", "asset"),
    ("1020", "Other tenders", "asset"),
    ("1050", "Cash transfers", "asset"),
    ("1200", "Inventory", "asset"),
    ("2100", "Sales tax payable", "liability"),
    ("4000", "Sales revenue", "revenue"),
    ("4900", "Sales returns", "revenue"),
    ("5000", "Cost of goods sold", "expense"),
    ("5100", "Inventory adjustments", "expense"),
    ("6900", "Cash over/short", "expense"),
)


def seed_chart(apps, schema_editor):
    Account = apps.get_model("ledger", "Account")
    db = schema_editor.connection.alias
    for code, name, type_ in CHART:
        Account.objects.using(db).update_or_create(
            code=code, defaults={"name": name, "type": type_}
        )


def unseed_chart(apps, schema_editor):
    # Accounts with posted lines are protected (PROTECT); only an unused chart can go.
    Account = apps.get_model("ledger", "Account")
    Account.objects.using(schema_editor.connection.alias).filter(
        code__in=[code for code, _, _ in CHART], lines__isnull=True
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]

    operations = [migrations.RunPython(seed_chart, unseed_chart)]

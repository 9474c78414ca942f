"""Stock valued in money (issue 14, item 9): `StockMovement.value`, the signed inventory value a
movement moved (= what was posted to the ledger's 1200 for it), and `StockLevel.value`, the
book value of the stock on hand (Σ its movements' values).

Existing rows, best effort: a movement's value is round(quantity_delta × unit_cost) half-up to
the store currency's minor unit (what an adjustment posted; a past sale of several lines or a
weighed quantity may have posted a minor unit apart), and a level's value is the sum of its
movements' values.
"""

import money.fields
from django.db import migrations

from money.currencies import minor_units


def _places(code):
    try:
        return minor_units(code)
    except ValueError:  # a code not accepted today: ISO 4217's usual 2
        return 2


def backfill(apps, schema_editor):
    movements = apps.get_model("catalog", "StockMovement")._meta.db_table
    levels = apps.get_model("catalog", "StockLevel")._meta.db_table
    stores = apps.get_model("accounts", "Store")._meta.db_table
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"SELECT DISTINCT currency FROM {stores}")
        codes = [code for (code,) in cursor.fetchall()]
        # PostgreSQL's round(numeric, n) rounds half away from zero, like `round_money`.
        cursor.execute(
            f"""
            UPDATE {movements} AS movement
            SET value = round(movement.quantity_delta * movement.unit_cost, digits.places)
            FROM {stores} AS store, unnest(%s::text[], %s::int[]) AS digits(currency, places)
            WHERE store.id = movement.store_id AND digits.currency = store.currency
            """,
            [codes, [_places(code) for code in codes]],
        )
        cursor.execute(
            f"""
            UPDATE {levels} AS level SET value = moved.value
            FROM (
                SELECT store_id, product_id, sum(value) AS value FROM {movements}
                GROUP BY store_id, product_id
            ) AS moved
            WHERE level.store_id = moved.store_id AND level.product_id = moved.product_id
            """
        )


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0001_initial'),
        ('catalog', '0003_money_three_decimals'),
    ]

    operations = [
        migrations.AddField(
            model_name='stocklevel',
            name='value',
            field=money.fields.MoneyField(decimal_places=3, default=0, help_text="Book value: Σ the movements' values (= ledger 1200).", max_digits=15),
        ),
        migrations.AddField(
            model_name='stockmovement',
            name='value',
            field=money.fields.MoneyField(decimal_places=3, default=0, help_text='Inventory value moved, signed (posted to 1200).', max_digits=15),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]

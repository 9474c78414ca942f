"""Per-line cost of goods (issue 14, item 9): `OrderLine.cost` (round(unit_cost × quantity)
half-up to the order currency's minor unit for a stock-tracked product, 0 otherwise),
`OrderLine.refunded_cost` and `RefundLine.cost`.

Existing rows, best effort: a line's cost from its snapshotted unit cost (tracked as the product
is now); its refund lines' costs pro rata by the cumulative quantity refunded, in refund order —
round(cost × refunded so far / quantity) minus the same before this piece — so the pieces of a
fully refunded line add up to its cost exactly; `refunded_cost` is their sum.
"""

import money.fields
from django.db import migrations, models

from money.currencies import minor_units


def _places(code):
    try:
        return minor_units(code)
    except ValueError:  # a code not accepted today: ISO 4217's usual 2
        return 2


def backfill(apps, schema_editor):
    orders = apps.get_model("orders", "Order")._meta.db_table
    lines = apps.get_model("orders", "OrderLine")._meta.db_table
    refund_lines = apps.get_model("orders", "RefundLine")._meta.db_table
    products = apps.get_model("catalog", "Product")._meta.db_table
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"SELECT DISTINCT currency FROM {orders}")
        codes = [code for (code,) in cursor.fetchall()]
        digits = [codes, [_places(code) for code in codes]]
        # PostgreSQL's round(numeric, n) rounds half away from zero, like `round_money`.
        cursor.execute(
            f"""
            UPDATE {lines} AS line
            SET cost = round(line.unit_cost * line.quantity, digits.places)
            FROM {products} AS product, {orders} AS sale,
                 unnest(%s::text[], %s::int[]) AS digits(currency, places)
            WHERE product.id = line.product_id AND product.track_stock
              AND sale.id = line.order_id AND digits.currency = sale.currency
            """,
            digits,
        )
        cursor.execute(
            f"""
            UPDATE {refund_lines} AS piece SET cost = share.cost
            FROM (
                SELECT rl.id,
                       round(line.cost * rl.through / line.quantity, digits.places)
                       - round(line.cost * (rl.through - rl.quantity) / line.quantity,
                               digits.places) AS cost
                FROM (
                    SELECT id, order_line_id, quantity,
                           sum(quantity) OVER (PARTITION BY order_line_id ORDER BY refund_id, id)
                               AS through
                    FROM {refund_lines}
                ) AS rl
                JOIN {lines} AS line ON line.id = rl.order_line_id
                JOIN {orders} AS sale ON sale.id = line.order_id
                JOIN unnest(%s::text[], %s::int[]) AS digits(currency, places)
                    ON digits.currency = sale.currency
            ) AS share
            WHERE piece.id = share.id
            """,
            digits,
        )
        cursor.execute(
            f"""
            UPDATE {lines} AS line SET refunded_cost = refunded.cost
            FROM (
                SELECT order_line_id, sum(cost) AS cost FROM {refund_lines}
                GROUP BY order_line_id
            ) AS refunded
            WHERE line.id = refunded.order_line_id
            """
        )


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0004_stock_value'),
        ('orders', '0005_money_three_decimals'),
    ]

    operations = [
        migrations.AddField(
            model_name='orderline',
            name='cost',
            field=money.fields.MoneyField(decimal_places=3, default=0, help_text='Cost of goods: round(unit cost × quantity), tracked.', max_digits=15),
        ),
        migrations.AddField(
            model_name='orderline',
            name='refunded_cost',
            field=money.fields.MoneyField(decimal_places=3, default=0, max_digits=15),
        ),
        migrations.AddField(
            model_name='refundline',
            name='cost',
            field=money.fields.MoneyField(decimal_places=3, default=0, help_text="The piece of the line's cost of goods; back into inventory if restocked.", max_digits=15),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='orderline',
            constraint=models.CheckConstraint(condition=models.Q(('cost__gte', 0)), name='orderline_cost_nonnegative'),
        ),
        migrations.AddConstraint(
            model_name='orderline',
            constraint=models.CheckConstraint(condition=models.Q(('refunded_cost__gte', 0), ('refunded_cost__lte', models.F('cost'))), name='orderline_refund_cost_not_over_cost'),
        ),
    ]

"""Benchmark: generating one store's daily report over 100,000 orders of one local day.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pos .venv/bin/python bench/bench_daily_report.py
    (options: --orders 100000 --noise 100000 --runs 3)

Works on a throwaway PostgreSQL database (created and dropped here, never the one in
DATABASE_URL): seeds one store's day with `--orders` sales (1–3 lines each, one payment each,
a few hundred refunds) and `--noise` more sales on the ten days before, all with set-based
`INSERT … SELECT generate_series` (seconds, not minutes), then times `daily_report_figures`
(the seven aggregate queries) and the full `daily_report_generate` (figures plus the upsert),
prints each query's time, and the EXPLAIN (ANALYZE, BUFFERS) plan of the slowest one.
Target: generation ≤ 2 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "posproject.settings")
os.environ.setdefault("DJANGO_DEBUG", "true")
os.environ.setdefault("DJANGO_TEST_DB_NAME", f"bench_reports_{os.getpid()}")
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "true")

import django  # noqa: E402

django.setup()

import datetime as dt  # noqa: E402
from decimal import Decimal  # noqa: E402

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

TARGET_SECONDS = 2.0
DAY = dt.date(2026, 3, 10)
PRODUCTS = 400
CASHIERS = 12


def seed(*, orders: int, noise: int) -> dict:
    from accounts.models import Register, Role, Store, User
    from catalog.models import Product, TaxRate
    from orders.models import Shift
    from orders.selectors.reports import local_day_bounds

    store = Store.objects.create(code="BENCH", name="Bench store", timezone="America/New_York")
    register = Register.objects.create(store=store, code="R1")
    cashiers = [
        User.objects.create(username=f"bench-cashier-{n}", role=Role.CASHIER)
        for n in range(CASHIERS)
    ]
    shift = Shift.objects.create(
        store=store, register=register, opened_by=cashiers[0], opening_float=Decimal("0")
    )
    tax = TaxRate.objects.create(name="Bench 10", rate=Decimal("10.000"))
    Product.objects.bulk_create(
        Product(
            sku=f"BENCH-{n:04d}",
            name=f"Bench product {n}",
            price=Decimal(100 + n * 37 % 2900) / 100,
            cost=Decimal("0.50"),
            tax_rate=tax,
        )
        for n in range(PRODUCTS)
    )
    start, end = local_day_bounds(tz=store.tzinfo, date=DAY)
    cashier_ids = [c.pk for c in cashiers]

    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = 0")
        # Orders: `orders` on DAY spread evenly over the local day, `noise` on the 10 days before.
        cursor.execute(
            """
            INSERT INTO orders_order (store_id, register_id, shift_id, cashier_id, number,
                sequence, status, created_at, offline, currency, prices_include_tax,
                order_discount, subtotal, discount_total, tax_total, total, paid_total,
                change_due, refunded_total, rounding, tips_total, total_due, late,
                returned_total, points_earned, promotion_total, promotions)
            SELECT %(store)s, %(register)s, %(shift)s,
                   (%(cashiers)s::bigint[])[1 + i %% %(ncash)s],
                   'B' || i, i, 'completed',
                   CASE WHEN i <= %(orders)s
                        THEN %(start)s::timestamptz + (%(span)s * (i - 0.5) / %(orders)s)
                                                      * interval '1 second'
                        ELSE %(start)s::timestamptz - interval '10 days'
                             + (864000.0 * (i - %(orders)s - 0.5) / GREATEST(%(noise)s, 1))
                               * interval '1 second'
                   END,
                   false, 'USD', false, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, false, 0, 0, 0, '[]'
            FROM generate_series(1, %(total)s) AS i
            """,
            {
                "store": store.pk,
                "register": register.pk,
                "shift": shift.pk,
                "cashiers": cashier_ids,
                "ncash": len(cashier_ids),
                "orders": orders,
                "noise": noise,
                "total": orders + noise,
                "start": start,
                "span": (end - start).total_seconds(),
            },
        )
        # Lines: 1–3 per order, products picked deterministically, priced tax-exclusive at 10 %.
        cursor.execute(
            """
            WITH p AS (
                SELECT id, sku, name, price, cost, row_number() OVER (ORDER BY id) - 1 AS idx
                FROM catalog_product WHERE tax_rate_id = %(tax)s
            )
            INSERT INTO orders_orderline (order_id, position, product_id, sku, name, quantity,
                unit_price, unit_cost, gross, line_discount, discount, net, tax_rate, tax, total,
                refunded_quantity, refunded_net, refunded_tax, refunded_total, cost, refunded_cost,
                modifiers, promotion_discount, promotion_name)
            SELECT o.id, j, p.id, p.sku, p.name, q.qty, p.price, p.cost,
                   round(p.price * q.qty, 2), 0, 0, round(p.price * q.qty, 2), 10.000,
                   round(round(p.price * q.qty, 2) * 0.1, 2),
                   round(p.price * q.qty, 2) + round(round(p.price * q.qty, 2) * 0.1, 2),
                   0, 0, 0, 0, round(p.cost * q.qty, 2), 0, '[]', 0, ''
            FROM orders_order o
            CROSS JOIN LATERAL generate_series(1, 1 + o.sequence %% 3) AS j
            CROSS JOIN LATERAL (SELECT 1 + (o.sequence + j) %% 3 AS qty) AS q
            JOIN p ON p.idx = (o.sequence * 7 + j * 13) %% %(nprod)s
            WHERE o.store_id = %(store)s
            """,
            {"tax": tax.pk, "nprod": PRODUCTS, "store": store.pk},
        )
        cursor.execute(
            """
            UPDATE orders_order o
            SET subtotal = l.gross, tax_total = l.tax, total = l.total, paid_total = l.total,
                total_due = l.total
            FROM (SELECT order_id, sum(gross) AS gross, sum(tax) AS tax, sum(total) AS total
                  FROM orders_orderline GROUP BY order_id) l
            WHERE l.order_id = o.id AND o.store_id = %(store)s
            """,
            {"store": store.pk},
        )
        cursor.execute(
            """
            INSERT INTO orders_payment (order_id, method, amount, change, reference, card_last4,
                refunded_amount, tip)
            SELECT id, (ARRAY['cash', 'card', 'other'])[1 + sequence %% 3], total, 0, '', '', 0, 0
            FROM orders_order WHERE store_id = %(store)s
            """,
            {"store": store.pk},
        )
        # A refund for every 200th order of the day, made the same day.
        cursor.execute(
            """
            INSERT INTO orders_refund (order_id, store_id, number, created_by_id, created_at,
                reason, restock, net_total, tax_total, total)
            SELECT id, store_id, 'RF' || sequence, cashier_id, created_at + interval '1 minute',
                   '', true, 0, 0, 0
            FROM orders_order
            WHERE store_id = %(store)s AND sequence <= %(orders)s AND sequence %% 200 = 0
              AND created_at + interval '1 minute' < %(end)s
            """,
            {"store": store.pk, "orders": orders, "end": end},
        )
        cursor.execute("ANALYZE")
        cursor.execute("RESET statement_timeout")
    return {"store": store}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=100_000, help="sales on the reported day")
    parser.add_argument("--noise", type=int, default=100_000, help="sales on the 10 days before")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    print(f"database: {connection.settings_dict['NAME']} (throwaway)")
    try:
        started = time.perf_counter()
        store = seed(orders=args.orders, noise=args.noise)["store"]
        counts = _counts()
        print(
            f"seeded in {time.perf_counter() - started:.1f} s: {counts['orders']:,} orders "
            f"({args.orders:,} on {DAY}), {counts['lines']:,} lines, "
            f"{counts['payments']:,} payments, {counts['refunds']:,} refunds"
        )
        run(store=store, runs=args.runs, expected_orders=args.orders)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def _counts() -> dict[str, int]:
    from orders.models import Order, OrderLine, Payment, Refund

    return {
        "orders": Order.objects.count(),
        "lines": OrderLine.objects.count(),
        "payments": Payment.objects.count(),
        "refunds": Refund.objects.count(),
    }


def run(*, store, runs: int, expected_orders: int) -> None:
    from orders.selectors.reports import daily_report_figures
    from orders.services.reports import daily_report_generate

    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        figures = daily_report_figures(store=store, date=DAY)
        timings.append(time.perf_counter() - started)
    assert figures["orders_count"] == expected_orders, figures["orders_count"]

    with CaptureQueriesContext(connection) as captured:
        started = time.perf_counter()
        daily_report_generate(store=store, date=DAY)
        generate_seconds = time.perf_counter() - started

    best, median = min(timings), statistics.median(timings)
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"\nmachine: {os.cpu_count()} cores, load average {load} (timings scale with it)")
    verdict = "OK" if generate_seconds <= TARGET_SECONDS else "OVER TARGET"
    print(
        f"daily_report_figures over {expected_orders:,} orders: best {best:.3f} s, "
        f"median {median:.3f} s ({runs} runs)"
    )
    print(
        f"daily_report_generate (figures + upsert): {generate_seconds:.3f} s, "
        f"{len(captured.captured_queries)} queries — target ≤ {TARGET_SECONDS:.0f} s: {verdict}"
    )
    print(
        f"figures: net {figures['net_sales']}, tax {figures['tax_total']}, "
        f"refunds {figures['refunds_total']}, top product {figures['top_products'][0]['name']}"
    )

    selects = [
        q for q in captured.captured_queries if q["sql"].lstrip().upper().startswith("SELECT")
    ]
    print("\nper query (time as measured by Django):")
    for query in selects:
        print(f"  {float(query['time']):7.3f} s  {query['sql'][:110]}…")
    slowest = max(selects[:7], key=lambda q: float(q["time"]))
    print("\nEXPLAIN (ANALYZE, BUFFERS) of the slowest query:\n")
    print(slowest["sql"], "\n")
    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = 0")
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + slowest["sql"])
        for (line,) in cursor.fetchall():
            print(line)


if __name__ == "__main__":
    main()

"""Do the order list and the daily report stay flat as the orders table grows? (explain run)

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pos .venv/bin/python bench/explain_scaling.py
    (options: --sizes 10000,1000000 --day-orders 5000 --runs 5)

On a throwaway PostgreSQL database (created and dropped here): one store whose reported day holds
`--day-orders` sales, seeded by `bench/bench_daily_report.py`'s `seed()`; the rest of each size
is history on the days before (set-based inserts, same shapes). At each size it times, through
the real stack, `GET /api/v1/orders/?store=` (first page of 50, newest first), the same list
filtered to the day, and the daily report's figures, then prints EXPLAIN (ANALYZE, BUFFERS) of
every SELECT they ran. The sizes grow in place (10,000 orders, then 990,000 more), so the two
plans differ only by the size of the tables.
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
os.environ.setdefault("DJANGO_TEST_DB_NAME", f"bench_explain_{os.getpid()}")
# Seeding a million rows and dropping the database take longer than the app's 5 s limit.
os.environ.setdefault("DB_STATEMENT_TIMEOUT_MS", "0")
os.environ["LOG_LEVEL"] = "WARNING"
os.environ["ACCESS_LOG_LEVEL"] = "WARNING"

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

import bench.bench_daily_report as report_bench  # noqa: E402


def add_history(*, store, count: int) -> None:
    """`count` more completed sales (1–3 lines, one payment) spread over the 400 days before the
    reported day, with the same shapes as the report benchmark's seed."""
    from orders.models import Order, Shift

    shift = Shift.objects.filter(store=store).first()
    cashiers = list(Order.objects.filter(store=store).values_list("cashier_id", flat=True)[:12])
    start, _ = _day_bounds(store)
    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = 0")
        cursor.execute("SELECT coalesce(max(sequence), 0) FROM orders_order")
        (base,) = cursor.fetchone()
        cursor.execute(
            """
            INSERT INTO orders_order (store_id, register_id, shift_id, cashier_id, number,
                sequence, status, created_at, offline, currency, prices_include_tax,
                order_discount, subtotal, discount_total, tax_total, total, paid_total,
                change_due, refunded_total)
            SELECT %(store)s, %(register)s, %(shift)s, (%(cashiers)s::bigint[])[1 + i %% 12],
                   'H' || i, i, 'completed',
                   %(start)s::timestamptz - interval '1 day'
                       - (34560000.0 * (i - %(base)s) / %(count)s) * interval '1 second',
                   false, 'USD', false, 0, 0, 0, 0, 0, 0, 0, 0
            FROM generate_series(%(base)s + 1, %(base)s + %(count)s) AS i
            """,
            {
                "store": store.pk,
                "register": shift.register_id,
                "shift": shift.pk,
                "cashiers": cashiers,
                "start": start,
                "base": base,
                "count": count,
            },
        )
        cursor.execute(
            """
            WITH p AS (
                SELECT id, sku, name, price, cost, row_number() OVER (ORDER BY id) - 1 AS idx
                FROM catalog_product
            ), n AS (SELECT count(*) AS n FROM p)
            INSERT INTO orders_orderline (order_id, position, product_id, sku, name, quantity,
                unit_price, unit_cost, gross, line_discount, discount, net, tax_rate, tax, total,
                refunded_quantity, refunded_net, refunded_tax, refunded_total)
            SELECT o.id, j, p.id, p.sku, p.name, 1, p.price, p.cost, p.price, 0, 0, p.price,
                   10.000, round(p.price * 0.1, 2), p.price + round(p.price * 0.1, 2), 0, 0, 0, 0
            FROM orders_order o
            CROSS JOIN LATERAL generate_series(1, 1 + o.sequence %% 3) AS j
            JOIN p ON p.idx = (o.sequence * 7 + j * 13) %% (SELECT n FROM n)
            WHERE o.sequence > %(base)s AND o.number LIKE 'H%%'
            """,
            {"base": base},
        )
        cursor.execute(
            """
            UPDATE orders_order o
            SET subtotal = l.gross, tax_total = l.tax, total = l.total, paid_total = l.total
            FROM (SELECT l.order_id, sum(l.gross) AS gross, sum(l.tax) AS tax,
                         sum(l.total) AS total
                  FROM orders_orderline l JOIN orders_order oo ON oo.id = l.order_id
                  WHERE oo.sequence > %(base)s AND oo.number LIKE 'H%%'
                  GROUP BY l.order_id) l
            WHERE l.order_id = o.id
            """,
            {"base": base},
        )
        cursor.execute(
            """
            INSERT INTO orders_payment (order_id, method, amount, change, reference, card_last4,
                refunded_amount)
            SELECT id, (ARRAY['cash', 'card', 'other'])[1 + sequence %% 3], total, 0, '', '', 0
            FROM orders_order WHERE sequence > %(base)s AND number LIKE 'H%%'
            """,
            {"base": base},
        )
        cursor.execute("VACUUM ANALYZE")  # autocommit: fresh statistics and visibility map
        cursor.execute("RESET statement_timeout")


def _day_bounds(store):
    from orders.selectors.reports import local_day_bounds

    return local_day_bounds(tz=store.tzinfo, date=report_bench.DAY)


def _timed(call, runs: int) -> tuple[float, list[dict]]:
    timings = []
    captured: list[dict] = []
    for _ in range(runs):
        with CaptureQueriesContext(connection) as ctx:
            started = time.perf_counter()
            call()
            timings.append(time.perf_counter() - started)
        captured = ctx.captured_queries
    return statistics.median(timings), captured


def explain(sql: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = 0")
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        return [line for (line,) in cursor.fetchall()]


def measure(*, store, manager_client: Client, runs: int, label: str) -> dict:
    from orders.selectors.reports import daily_report_figures

    def order_list():
        response = manager_client.get("/api/v1/orders/", {"store": store.pk, "page_size": 50})
        assert response.status_code == 200, response.content
        return response

    def order_list_day():
        response = manager_client.get(
            "/api/v1/orders/",
            {"store": store.pk, "date_from": report_bench.DAY, "date_to": report_bench.DAY},
        )
        assert response.status_code == 200, response.content
        return response

    def report():
        return daily_report_figures(store=store, date=report_bench.DAY)

    from orders.models import Order

    total = Order.objects.count()
    results = {}
    print(f"\n## {label}: {total:,} orders in the table\n")
    for name, call in (
        ("order list, first page of 50 (GET /api/v1/orders/?store=)", order_list),
        ("order list of the day (?date_from=&date_to=, first page)", order_list_day),
        ("daily report figures (the 7 aggregates)", report),
    ):
        call()  # warm
        seconds, queries = _timed(call, runs)
        results[name] = seconds
        print(f"### {name}: median {seconds * 1000:.1f} ms over {runs} runs\n")
        for query in queries:
            sql = query["sql"]
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            print("```")
            print(sql[:600] + (" …" if len(sql) > 600 else ""))
            print()
            print("\n".join(explain(sql)))
            print("```\n")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--day-orders", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    from accounts.models import Role, User
    from accounts.tokens import tokens_for

    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    print(f"database: {connection.settings_dict['NAME']} (throwaway)")
    summary = []
    try:
        started = time.perf_counter()
        store = report_bench.seed(orders=args.day_orders, noise=sizes[0] - args.day_orders)["store"]
        print(f"seeded {sizes[0]:,} orders in {time.perf_counter() - started:.1f} s")
        manager = User.objects.create(username="explain-manager", role=Role.MANAGER)
        manager.stores.set([store])
        client = Client(HTTP_AUTHORIZATION=f"Bearer {tokens_for(manager).access_token}")
        seeded = sizes[0]
        for size in sizes:
            if size > seeded:
                started = time.perf_counter()
                add_history(store=store, count=size - seeded)
                print(f"\ngrew to {size:,} orders in {time.perf_counter() - started:.1f} s")
                seeded = size
            summary.append(
                (size, measure(store=store, manager_client=client, runs=args.runs,
                               label=f"{size:,} orders"))
            )  # fmt: skip
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)

    print("\n## Summary (median ms)\n")
    names = list(summary[0][1])
    print("| orders | " + " | ".join(names) + " |")
    print("|--:|" + "--:|" * len(names))
    for size, results in summary:
        print(f"| {size:,} | " + " | ".join(f"{results[n] * 1000:.1f}" for n in names) + " |")


if __name__ == "__main__":
    main()

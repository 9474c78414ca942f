"""Benchmark: import a generated 10,000-row product CSV through the real import path
(django-import-export resource → `ProductSerializer` validation → `product_bulk_save`).

Not a test. It needs a migrated database (`DATABASE_URL`; PostgreSQL is what matters) and, by
default, rolls the import back at the end so it can be rerun against any database:

    DJANGO_DEBUG=true DATABASE_URL=postgres://postgres@127.0.0.1:5432/pos \\
        .venv/bin/python bench/bench_catalog_import.py [--rows 10000] [--keep] [--update]

`--update` imports the same file twice (create pass, then timed update pass).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "posproject.settings")


def generate_csv(rows: int, tax_rate_id: int, category_id: int, prefix: str) -> str:
    lines = ["sku,barcode,name,category,price,cost,tax_rate,track_stock,is_active"]
    for i in range(rows):
        price = Decimal(100 + i % 5000) / 100
        cost = (price * Decimal("0.6")).quantize(Decimal("0.01"))
        category = category_id if i % 3 else ""
        lines.append(
            f"{prefix}-{i:06d},{prefix}{i:09d},Bench product {i},{category},{price},{cost},"
            f"{tax_rate_id},{1 if i % 10 else 0},1"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--keep", action="store_true", help="commit instead of rolling back")
    parser.add_argument("--update", action="store_true", help="also time a re-import (updates)")
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection, transaction

    from catalog.imports import product_import_csv
    from catalog.models import Category, TaxRate

    prefix = f"B{int(time.time()) % 100000:05d}"
    print(f"database: {connection.settings_dict['NAME']}, rows: {args.rows}")

    with transaction.atomic():
        tax_rate, _ = TaxRate.objects.get_or_create(name="Bench 8.25", defaults={"rate": "8.250"})
        category = Category.objects.create(name=f"Bench {prefix}")
        text = generate_csv(args.rows, tax_rate.pk, category.pk, prefix)

        started = time.perf_counter()
        report = product_import_csv(text=text, user=None)
        elapsed = time.perf_counter() - started
        if not report.ok:
            print("import refused:", report.errors[:5])
            transaction.set_rollback(True)
            sys.exit(1)
        rate = report.created / elapsed
        print(f"create: {report.created} rows in {elapsed:.2f} s = {rate:,.0f} rows/s")

        if args.update:
            started = time.perf_counter()
            report = product_import_csv(text=text.replace(",1\n", ",0\n"), user=None)
            elapsed = time.perf_counter() - started
            print(
                f"update: {report.updated} rows in {elapsed:.2f} s = "
                f"{report.updated / elapsed:,.0f} rows/s"
            )

        if not args.keep:
            transaction.set_rollback(True)
            print("rolled back (pass --keep to commit)")


if __name__ == "__main__":
    main()

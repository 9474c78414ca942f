"""CPU per request, in-process: the app's Python and its PostgreSQL backend, apart.

    .venv/bin/python bench/inprocess.py sale [--requests 600] [--rounds 3] [--statements]
    .venv/bin/python bench/inprocess.py sync [--rounds 3]

Runs against the `pos_bench` database that `make bench` seeded (run that first), through
Django's own WSGI handler — the whole middleware, JWT and DRF stack, without gunicorn, HTTP or a
load generator — one request at a time. For each round it prints the wall time, the CPU this
process spent (`time.process_time`) and the CPU the PostgreSQL backend serving it spent (read
from `/proc/<backend pid>/schedstat`, so PostgreSQL must run on this machine), per request:

- `sale`: `POST /api/v1/orders/` as `cashier-r1` on register R1 of store MAIN, 3 random lines of
  the stocked products, a cash tender of the exact total, a fresh Idempotency-Key each;
  `--statements` adds the backend CPU of each statement (one more `schedstat` read around each);
- `sync`: a full delta sync (`since_version=0`, 200 per page, following `next`) as `cashier-r1`.

Why it exists: on this 2-core box a `make bench` figure moves ±15% from run to run, more than
most single optimisations are worth. Alternating this script between two checkouts (each round
prints its own figures) shows what a change buys in CPU per request, which is what the sale's
throughput is bound by. Writes real sales into `pos_bench` (1,000,000 units of stock each).
"""

from __future__ import annotations

import argparse
import collections
import io
import json
import os
import random
import re
import secrets
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

os.environ.setdefault(
    "DATABASE_URL",
    f"postgres://postgres@127.0.0.1:5432/{os.environ.get('BENCH_DB_NAME', 'pos_bench')}",
)
os.environ.setdefault("REDIS_URL", os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"))
os.environ.setdefault("CACHE_KEY_PREFIX", f"inprocess-{os.getpid()}")
os.environ.setdefault("DJANGO_DEBUG", "false")
os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "127.0.0.1")
# Plain HTTP in-process: the HTTPS defaults of DEBUG-off are turned off explicitly.
for _name in (
    "DJANGO_SECURE_SSL_REDIRECT",
    "DJANGO_SESSION_COOKIE_SECURE",
    "DJANGO_CSRF_COOKIE_SECURE",
):
    os.environ.setdefault(_name, "false")
os.environ.setdefault("DJANGO_SECURE_HSTS_SECONDS", "0")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "posproject.settings")


_NEXT = re.compile(rb'"next":(?:null|"([^"]*)")')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenario", choices=["sale", "sync"])
    parser.add_argument("--requests", type=int, default=600, help="sales per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--statements", action="store_true", help="backend CPU per statement")
    args = parser.parse_args()

    import django

    django.setup()
    bench = _Bench()
    if args.scenario == "sale":
        bench.sales(requests=args.requests, rounds=args.rounds, statements=args.statements)
    else:
        bench.syncs(rounds=args.rounds)


class _Bench:
    def __init__(self) -> None:
        from django.core.handlers.wsgi import WSGIHandler
        from django.db import connection

        from accounts.models import Register, User
        from accounts.tokens import tokens_for

        cashier = User.objects.get(username="cashier-r1")
        self.register = Register.objects.get(code="R1", store__code="MAIN")
        self.token = str(tokens_for(cashier).access_token)
        self.app = WSGIHandler()
        self.connection = connection
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            self.backend_pid = cursor.fetchone()[0]

    def _backend_ns(self) -> int:
        with open(f"/proc/{self.backend_pid}/schedstat") as stat:
            return int(stat.read().split()[0])

    def _call(
        self, method: str, path: str, query: str = "", body: bytes = b"", **headers: str
    ) -> bytes:
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "127.0.0.1",
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "CONTENT_LENGTH": str(len(body)),
            "CONTENT_TYPE": "application/json",
            "HTTP_AUTHORIZATION": f"Bearer {self.token}",
            **{f"HTTP_{name.upper()}": value for name, value in headers.items()},
        }
        status: list[str] = []

        def start_response(code: str, headers: Any, exc_info: Any = None) -> Any:
            status.append(code)
            return lambda data: None

        content = b"".join(self.app(environ, start_response))
        if not status[0][:1] == "2":
            raise SystemExit(f"{method} {path} answered {status[0]}: {content[:300]!r}")
        return content

    def _round(self, label: str, count: int, work: Any) -> None:
        wall, cpu, backend = time.perf_counter(), time.process_time(), self._backend_ns()
        work()
        print(
            f"{label}: wall {1000 * (time.perf_counter() - wall) / count:.2f} ms, "
            f"app CPU {1000 * (time.process_time() - cpu) / count:.2f} ms, "
            f"PostgreSQL CPU {(self._backend_ns() - backend) / 1e6 / count:.2f} ms",
            flush=True,
        )

    # --- sale -------------------------------------------------------------------------------

    def _sale_bodies(self, count: int) -> list[bytes]:
        from catalog.models import Product, StockLevel
        from orders.pricing import LineInput, price_order

        stocked = StockLevel.objects.filter(
            store_id=self.register.store_id, quantity__gt=1000
        ).values_list("product_id", flat=True)[:1000]
        products = list(Product.objects.filter(id__in=list(stocked)).select_related("tax_rate"))
        store = self.register.store
        bodies = []
        for _ in range(count):
            picked = sorted(random.sample(products, 3), key=lambda p: p.pk)
            priced = price_order(
                lines=[
                    LineInput(unit_price=p.price, quantity=Decimal(1), tax_rate=p.tax_rate.rate)
                    for p in picked
                ],
                prices_include_tax=store.prices_include_tax,
            )
            bodies.append(
                json.dumps(
                    {
                        "register": self.register.pk,
                        "lines": [{"product": p.pk, "quantity": "1"} for p in picked],
                        "payments": [{"method": "cash", "amount": str(priced.total)}],
                    }
                ).encode()
            )
        return bodies

    def _seller(self, bodies: list[bytes]) -> Any:
        def sell_all() -> None:
            for body in bodies:
                self._sell(body)

        return sell_all

    def _sell(self, body: bytes) -> None:
        self._call("POST", "/api/v1/orders/", body=body, idempotency_key=secrets.token_hex(16))

    def sales(self, *, requests: int, rounds: int, statements: bool) -> None:
        self._ensure_open_shift()
        for body in self._sale_bodies(20):  # warm: URLconf, chart of accounts, caches
            self._sell(body)
        per_statement: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
        if statements:
            self.connection.execute_wrappers.append(self._statement_timer(per_statement))
        for number in range(1, rounds + 1):
            self._round(
                f"sale, round {number}, {requests} sales, per sale",
                requests,
                self._seller(self._sale_bodies(requests)),
            )
        if statements:
            total = requests * rounds
            print("PostgreSQL CPU per statement (the rest is BEGIN/COMMIT):")
            for sql, (ns, calls) in sorted(per_statement.items(), key=lambda kv: -kv[1][0]):
                print(f"  {ns / 1e6 / total:6.3f} ms  x{calls / total:.1f}  {sql}")

    def _statement_timer(self, per_statement: dict[str, list[int]]) -> Any:
        def timed(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
            start = self._backend_ns()
            try:
                return execute(sql, params, many, context)
            finally:
                entry = per_statement[" ".join(sql.split())[:70]]
                entry[0] += self._backend_ns() - start
                entry[1] += 1

        return timed

    def _ensure_open_shift(self) -> None:
        from orders.models import Shift

        if not Shift.objects.filter(register=self.register, status="open").exists():
            body = json.dumps({"register": self.register.pk, "opening_float": "100.00"}).encode()
            self._call("POST", "/api/v1/shifts/", body=body, idempotency_key=secrets.token_hex(16))

    # --- sync -------------------------------------------------------------------------------

    def _full_sync(self) -> int:
        query, pages = "since_version=0&page_size=200", 0
        while True:
            page = self._call("GET", "/api/v1/products/", query=query)
            pages += 1
            # Only `next` is read (no JSON parse: this process's CPU is the server's).
            found = _NEXT.search(page)
            if found is None or found.group(1) is None:
                return pages
            query = found.group(1).decode().split("?", 1)[1]

    def syncs(self, *, rounds: int) -> None:
        pages = self._full_sync()  # warm
        for number in range(1, rounds + 1):
            label = f"full sync, round {number}, {pages} pages, per page"
            self._round(label, pages, self._full_sync)


if __name__ == "__main__":
    main()

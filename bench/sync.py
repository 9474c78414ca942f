"""Register sync: the cached snapshot against today's paged product sync, on 50,000 products.

    .venv/bin/python bench/sync.py [--products 50000] [--requests 50] [--registers 200]
                                   [--reuse-db] [--no-gunicorn]

On its own throwaway database `pos_bench_sync` (`BENCH_SYNC_DB_NAME`; dropped and created
unless `--reuse-db`), one store with 50,000 products (bulk-inserted with distinct catalog
versions, as product writes would have given them), a cashier of the store. Redis
`redis://127.0.0.1:6379/14` (`BENCH_REDIS_URL`) under a per-run key prefix, deleted at the end.

In-process, through Django's WSGI handler (the whole middleware, JWT and DRF stack), one request
at a time; "server CPU" is this process's CPU (`time.process_time`) plus the CPU of the
PostgreSQL backend serving it (`/proc/<pid>/schedstat`, so PostgreSQL must run on this machine):

- (b) today's full sync: `GET /api/v1/products/?since_version=0&page_size=200`, following
  `next` through every page;
- (c) building the snapshot once (`sync.snapshots.snapshot_build`: one statement, gzip);
- (a) `GET /api/v1/sync/snapshot/` served from the cache;
- (d) the same with `If-None-Match` → 304;
- (e) a change-feed page of 500 changes (`?since=0&limit=500`): its queries and time.

Then against gunicorn (the project's configuration, `bench/run.py`'s `Gunicorn`): (f) the
catalog moves to a new version and `--registers` clients (threads, one connection each) ask for
the snapshot at once: the builds counted by `pos_sync_snapshot_builds_total` on `/metrics`
(must be 1) and the requests/s; then the same number of requests again, all from the cache.
Prints a table; nothing asserts a duration.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import http.client
import io
import os
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DB_NAME = os.environ.get("BENCH_SYNC_DB_NAME", "pos_bench_sync")
PREFIX = f"bench-sync-{os.getpid()}"
os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"
os.environ.setdefault("REDIS_URL", os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"))
os.environ["CACHE_KEY_PREFIX"] = PREFIX
os.environ.setdefault("DJANGO_DEBUG", "false")
os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "127.0.0.1")
for _name in (
    "DJANGO_SECURE_SSL_REDIRECT",
    "DJANGO_SESSION_COOKIE_SECURE",
    "DJANGO_CSRF_COOKIE_SECURE",
):
    os.environ.setdefault(_name, "false")
os.environ.setdefault("DJANGO_SECURE_HSTS_SECONDS", "0")
os.environ.setdefault("DB_CONN_MAX_AGE", "3600")  # one backend for the whole run (its CPU is read)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "posproject.settings")

_NEXT = re.compile(rb'"next":(?:null|"([^"]*)")')


def psql(sql: str) -> None:
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-Atqc", sql],
        check=True,
        capture_output=True,
    )


def seed(products: int) -> None:
    from decimal import Decimal

    from django.db import transaction

    from accounts.models import Role, User
    from accounts.services import store_create
    from catalog.models import CatalogVersion, Product
    from catalog.services import category_create, tax_rate_create

    with transaction.atomic():
        store = store_create(actor=None, code="MAIN", name="Main")
        tax = tax_rate_create(user=None, name="Standard", rate=Decimal("8.250"))
        category = category_create(user=None, name="Groceries")
        user = User.objects.create(username="cashier", role=Role.CASHIER)
        user.stores.set([store])
        version = CatalogVersion.objects.get(id=1).value
        rows = []
        for i in range(products):
            version += 1
            rows.append(
                Product(
                    sku=f"SKU{i:06d}",
                    barcode=f"2{i:011d}",
                    name=f"Product {i}",
                    price=Decimal(100 + i % 900) / 100,
                    cost=Decimal(50 + i % 400) / 100,
                    tax_rate=tax,
                    category=category,
                    version=version,
                )
            )
        Product.objects.bulk_create(rows, batch_size=5000)
        CatalogVersion.objects.filter(id=1).update(value=version)


@contextlib.contextmanager
def counting(connection: Any) -> Iterator[list[str]]:
    """The statements run meanwhile (Django's own query log is reset by every request)."""
    seen: list[str] = []

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield seen


class InProcess:
    def __init__(self) -> None:
        from django.core.handlers.wsgi import WSGIHandler
        from django.db import connection

        from accounts.models import Store, User
        from accounts.tokens import tokens_for

        self.store = Store.objects.get(code="MAIN")
        self.token = str(tokens_for(User.objects.get(username="cashier")).access_token)
        self.app = WSGIHandler()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            self.backend_pid = cursor.fetchone()[0]

    def backend_ns(self) -> int:
        with open(f"/proc/{self.backend_pid}/schedstat") as stat:
            return int(stat.read().split()[0])

    def call(self, path: str, query: str = "", **headers: str) -> tuple[str, dict, bytes]:
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "127.0.0.1",
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(b""),
            "wsgi.errors": sys.stderr,
            "HTTP_AUTHORIZATION": f"Bearer {self.token}",
            **{f"HTTP_{k.upper()}": v for k, v in headers.items()},
        }
        out: list[Any] = []

        def start_response(code: str, response_headers: Any, exc_info: Any = None) -> Any:
            out.append((code, dict(response_headers)))
            return lambda data: None

        body = b"".join(self.app(environ, start_response))
        code, response_headers = out[0]
        if code[:1] not in "23":
            raise SystemExit(f"GET {path}?{query} answered {code}: {body[:300]!r}")
        return code, response_headers, body

    def measure(self, count: int, work: Any) -> dict[str, float]:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            self.backend_pid = cursor.fetchone()[0]
        wall, cpu, backend = time.perf_counter(), time.process_time(), self.backend_ns()
        for _ in range(count):
            work()
        wall = time.perf_counter() - wall
        app = time.process_time() - cpu
        pg = (self.backend_ns() - backend) / 1e9
        return {
            "wall_ms": 1000 * wall / count,
            "app_ms": 1000 * app / count,
            "pg_ms": 1000 * pg / count,
            "cpu_ms": 1000 * (app + pg) / count,
        }

    def full_sync(self) -> int:
        query, pages = "since_version=0&page_size=200", 0
        while True:
            _, _, page = self.call("/api/v1/products/", query)
            pages += 1
            found = _NEXT.search(page)
            if found is None or found.group(1) is None:
                return pages
            query = found.group(1).decode().split("?", 1)[1]


def gunicorn_phase(registers: int, store_id: int, token: str) -> dict[str, Any]:
    from bench.run import Gunicorn, app_env, http_call
    from catalog.services import tax_rate_update

    workdir = Path(tempfile.mkdtemp(prefix="pos-bench-sync-"))
    env = app_env(os.environ["DJANGO_SECRET_KEY"], PREFIX)
    env["DATABASE_URL"] = os.environ["DATABASE_URL"]
    server = Gunicorn(env, workdir / "gunicorn.log")
    server.start()
    try:

        def builds() -> float:
            _, body = http_call(server.base_url, "GET", "/metrics")
            text = body.decode() if isinstance(body, bytes) else str(body)
            found = re.search(r"^pos_sync_snapshot_builds_total(?:\{[^}]*\})? (\S+)$", text, re.M)
            return float(found.group(1)) if found else 0.0

        # A new catalog version: the snapshot must be built again.

        from catalog.models import TaxRate

        tax = TaxRate.objects.order_by("id")[0]
        tax_rate_update(tax_rate=tax, user=None, name=f"Standard {secrets.token_hex(2)}")

        def storm() -> tuple[float, list[int], set[str]]:
            barrier = threading.Barrier(registers)
            statuses: list[int] = []
            versions: set[str] = set()
            lock = threading.Lock()

            def one() -> None:
                conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
                conn.connect()
                barrier.wait(60)
                conn.request(
                    "GET",
                    f"/api/v1/sync/snapshot/?store={store_id}",
                    headers={"Authorization": f"Bearer {token}", "Host": "127.0.0.1"},
                )
                response = conn.getresponse()
                response.read()
                with lock:
                    statuses.append(response.status)
                    versions.add(response.getheader("X-Catalog-Version") or "")
                conn.close()

            threads = [threading.Thread(target=one) for _ in range(registers)]
            for thread in threads:
                thread.start()
            start = time.perf_counter()
            for thread in threads:
                thread.join(300)
            return time.perf_counter() - start, statuses, versions

        # The change feed over HTTP too: one page of 500.
        feed_start = time.perf_counter()
        status, page = http_call(
            server.base_url,
            "GET",
            f"/api/v1/sync/changes/?store={store_id}&since=0&limit=500",
            token=token,
        )
        feed_ms = 1000 * (time.perf_counter() - feed_start)
        feed = f"{status}, {len(page['changes']) if status == 200 else 0} changes, {feed_ms:.0f} ms"

        before = builds()
        cold_s, cold_statuses, versions = storm()
        after_cold = builds()
        warm_s, warm_statuses, _ = storm()
        return {
            "registers": registers,
            "builds": after_cold - before,
            "builds_warm": builds() - after_cold,
            "cold_s": cold_s,
            "cold_rps": registers / cold_s,
            "warm_rps": registers / warm_s,
            "statuses": sorted(set(cold_statuses + warm_statuses)),
            "versions": sorted(versions),
            "feed": feed,
        }
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=50_000)
    parser.add_argument("--requests", type=int, default=50, help="cached snapshots / 304s")
    parser.add_argument("--rounds", type=int, default=2, help="full paged syncs")
    parser.add_argument("--registers", type=int, default=200)
    parser.add_argument("--reuse-db", action="store_true")
    parser.add_argument("--no-gunicorn", action="store_true")
    args = parser.parse_args()

    load_start = os.getloadavg()
    if not args.reuse_db:
        psql(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        psql(f"CREATE DATABASE {DB_NAME}")
    import django

    django.setup()
    from django.core.cache import cache
    from django.core.management import call_command
    from django.db import connection

    from sync import snapshots

    if not args.reuse_db:
        t = time.perf_counter()
        call_command("migrate", verbosity=0, interactive=False)
        seed(args.products)
        print(f"migrated and seeded {args.products} products in {time.perf_counter() - t:.1f} s")

    bench = InProcess()
    store = bench.store
    rows: list[tuple[str, str]] = []
    try:
        # (b) today's paged full sync.
        pages = bench.full_sync()  # warm
        syncs = [bench.measure(1, bench.full_sync) for _ in range(args.rounds)]
        full = min(syncs, key=lambda r: r["wall_ms"])
        paged_pps = args.products / (full["wall_ms"] / 1000)
        paged_cpu_pps = args.products / (full["cpu_ms"] / 1000)

        # (c) one build.
        builds = []
        for _ in range(3):
            t = time.perf_counter()
            built = snapshots.snapshot_build(
                store_id=store.pk, currency=store.currency, show_cost=False
            )
            builds.append(time.perf_counter() - t)
        lines = gzip.decompress(built.body).count(b"\n")

        # (a) served from the cache (the first request builds and stores it).
        _, headers, _ = bench.call("/api/v1/sync/snapshot/", f"store={store.pk}")
        etag = headers["ETag"]
        cached = bench.measure(
            args.requests, lambda: bench.call("/api/v1/sync/snapshot/", f"store={store.pk}")
        )
        cached_pps = args.products / (cached["wall_ms"] / 1000)
        cached_cpu_pps = args.products / (cached["cpu_ms"] / 1000)
        with counting(connection) as q_cached:
            bench.call("/api/v1/sync/snapshot/", f"store={store.pk}")

        # (d) 304.
        not_modified = bench.measure(
            args.requests * 4,
            lambda: bench.call("/api/v1/sync/snapshot/", f"store={store.pk}", if_none_match=etag),
        )

        # (e) a feed page of 500 changes.
        bench.call("/api/v1/sync/changes/", f"store={store.pk}&since=0&limit=500")
        with counting(connection) as q_feed:
            bench.call("/api/v1/sync/changes/", f"store={store.pk}&since=0&limit=500")
        feed = bench.measure(
            10, lambda: bench.call("/api/v1/sync/changes/", f"store={store.pk}&since=0&limit=500")
        )

        rows += [
            ("(b) paged full sync, 200/page",
             f"{pages} pages; wall {full['wall_ms'] / 1000:.2f} s, "
             f"server CPU {full['cpu_ms'] / 1000:.2f} s (app {full['app_ms'] / 1000:.2f} + PG "
             f"{full['pg_ms'] / 1000:.2f}); {paged_pps:,.0f} products/s"),
            ("(c) snapshot build",
             f"{min(builds):.2f} s (best of 3; {statistics.median(builds):.2f} median); "
             f"{lines:,} lines; {len(built.body) / 1e6:.2f} MB gzip"),
            ("(a) snapshot from cache", f"wall {cached['wall_ms']:.1f} ms, server CPU "
             f"{cached['cpu_ms']:.1f} ms/request (app {cached['app_ms']:.1f} + PG "
             f"{cached['pg_ms']:.2f}); {cached_pps:,.0f} products/s; "
             f"{len(q_cached)} query"),
            ("(a)/(b) products/s", f"{cached_pps / paged_pps:,.0f}× by wall, "
             f"{cached_cpu_pps / paged_cpu_pps:,.0f}× by server CPU (target ≥ 10×)"),
            ("(d) 304", f"server CPU {not_modified['cpu_ms']:.2f} ms (app "
             f"{not_modified['app_ms']:.2f} + PG {not_modified['pg_ms']:.2f}); wall "
             f"{not_modified['wall_ms']:.2f} ms (target ≤ 3 ms)"),
            ("(e) feed page, 500 changes", f"{len(q_feed)} queries; wall "
             f"{feed['wall_ms']:.1f} ms, server CPU {feed['cpu_ms']:.1f} ms"),
        ]  # fmt: skip
        if not args.no_gunicorn:
            from accounts.models import User
            from accounts.tokens import tokens_for

            token = str(tokens_for(User.objects.get(username="cashier")).access_token)
            storm = gunicorn_phase(args.registers, store.pk, token)
            rows += [
                (f"(f) {storm['registers']} registers at once, new version",
                 f"{storm['builds']:.0f} build(s); {storm['cold_rps']:.0f} requests/s "
                 f"({storm['cold_s']:.2f} s for all); statuses {storm['statuses']}, versions "
                 f"{storm['versions']}"),
                ("(f) a feed page over gunicorn", storm["feed"]),
                (f"(f) {storm['registers']} registers again, cached",
                 f"{storm['builds_warm']:.0f} build(s); {storm['warm_rps']:.0f} requests/s"),
            ]  # fmt: skip
    finally:
        # Only this run's keys: django-redis scopes the pattern with the run's key prefix.
        if hasattr(cache, "delete_pattern"):
            cache.delete_pattern("*")

    print()
    print(f"{'measure':<42} result")
    print(f"{'-' * 42} {'-' * 60}")
    for name, result in rows:
        print(f"{name:<42} {result}")
    print()
    cpu = "?"
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    print(f"machine: {os.cpu_count()} cores, {cpu}; load average at start "
          f"{', '.join(f'{x:.2f}' for x in load_start)}, at end "
          f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}")  # fmt: skip


if __name__ == "__main__":
    main()

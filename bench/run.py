"""`make bench`: the API under load against the database's own limit, in one run.

    .venv/bin/python bench/run.py [--duration 10] [--warmup 2] [--only sale,lookup] [--matrix]

Steps (see bench/README.md): recreate the `pos_bench` PostgreSQL database, migrate, seed
(bench/seed.py), start the project under gunicorn (`posproject/gunicorn.conf.py`, DEBUG off, a
random secret key, Redis on a spare database with a per-run key prefix), log in the 8 cashiers
and the manager, open a shift on each of the 8 registers over the API, then for each scenario run
the load generator (bench/loadgen.py) at concurrency 1 and 8; then pgbench with
bench/checkout.sql (the raw SQL of the same checkout, 8 clients) and the bare Django+DRF view
(bench/bare_settings.py, same gunicorn configuration); count the queries of each request type
in-process (Django test client + `CaptureQueriesContext`); print one table.

Loopback only; every run is bounded in time. Results are also written as JSON (`--json`).
"""

from __future__ import annotations

import argparse
import collections
import http.client
import json
import os
import platform
import random
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.loadgen import RequestSpec, RunResult, run_pool, run_sync  # noqa: E402

PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"
DB_NAME = os.environ.get("BENCH_DB_NAME", "pos_bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
VENV_BIN = ROOT / ".venv" / "bin"
SCENARIOS = ("sale", "lookup", "list", "sync", "report", "pgbench", "bare")

# Targets of issue 8 (checked in the printed notes).
TARGETS = {
    "sale_ratio": 0.20,
    "sale_p99_ms": 60.0,
    "sale_queries": 15,
    "lookup_ratio": 0.40,
    "lookup_p99_ms": 15.0,
    "lookup_queries": 3,
    "list_queries_beyond_auth": 4,
    "sync_seconds": 5.0,
    "report_seconds": 2.0,
}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- environment ---------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _psql(sql: str, db: str = "postgres") -> str:
    out = subprocess.run(
        ["psql", "-h", PG_HOST, "-p", str(PG_PORT), "-U", PG_USER, "-d", db, "-Atqc", sql],
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip()


def machine_info() -> dict[str, Any]:
    mem_kb = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    redis_version = "?"
    try:
        out = subprocess.run(
            ["redis-cli", "-u", REDIS_URL, "INFO", "server"], capture_output=True, text=True
        ).stdout
        match = re.search(r"redis_version:(\S+)", out)
        redis_version = match.group(1) if match else "?"
    except OSError:
        pass
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "postgresql": _psql("SHOW server_version"),
        "redis": redis_version,
        "python": platform.python_version(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def recreate_database() -> None:
    _psql(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
    _psql(f"CREATE DATABASE {DB_NAME}")


def app_env(secret: str, prefix: str) -> dict[str, str]:
    return {
        "DATABASE_URL": f"postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{DB_NAME}",
        "REDIS_URL": REDIS_URL,
        "CACHE_KEY_PREFIX": prefix,
        "DJANGO_DEBUG": "false",
        "DJANGO_ALLOW_LOCAL_SERVICES": "true",  # Redis, but the file broker (no task is measured)
        "DJANGO_SECRET_KEY": secret,
        "DJANGO_SETTINGS_MODULE": "posproject.settings",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        # Tasks published by the app (none on the measured paths) go to a throwaway queue.
        "CELERY_FILESYSTEM_BROKER_DIR": tempfile.mkdtemp(prefix="pos-bench-celery-"),
        "SENTRY_DSN": "",
    }


class Gunicorn:
    """The project's own gunicorn configuration, on a free loopback port."""

    def __init__(self, env: dict[str, str], log_path: Path, extra: dict[str, str] | None = None):
        self.port = _free_port()
        self.env = {
            **os.environ,
            **env,
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            **(extra or {}),
        }
        self.env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # a fresh one per server (conf)
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, health_path: str = "/health/live") -> None:
        log_file = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(
            [str(VENV_BIN / "gunicorn"), "-c", str(ROOT / "posproject" / "gunicorn.conf.py")],
            cwd=ROOT,
            env=self.env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"gunicorn exited ({self.proc.returncode}); see {self.log_path}")
            try:
                status, _ = http_call(self.base_url, "GET", health_path)
                if status == 200:
                    # Every worker imports its URLconf before its first request (conf), but
                    # give the last ones a moment to finish booting.
                    time.sleep(1.0)
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise SystemExit(f"gunicorn did not answer in 180 s; see {self.log_path}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def http_call(
    base_url: str,
    method: str,
    path: str,
    body: Any = None,
    token: str | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    host, port = base_url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    hdrs = {"Accept": "application/json", **(headers or {})}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        hdrs["Content-Type"] = "application/json"
    if token:
        hdrs["Authorization"] = f"Bearer {token}"
    try:
        conn.request(method, path, body=data, headers=hdrs)
        response = conn.getresponse()
        raw = response.read()
    finally:
        conn.close()
    try:
        return response.status, json.loads(raw) if raw else None
    except ValueError:
        return response.status, raw.decode(errors="replace")


# --- scenario data -------------------------------------------------------------------------------


@dataclass
class Session:
    base_url: str
    seeded: Any
    tokens: list[str]  # one per cashier / register, same order
    manager_token: str
    results: dict[str, dict[int, RunResult]] = field(default_factory=dict)
    waits: dict[str, list[str]] = field(default_factory=dict)
    profiles: dict[str, list[str]] = field(default_factory=dict)
    server_pid: int | None = None
    workdir: Path = field(default_factory=lambda: Path(tempfile.gettempdir()))


def start_profiler(session: Session, name: str, seconds: float) -> Any:
    """py-spy (if installed: `pip install py-spy`) on every gunicorn worker for the run."""
    py_spy = shutil.which("py-spy") or str(VENV_BIN / "py-spy")
    if not Path(py_spy).exists() or session.server_pid is None:
        log("  (py-spy not installed: no profile)")
        return None
    out = session.workdir / f"profile-{name}.raw"
    cmd = [py_spy, "record", "--pid", str(session.server_pid), "--subprocesses", "-r", "200",
           "-f", "raw", "-o", str(out), "-d", str(int(seconds) + 1), "--nonblocking"]  # fmt: skip
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), out


def finish_profiler(profiler: Any, session: Session, name: str) -> None:
    proc, out = profiler
    proc.wait(timeout=60)
    if not out.exists():
        log("  (py-spy wrote no profile)")
        return
    summary = profile_summary(out)
    session.profiles[name] = summary
    log(f"  py-spy profile of the gunicorn workers ({out}):")
    for line in summary:
        log(f"    {line}")


def profile_summary(path: Path, top: int = 22) -> list[str]:
    """Share of the workers' CPU samples per function, inclusive, for the project's own code
    and a few library entry points worth knowing about."""
    total = 0
    inclusive: collections.Counter[str] = collections.Counter()
    libraries = ("rest_framework/", "django/db/models/", "psycopg/", "redis/", "jwt/",
                 "django_prometheus/", "logging/", "json/", "django/core/handlers/")  # fmt: skip
    project = str(ROOT) + "/"
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        seen = set()
        for frame in stack.split(";"):
            own = project in frame and "/.venv/" not in frame
            if not own and not any(lib in frame for lib in libraries):
                continue
            func, _, where = frame.partition(" (")
            where = where.split("site-packages/")[-1].replace(str(ROOT) + "/", "")
            key = f"{func} ({where.split(':')[0]})"
            if key not in seen:
                seen.add(key)
                inclusive[key] += n
    if not total:
        return []
    return [f"{100 * n / total:5.1f}%  {key}" for key, n in inclusive.most_common(top)]


class WaitSampler(threading.Thread):
    """Samples `pg_stat_activity` of the bench database every 20 ms during a run: what the
    server's backends are doing (running, idle in transaction, waiting on a lock — and which
    statement), to show where concurrent requests queue."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.counts: collections.Counter[str] = collections.Counter()
        self.samples = 0
        self._done = threading.Event()

    def run(self) -> None:
        import psycopg

        with psycopg.connect(
            host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=DB_NAME, autocommit=True
        ) as conn:
            while not self._done.wait(0.02):
                rows = conn.execute(
                    "SELECT state, coalesce(wait_event_type || ':' || wait_event, 'cpu'),"
                    " regexp_replace(left(query, 48), '\\s+', ' ', 'g')"
                    " FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"
                    " AND backend_type = 'client backend' AND state <> 'idle'",
                    (DB_NAME,),
                ).fetchall()
                self.samples += 1
                for state, wait, query in rows:
                    where = query if state == "active" else "(between statements)"
                    self.counts[f"{state} / {wait} / {where}"] += 1

    def stop(self) -> list[str]:
        self._done.set()
        self.join(timeout=5)
        if not self.samples:
            return []
        return [
            f"{n / self.samples:5.2f} backends  {what}" for what, n in self.counts.most_common(8)
        ]


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def sale_bodies(seeded: Any, register_id: int, n: int, rng: random.Random) -> list[bytes]:
    """`n` 3-line baskets for one register, priced by the app's own pricing function so the
    cash tender matches the total exactly."""
    from orders.pricing import LineInput, price_order

    bodies = []
    products = seeded.products[:-1]  # the last one is kept out of every pool (cold lookups)
    for _ in range(n):
        picked = rng.sample(products, 3)
        quantities = [rng.randint(1, 3) for _ in picked]
        priced = price_order(
            lines=[
                LineInput(unit_price=p[2], quantity=Decimal(q), tax_rate=seeded.tax_rate)
                for p, q in zip(picked, quantities, strict=True)
            ],
            prices_include_tax=False,
        )
        body = {
            "register": register_id,
            "lines": [
                {"product": p[0], "quantity": str(q)}
                for p, q in zip(picked, quantities, strict=True)
            ],
            "payments": [{"method": "cash", "amount": str(priced.total)}],
        }
        bodies.append(json.dumps(body).encode())
    return bodies


def lookup_paths(seeded: Any, rng: random.Random) -> list[str]:
    barcodes = [p[1] for p in seeded.products[:-1]]
    rng.shuffle(barcodes)
    return [f"/api/v1/products/?barcode={b}" for b in barcodes]


def _sync_summary(r: RunResult, seeded: Any) -> str:
    """Median time of a full delta sync, or — when the deadline cut it short — the time
    extrapolated from the pages each client managed."""
    total_pages = -(-(len(seeded.products) + seeded.sync_products) // 200)
    if not r.sync_incomplete:
        text = f"full sync {statistics.median(r.sync_seconds):.2f} s"
        if r.concurrency > 1:
            text += f" (median of {r.concurrency}, max {max(r.sync_seconds):.2f} s)"
        return text
    per_client = r.sync_pages / r.concurrency
    estimate = r.window * total_pages / per_client if per_client else float("nan")
    return (
        f"full sync NOT FINISHED in {r.window:.0f} s ({per_client:.0f} of {total_pages} pages "
        f"per client): ≈ {estimate:.0f} s extrapolated"
    )


def run_scenarios(session: Session, args: argparse.Namespace, only: set[str]) -> None:
    seeded = session.seeded
    rng = random.Random(8)
    tokens = session.tokens
    url = session.base_url

    def pool(name: str, concurrency: int, make_specs: Any, token_for: Any) -> None:
        clients = [(_auth(token_for(i)), make_specs(i)) for i in range(concurrency)]
        log(f"{name}: concurrency {concurrency}, {args.warmup:g} s warm-up + {args.duration:g} s")
        sampler = WaitSampler() if concurrency > 1 and name == "sale" else None
        if sampler:
            sampler.start()
        profiler = None
        if concurrency > 1 and name in args.profile.split(","):
            profiler = start_profiler(session, name, args.warmup + args.duration)
        result = run_pool(base_url=url, clients=clients, warmup=args.warmup, duration=args.duration)
        if profiler:
            finish_profiler(profiler, session, name)
        if sampler:
            session.waits[name] = sampler.stop()
            log("  where the database backends were (sampled every 20 ms):")
            for line in session.waits[name]:
                log(f"    {line}")
        session.results.setdefault(name, {})[concurrency] = result
        log(
            f"  {result.rps:8.1f} req/s  p50 {result.pct(50):6.1f} ms  p99 {result.pct(99):6.1f} ms"
            f"  ok {result.ok}  failed {result.failed} {result.bad_bodies[:1] or ''}"
        )

    if "sale" in only:
        bodies = {rid: sale_bodies(seeded, rid, 300, rng) for rid in seeded.register_ids}
        for c in (1, 8):
            pool(
                "sale",
                c,
                lambda i: [
                    RequestSpec("POST", "/api/v1/orders/", b, idempotent=True)
                    for b in bodies[seeded.register_ids[i]]
                ],
                lambda i: tokens[i],
            )

    if "lookup" in only:
        paths = lookup_paths(seeded, rng)
        log("lookup: warming the barcode cache (every barcode once, 8 clients)")
        run_pool(
            base_url=url,
            clients=[(_auth(tokens[i]), [RequestSpec("GET", p) for p in paths[i::8]])
                     for i in range(8)],
            warmup=0,
            duration=120,
            once=True,
        )  # fmt: skip
        for c in (1, 8):
            pool(
                "lookup",
                c,
                lambda i: [RequestSpec("GET", p) for p in paths[i * 97 :] + paths[: i * 97]],
                lambda i: tokens[i],
            )

    if "list" in only:
        pages = [f"/api/v1/products/?page_size=50&page={rng.randint(1, 20)}" for _ in range(100)]
        for c in (1, 8):
            pool(
                "list",
                c,
                lambda i: [RequestSpec("GET", p) for p in pages[i:] + pages[:i]],
                lambda i: tokens[i],
            )

    if "sync" in only:
        first = "/api/v1/products/?since_version=0&page_size=200"
        for c in (1, 8):
            log(f"sync: concurrency {c}, each client pages through the whole catalog once")
            result = run_sync(
                base_url=url,
                clients=[_auth(tokens[i]) for i in range(c)],
                first_path=first,
                deadline=args.sync_deadline,
            )
            session.results.setdefault("sync", {})[c] = result
            log(
                f"  {_sync_summary(result, seeded)}, {result.sync_pages} pages, "
                f"page p50 {result.pct(50):.1f} ms p99 {result.pct(99):.1f} ms, "
                f"failed {result.failed} {result.bad_bodies[:1] or ''}"
            )

    if "report" in only:
        path = f"/api/v1/reports/daily/?store={seeded.report_store_id}&date={seeded.report_date}"
        status, body = http_call(url, "GET", path, token=session.manager_token)
        if status != 200:
            raise SystemExit(f"daily report answered {status}: {body}")
        log(f"report: {body['orders_count']:,} orders on {seeded.report_date} (computed live)")
        for c in (1, 8):
            pool(
                "report",
                c,
                lambda i: [RequestSpec("GET", path)],
                lambda i: session.manager_token,
            )


# --- pgbench and the bare view -------------------------------------------------------------------


def run_pgbench(seeded: Any, args: argparse.Namespace, workdir: Path) -> RunResult | None:
    if not shutil.which("pgbench"):
        log("pgbench not found: skipped (make bench installs postgresql-client when it can)")
        return None
    accounts = dict(
        line.split("|")
        for line in _psql("SELECT code, id FROM ledger_account", DB_NAME).splitlines()
    )
    product_ids = [p[0] for p in seeded.products]
    regs, shifts = seeded.pgbench_register_ids, seeded.pgbench_shift_ids
    assert product_ids == list(range(product_ids[0], product_ids[0] + len(product_ids)))
    assert regs == list(range(regs[0], regs[0] + len(regs)))
    assert shifts == list(range(shifts[0], shifts[0] + len(shifts)))
    variables = {
        "store": seeded.store_id,
        "cashier": seeded.cashier_ids[0],
        "reg0": regs[0],
        "shift0": shifts[0],
        "pmin": product_ids[0],
        "a_cash": accounts["1000"],
        "a_revenue": accounts["4000"],
        "a_tax": accounts["2100"],
        "a_cogs": accounts["5000"],
        "a_inventory": accounts["1200"],
    }
    logdir = workdir / "pgbench"
    logdir.mkdir(exist_ok=True)
    duration = int(args.duration + args.warmup)
    cmd = [
        "pgbench", "-h", PG_HOST, "-p", str(PG_PORT), "-U", PG_USER, "-n",
        "-c", "8", "-j", "2", "-T", str(duration), "-f", str(ROOT / "bench" / "checkout.sql"),
        "-l", f"--log-prefix={logdir}/tx", *(f"-D{k}={v}" for k, v in variables.items()),
        DB_NAME,
    ]  # fmt: skip
    log(f"pgbench: bench/checkout.sql, 8 clients, {duration} s")
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=logdir)
    if out.returncode != 0:
        log(f"pgbench failed: {out.stderr.strip()[-500:]}")
        return None
    tps = float(re.search(r"tps = ([\d.]+)", out.stdout).group(1))  # type: ignore[union-attr]
    latencies: list[float] = []
    failed = 0
    for path in logdir.glob("tx.*"):
        for line in path.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 6 and parts[2].isdigit():
                latencies.append(int(parts[2]) / 1e6)
            elif len(parts) >= 3:
                failed += 1
    result = RunResult(
        concurrency=8,
        window=duration,
        latencies=latencies,
        statuses={200: len(latencies)},
        errors=failed,
        sync_seconds=[],
        sync_pages=0,
        sync_products=0,
        bad_bodies=[],
    )
    result.window = len(latencies) / tps if tps else duration  # pgbench's own tps
    log(f"  {tps:8.1f} tps  p50 {result.pct(50):6.2f} ms  p99 {result.pct(99):6.2f} ms")
    return result


def run_bare(env: dict[str, str], args: argparse.Namespace, workdir: Path, extra: dict[str, str]):
    server = Gunicorn(
        {**env, "DJANGO_SETTINGS_MODULE": "bench.bare_settings"}, workdir / "bare.log", extra
    )
    results = {}
    try:
        server.start(health_path="/bare/")
        for c in (1, 8):
            log(f"bare DRF: concurrency {c}, {args.warmup:g} s warm-up + {args.duration:g} s")
            result = run_pool(
                base_url=server.base_url,
                clients=[({}, [RequestSpec("GET", "/bare/")]) for _ in range(c)],
                warmup=args.warmup,
                duration=args.duration,
            )
            results[c] = result
            log(
                f"  {result.rps:8.1f} req/s  p50 {result.pct(50):6.2f} ms  "
                f"p99 {result.pct(99):6.2f} ms  failed {result.failed}"
            )
    finally:
        server.stop()
    return results


# --- query counts (in-process) -------------------------------------------------------------------


def count_queries(session: Session) -> dict[str, int]:
    """Queries per request type through the real stack (middleware, JWT, views), in-process with
    Django's test client, on the same database and cache as the server."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    seeded = session.seeded
    client = Client(HTTP_AUTHORIZATION=f"Bearer {session.tokens[0]}")
    manager = Client(HTTP_AUTHORIZATION=f"Bearer {session.manager_token}")
    counts: dict[str, int] = {}

    def measure(name: str, call: Any, expect: int = 200) -> None:
        call()  # warm the process (chart of accounts, URLconf, cache generations)
        with CaptureQueriesContext(connection) as ctx:
            response = call()
        assert response.status_code == expect, (name, response.status_code, response.content)
        counts[name] = len(ctx.captured_queries)

    def sale(lines: int) -> Any:
        from orders.pricing import LineInput, price_order

        picked = seeded.products[:lines]
        priced = price_order(
            lines=[LineInput(unit_price=p[2], quantity=Decimal(1), tax_rate=seeded.tax_rate)
                   for p in picked],
            prices_include_tax=False,
        )  # fmt: skip
        body = {
            "register": seeded.register_ids[0],
            "lines": [{"product": p[0], "quantity": "1"} for p in picked],
            "payments": [{"method": "cash", "amount": str(priced.total)}],
        }
        return client.post(
            "/api/v1/orders/",
            json.dumps(body),
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=secrets.token_hex(16),
        )

    measure("auth only (400 from a filter)", lambda: client.get(
        "/api/v1/products/", {"category": "x"}), expect=400)  # fmt: skip
    measure("sale, 1 line", lambda: sale(1), 201)
    measure("sale, 3 lines", lambda: sale(3), 201)
    measure("sale, 50 lines", lambda: sale(50), 201)
    hit = seeded.products[0][1]
    measure("lookup, cache hit", lambda: client.get("/api/v1/products/", {"barcode": hit}))
    cold = seeded.products[-1][1]
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/api/v1/products/", {"barcode": cold})
    assert response.status_code == 200
    assert response.json()["count"] == 1
    counts["lookup, cache miss"] = len(ctx.captured_queries)
    measure("product list, page_size 50", lambda: client.get(
        "/api/v1/products/", {"page_size": 50, "page": 3}))  # fmt: skip
    measure("product list, page_size 200", lambda: client.get(
        "/api/v1/products/", {"page_size": 200, "page": 3}))  # fmt: skip
    measure("delta sync page (200)", lambda: client.get(
        "/api/v1/products/", {"since_version": 0, "page_size": 200}))  # fmt: skip
    measure("order list, page_size 10", lambda: client.get("/api/v1/orders/", {"page_size": 10}))
    measure("order list, page_size 200", lambda: client.get("/api/v1/orders/", {"page_size": 200}))
    measure("daily report (100k orders)", lambda: manager.get(
        "/api/v1/reports/daily/",
        {"store": seeded.report_store_id, "date": str(seeded.report_date)}))  # fmt: skip
    return counts


# --- report --------------------------------------------------------------------------------------


def _fmt(value: float, digits: int = 1) -> str:
    return "—" if value != value else f"{value:,.{digits}f}"  # NaN → dash


def render(
    session: Session,
    pgbench: RunResult | None,
    bare: dict[int, RunResult],
    counts: dict[str, int],
    machine: dict[str, Any],
) -> str:
    res = session.results
    auth = counts.get("auth only (400 from a filter)", 0)
    rows = []
    ceiling_sale = pgbench.rps if pgbench else float("nan")
    ceiling_lookup = bare[8].rps if 8 in bare else float("nan")
    query_of = {
        "sale": f"{counts.get('sale, 3 lines', '?')} (1 line {counts.get('sale, 1 line', '?')}, "
        f"50 lines {counts.get('sale, 50 lines', '?')})",
        "lookup": f"{counts.get('lookup, cache hit', '?')} hit / "
        f"{counts.get('lookup, cache miss', '?')} miss",
        "list": f"{counts.get('product list, page_size 50', '?')} "
        f"(200/page: {counts.get('product list, page_size 200', '?')})",
        "sync": f"{counts.get('delta sync page (200)', '?')} per page",
        "report": f"{counts.get('daily report (100k orders)', '?')}",
    }
    for name, label in (
        ("sale", "3-line sale"),
        ("lookup", "barcode lookup (warm cache)"),
        ("list", "product list, 50/page"),
        ("sync", "delta sync, 50k products (200/page)"),
        ("report", "daily report, 100k orders"),
    ):
        for c, r in sorted(res.get(name, {}).items()):
            ratio = ""
            if name == "sale" and c == 8:
                ratio = f"{r.rps / ceiling_sale:.1%} of pgbench"
            if name == "lookup" and c == 8:
                ratio = f"{r.rps / ceiling_lookup:.1%} of bare DRF"
            if name == "sync":
                extra = _sync_summary(r, session.seeded)
                rps = r.sync_pages / r.window
                rows.append((label, c, _fmt(rps), _fmt(r.pct(50)), _fmt(r.pct(99)), extra,
                             query_of[name], r.failed))  # fmt: skip
                continue
            rows.append(
                (label, c, _fmt(r.rps), _fmt(r.pct(50)), _fmt(r.pct(99)), ratio,
                 query_of.get(name, ""), r.failed)
            )  # fmt: skip
    if pgbench:
        rows.append(("pgbench checkout.sql (ceiling)", 8, _fmt(pgbench.rps),
                     _fmt(pgbench.pct(50), 2), _fmt(pgbench.pct(99), 2), "", "11 statements",
                     pgbench.failed))  # fmt: skip
    for c, r in sorted(bare.items()):
        rows.append(("bare Django+DRF view (ceiling)", c, _fmt(r.rps), _fmt(r.pct(50), 2),
                     _fmt(r.pct(99), 2), "", "0", r.failed))  # fmt: skip

    header = ("scenario", "conc.", "req/s", "p50 ms", "p99 ms", "vs ceiling", "queries/req",
              "failed")  # fmt: skip
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---", "--:", "--:", "--:", "--:", "---", "---", "--:"]) + "|",
    ]
    lines += ["| " + " | ".join(str(x) for x in row) + " |" for row in rows]
    lines.append("")
    lines.append(f"Queries per request (in-process, authentication included; auth alone: {auth}):")
    lines.append("")
    lines += [f"- {name}: {n}" for name, n in counts.items()]
    lines.append("")
    for name, profile in session.profiles.items():
        lines.append(f"py-spy, gunicorn workers during the {name} run at 8 (inclusive share):")
        lines.append("")
        lines += [f"    {p}" for p in profile]
        lines.append("")
    for name, waits in session.waits.items():
        lines.append(f"Database backends during the {name} run at concurrency 8 (mean count):")
        lines.append("")
        lines += [f"    {w}" for w in waits]
        lines.append("")
    m = machine
    lines.append(
        f"Machine: {m['nproc']} cores ({m['cpu']}), {m['memory_gb']} GB, PostgreSQL "
        f"{m['postgresql']}, Redis {m['redis']}, Python {m['python']}; load average "
        f"{m['load_average_at_start']} at start, {m.get('load_average_at_end')} at end."
    )
    return "\n".join(lines)


# --- main ----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured per run")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds discarded per run")
    parser.add_argument("--only", default=",".join(SCENARIOS), help="comma-separated scenarios")
    parser.add_argument(
        "--sync-deadline", type=float, default=60.0, help="seconds a delta sync may take at most"
    )
    parser.add_argument("--report-orders", type=int, default=100_000)
    parser.add_argument("--report-noise", type=int, default=20_000)
    parser.add_argument("--workers", help="WEB_CONCURRENCY for the servers (default: conf's)")
    parser.add_argument("--threads", help="GUNICORN_THREADS for the servers (default: conf's)")
    parser.add_argument("--reuse-db", action="store_true", help="skip recreate/migrate/seed")
    parser.add_argument("--json", default=None, help="write the figures here as JSON")
    parser.add_argument(
        "--profile",
        default="",
        help="comma-separated scenarios to profile with py-spy during their run at 8",
    )
    args = parser.parse_args()
    only = set(args.only.split(","))
    unknown = only - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")

    started = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="pos-bench-"))
    secret = secrets.token_urlsafe(50)
    prefix = f"bench-{os.getpid()}"
    env = app_env(secret, prefix)
    os.environ.update(env)
    extra = {}
    if args.workers:
        extra["WEB_CONCURRENCY"] = args.workers
    if args.threads:
        extra["GUNICORN_THREADS"] = args.threads
    machine = machine_info()
    log(f"machine: {machine}")
    log(f"work dir (server logs, pgbench logs): {workdir}")

    import django

    seed_file = workdir.parent / f"{DB_NAME}.seed.json"
    if not args.reuse_db:
        log(f"recreating database {DB_NAME}")
        recreate_database()
        django.setup()
        from django.core.management import call_command

        t = time.perf_counter()
        call_command("migrate", verbosity=0, interactive=False)
        log(f"migrated in {time.perf_counter() - t:.1f} s")
        from bench.seed import seed

        t = time.perf_counter()
        seeded = seed(
            password=secrets.token_urlsafe(16),
            report_orders=args.report_orders,
            report_noise=args.report_noise,
        )
        for step, seconds in seeded.timings.items():
            log(f"  seeded {step} in {seconds:.1f} s")
        log(f"seeded in {time.perf_counter() - t:.1f} s")
        seed_file.write_text(json.dumps(seeded.__dict__, default=str))
    else:
        django.setup()
        from bench.seed import Seeded

        raw = json.loads(seed_file.read_text())
        import datetime as dt

        raw["report_date"] = dt.date.fromisoformat(raw["report_date"])
        raw["tax_rate"] = Decimal(raw["tax_rate"])
        raw["products"] = [(p[0], p[1], Decimal(p[2]), Decimal(p[3])) for p in raw["products"]]
        seeded = Seeded(**raw)

    from django.db import connections

    connections.close_all()
    server = Gunicorn(env, workdir / "app.log", extra)
    log(f"starting gunicorn on {server.base_url} ({extra or 'conf defaults'})")
    pgbench_result = None
    bare: dict[int, RunResult] = {}
    counts: dict[str, int] = {}
    try:
        server.start()
        log("gunicorn is up")
        tokens = []
        for username in [*seeded.cashier_usernames, seeded.manager_username]:
            status, body = http_call(
                server.base_url,
                "POST",
                "/api/v1/auth/token/",
                {"username": username, "password": seeded.password},
            )
            if status != 200:
                raise SystemExit(f"login {username}: {status} {body}")
            tokens.append(body["access"])
        session = Session(server.base_url, seeded, tokens[:-1], tokens[-1])
        session.server_pid = server.proc.pid if server.proc else None
        session.workdir = workdir
        for register_id, token in zip(seeded.register_ids, session.tokens, strict=True):
            status, body = http_call(
                server.base_url,
                "POST",
                "/api/v1/shifts/",
                {"register": register_id, "opening_float": "100.00"},
                token=token,
            )
            if status not in (201, 409):
                raise SystemExit(f"open shift on register {register_id}: {status} {body}")
        log("logged in 8 cashiers and the manager; a shift is open on each of R1…R8")

        run_scenarios(session, args, only)
        counts = count_queries(session)
        connections.close_all()
    finally:
        server.stop()

    if "bare" in only:
        bare = run_bare(env, args, workdir, extra)
    if "pgbench" in only:
        pgbench_result = run_pgbench(seeded, args, workdir)

    from django.core.cache import cache

    if hasattr(cache, "delete_pattern"):
        cache.delete_pattern("*")  # this run's keys only (its own prefix)
    machine["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    table = render(session, pgbench_result, bare, counts, machine)
    print()
    print(table)
    print()
    log(f"make bench finished in {time.perf_counter() - started:.0f} s")
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "machine": machine,
                    "args": vars(args),
                    "results": {
                        name: {
                            c: {
                                "rps": r.rps,
                                "p50_ms": r.pct(50),
                                "p99_ms": r.pct(99),
                                "failed": r.failed,
                                "sync_seconds": r.sync_seconds,
                            }
                            for c, r in by_c.items()
                        }
                        for name, by_c in session.results.items()
                    },
                    "pgbench": pgbench_result
                    and {
                        "tps": pgbench_result.rps,
                        "p50_ms": pgbench_result.pct(50),
                        "p99_ms": pgbench_result.pct(99),
                    },
                    "bare": {c: {"rps": r.rps, "p99_ms": r.pct(99)} for c, r in bare.items()},
                    "queries": counts,
                    "table": table,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()

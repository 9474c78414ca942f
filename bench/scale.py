"""`make bench-scale`: the hot paths at 1M orders against the same paths at 10k, side by side.

    .venv/bin/python bench/scale.py --orders 1000000 --small 10000 --rounds 3
    .venv/bin/python bench/scale.py --orders 50000 --small 5000 --rounds 1      # dry run

Runs its own PostgreSQL cluster (Debian's binaries, datadir `/var/tmp/pos-bench-scale/pgdata`,
127.0.0.1:5544; `BENCH_SCALE_DIR`, `BENCH_SCALE_PORT`, `BENCH_PG_BIN`), started and stopped here,
so gigabytes of history stay off the shared server on 5432. Two databases in it,
`pos_bench_scale_<size>` (e.g. `pos_bench_scale_10k`, `pos_bench_scale_1m`), each migrated and
seeded by a child process:

1. `bench/seed.py` (the `make bench` seed: store MAIN with registers R1…R8, cashiers, 1,000
   products with stock, 50k sync products, and store BENCH with `--report-orders` sales *today*,
   so the daily report covers the same day at both sizes);
2. if the merged code has `manage.py partitions`, the monthly partitions of the seeded months;
3. `bench/scale_seed.py` with the size's orders (10 journal lines and 5 audit events each, …),
   resumable: a rerun continues the seed; `--fresh` drops the databases first.

If the code reads reports from a replica (`posproject/replica.py`, issue 19), a streaming hot
standby of the bench cluster is made once the seeds are done (`pg_basebackup -R`, started on a
free port) and the daily report is also measured through a server configured with
`REPLICA_DATABASE_URL`; the standby's replay lag (bytes and seconds, `pg_stat_replication` on
the primary) is sampled during the sale runs.

Then `--rounds` rounds, each measuring both sizes (the order alternates) through the project
under gunicorn (bench/run.py's `Gunicorn`, the project's conf): the sale at concurrency 8
(loadgen, `--warmup` + `--duration` s) with the CPU of gunicorn and PostgreSQL per sale
(bench/cpu_split.py's /proc reading) and the bytes the database grew by per sale; the order list
page 1, a page-number page at 90 % depth, and — when the list takes `?cursor=` — the cursor's
first page and a deep cursor page; the daily report (primary, and replica if any); and once per
size `audit_verify` (seconds per million events). Medians over the rounds go in one table,
`bench/results/scale_<orders>.txt` and `.json` (`--out`), read by bench/sizing.py.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.loadgen import RequestSpec, run_pool  # noqa: E402
from bench.run import (  # noqa: E402
    PG_HOST,
    PG_USER,
    Gunicorn,
    _auth,
    _free_port,
    app_env,
    http_call,
    log,
    machine_info,
    sale_bodies,
)

PYTHON = str(ROOT / ".venv" / "bin" / "python")
STATE_DIR = Path(os.environ.get("BENCH_SCALE_DIR", "/var/tmp/pos-bench-scale"))
PAGE = 50
PG_BIN = Path(os.environ.get("BENCH_PG_BIN", "/usr/lib/postgresql/15/bin"))
PG_PORT = int(os.environ.get("BENCH_SCALE_PORT", "5544"))
CLUSTER = STATE_DIR / "pgdata"
STANDBY = STATE_DIR / "standby"
# The bench's own server: the seed is written fast (no fsync wait per batch is worth having for
# a throwaway cluster), the measured paths keep synchronous commit like production.
SERVER_OPTIONS = (
    "-c listen_addresses=127.0.0.1 -c shared_buffers=1GB -c max_wal_size=4GB "
    "-c max_connections=200 -c wal_level=replica -c hot_standby=on "
    f"-c unix_socket_directories={STATE_DIR}"
)


def _psql(sql: str, db: str = "postgres", port: int = PG_PORT) -> str:
    out = subprocess.run(
        ["psql", "-h", PG_HOST, "-p", str(port), "-U", PG_USER, "-d", db, "-Atqc", sql],
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip()


def _as_postgres(*cmd: str) -> None:
    """PostgreSQL's binaries refuse to run as root: run them as the `postgres` user."""
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    subprocess.run([*prefix, *cmd], check=True, stdout=subprocess.DEVNULL)


def cluster_start() -> None:
    """The bench's own PostgreSQL cluster (Debian's binaries, its own datadir and port): 1M
    orders are gigabytes, which the shared server on 5432 — and every `pg_basebackup` of it that
    the replica tests take — should not carry."""
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(STATE_DIR, "postgres", "postgres")
    if not (CLUSTER / "PG_VERSION").exists():
        log(f"initdb {CLUSTER}")
        _as_postgres(str(PG_BIN / "initdb"), "-D", str(CLUSTER), "-U", "postgres", "-A", "trust")
    if subprocess.run(
        ["pg_isready", "-h", PG_HOST, "-p", str(PG_PORT)], capture_output=True
    ).returncode:
        log(f"starting the bench's PostgreSQL on 127.0.0.1:{PG_PORT} ({CLUSTER})")
        _as_postgres(
            str(PG_BIN / "pg_ctl"), "-D", str(CLUSTER), "-l", str(STATE_DIR / "primary.log"),
            "-o", f"-p {PG_PORT} {SERVER_OPTIONS}", "-w", "start",
        )  # fmt: skip


def cluster_stop(datadir: Path) -> None:
    if (datadir / "postmaster.pid").exists():
        _as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(datadir), "-m", "fast", "-w", "stop")


def standby_start(port: int) -> None:
    """A streaming hot standby of the bench cluster: `pg_basebackup -R`, then started on `port`."""
    cluster_stop(STANDBY)
    shutil.rmtree(STANDBY, ignore_errors=True)
    _as_postgres(
        str(PG_BIN / "pg_basebackup"), "-h", PG_HOST, "-p", str(PG_PORT), "-U", "postgres",
        "-D", str(STANDBY), "-R", "-X", "stream", "-c", "fast",
    )  # fmt: skip
    _as_postgres(
        str(PG_BIN / "pg_ctl"), "-D", str(STANDBY), "-l", str(STATE_DIR / "standby.log"),
        "-o", f"-p {port} {SERVER_OPTIONS}", "-w", "start",
    )  # fmt: skip


def label(n: int) -> str:
    if n % 1_000_000 == 0:
        return f"{n // 1_000_000}m"
    if n % 1_000 == 0:
        return f"{n // 1_000}k"
    return str(n)


def db_name(n: int) -> str:
    return f"pos_bench_scale_{label(n)}"


def db_url(name: str, port: int = PG_PORT) -> str:
    return f"postgres://{PG_USER}@{PG_HOST}:{port}/{name}"


def app_has_replica() -> bool:
    """The merged code reads reports from `REPLICA_DATABASE_URL` (posproject/replica.py)."""
    forced = os.environ.get("BENCH_SCALE_FORCE_REPLICA") == "1"  # to try the standby alone
    return forced or (ROOT / "posproject" / "replica.py").exists()


# --- preparation (child process, one per database) -----------------------------------------------


def prepare(args: argparse.Namespace) -> None:
    """Migrate, seed the bench base once, create partitions if the code has them, seed orders."""
    import datetime as dt

    import django

    django.setup()
    from django.core.management import call_command, get_commands
    from django.utils import timezone

    from bench import scale_seed

    seed_file = STATE_DIR / f"{db_name(args.size)}.seed.json"
    timings: dict[str, float] = {}
    t = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    timings["migrate"] = time.perf_counter() - t
    if "partitions" in get_commands():
        since = timezone.now() - dt.timedelta(days=30 * args.months + 40)
        t = time.perf_counter()
        call_command("partitions", "--since", since.strftime("%Y-%m"), "--ahead", "3")
        timings["partitions"] = time.perf_counter() - t
        log(f"partitions created since {since:%Y-%m}")
    if not seed_file.exists():
        from bench.seed import seed

        t = time.perf_counter()
        seeded = seed(
            password=secrets.token_urlsafe(16),
            report_orders=args.report_orders,
            report_noise=0,
        )
        timings["bench base (bench/seed.py)"] = time.perf_counter() - t
        seed_file.write_text(json.dumps(seeded.__dict__, default=str))
    seeded_raw = json.loads(seed_file.read_text())
    t = time.perf_counter()
    base = scale_seed.seed_base(
        stores=args.stores, registers=2, manager_username=seeded_raw["manager_username"]
    )
    result = scale_seed.seed_orders(
        base=base, orders=args.size, months=args.months, batch=args.batch, audit_per_order=5
    )
    timings["scale seed"] = time.perf_counter() - t
    out = {"timings": timings, "seeded_now": result["orders_seeded"], "rows": scale_seed.counts()}
    (STATE_DIR / f"{db_name(args.size)}.prepare.json").write_text(json.dumps(out))
    log(f"{db_name(args.size)}: {out}")


def verify(_: argparse.Namespace) -> None:
    """Time `audit_verify` over the whole trail (child process; prints JSON)."""
    import django

    django.setup()
    from audit.verification import audit_verify

    t = time.perf_counter()
    result = audit_verify()
    seconds = time.perf_counter() - t
    print(json.dumps({"seconds": seconds, "events": result.events_checked, "ok": result.ok}))


def _child(command: str, size: int, extra: list[str], *, capture: bool = False) -> str:
    """Run this script's `command` on the database of `size` (Django binds one per process);
    its output goes to ours (seed progress) unless captured."""
    env = {
        **os.environ,
        "DATABASE_URL": db_url(db_name(size)),
        "DJANGO_DEBUG": "true",
        "DJANGO_SETTINGS_MODULE": "posproject.settings",
        "CELERY_TASK_ALWAYS_EAGER": "true",
    }
    cmd = [PYTHON, str(Path(__file__)), command, "--size", str(size), *extra]
    out = subprocess.run(
        cmd, env=env, cwd=ROOT, check=True, stdout=subprocess.PIPE if capture else None, text=True
    )
    return out.stdout or ""


# --- measurement ---------------------------------------------------------------------------------


class LagSampler(threading.Thread):
    """Replay lag of every standby, seen from the primary, every 250 ms."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.samples: list[tuple[float, float]] = []
        self._done = threading.Event()

    def run(self) -> None:
        sql = (
            "SELECT coalesce(max(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)), 0), "
            "coalesce(max(extract(epoch FROM replay_lag)), 0) FROM pg_stat_replication"
        )
        while not self._done.wait(0.25):
            try:
                lag_bytes, lag_s = _psql(sql).split("|")
                self.samples.append((float(lag_bytes), float(lag_s)))
            except (subprocess.CalledProcessError, ValueError):
                pass

    def stop(self) -> dict[str, float]:
        self._done.set()
        self.join(timeout=5)
        if not self.samples:
            return {}
        b = sorted(s[0] for s in self.samples)
        s = sorted(x[1] for x in self.samples)
        return {
            "lag_bytes_p50": statistics.median(b),
            "lag_bytes_max": b[-1],
            "lag_s_p50": statistics.median(s),
            "lag_s_max": s[-1],
        }


def _size_sql(*tables: str) -> str:
    """Table + indexes + TOAST, summed over the partitions when the table is partitioned
    (`pg_partition_tree` lists none for a plain table, whose own size is taken instead)."""
    parts = [
        f"coalesce((SELECT sum(pg_total_relation_size(relid)) FROM pg_partition_tree('{t}')), "
        f"pg_total_relation_size('{t}'))"
        for t in tables
    ]
    return "SELECT " + " + ".join(parts)


SIZE_SQL = {
    "database": "SELECT pg_database_size(current_database())",
    "orders": _size_sql("orders_order", "orders_orderline", "orders_payment"),
    "journal_lines": _size_sql("ledger_journalline"),
    "audit_events": _size_sql("audit_auditevent"),
    "idempotency_keys": _size_sql("orders_idempotencykey"),
    "stock_movements": _size_sql("catalog_stockmovement"),
}
ROW_TABLES = {
    "orders": "orders_order",
    "journal_lines": "ledger_journalline",
    "audit_events": "audit_auditevent",
    "idempotency_keys": "orders_idempotencykey",
    "stock_movements": "catalog_stockmovement",
}


def table_sizes(db: str) -> dict[str, int]:
    return {k: int(_psql(sql, db) or 0) for k, sql in SIZE_SQL.items()}


def snapshot(db: str) -> tuple[dict[str, int], dict[str, int]]:
    """Sizes and highest ids in one statement (one snapshot: sales keep landing meanwhile)."""
    sizes = [f"({sql.removeprefix('SELECT ')})" for sql in SIZE_SQL.values()]
    marks = [f"(SELECT coalesce(max(id), 0) FROM {t})" for t in ROW_TABLES.values()]
    values = [int(v or 0) for v in _psql("SELECT " + ", ".join(sizes + marks), db).split("|")]
    return (
        dict(zip(SIZE_SQL, values[: len(SIZE_SQL)], strict=True)),
        dict(zip(ROW_TABLES, values[len(SIZE_SQL) :], strict=True)),
    )


def row_counts(db: str) -> dict[str, int]:
    return {k: int(_psql(f"SELECT count(*) FROM {t}", db)) for k, t in ROW_TABLES.items()}


def _ticks(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def _children(root: int) -> list[int]:
    """`root` and its direct children (gunicorn's master and workers)."""
    pids = [root]
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if ppid == root:
                pids.append(int(entry))
    return pids


def cpu_snapshot(server_pid: int, db: str) -> dict[str, dict[int, int]]:
    """CPU ticks of this server's processes and of the backends connected to `db` only: the
    PostgreSQL server is shared with whatever else runs on the box."""
    backends = [int(p) for p in _psql(
        f"SELECT pid FROM pg_stat_activity WHERE datname = '{db}' AND pid <> pg_backend_pid()"
    ).split() if p]  # fmt: skip
    return {
        "app": {p: _ticks(p) for p in _children(server_pid)},
        "db": {p: _ticks(p) for p in backends},
    }


def cpu_delta(
    before: dict[str, dict[int, int]], after: dict[str, dict[int, int]]
) -> dict[str, int]:
    return {
        group: sum(t - before[group].get(p, 0) for p, t in after[group].items()) for group in after
    }


class RequestFailed(Exception):
    pass


def timed_get(url: str, path: str, token: str, repeat: int) -> tuple[float, Any]:
    """Median wall time (ms) of `repeat` sequential GETs, and the last body. A non-200 answer
    (e.g. a 5 s statement timeout on a deep OFFSET page at 1M) raises RequestFailed: the figure
    is recorded as failed, the run goes on."""
    times, body = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        status, body = http_call(url, "GET", path, token=token)
        times.append((time.perf_counter() - t) * 1000)
        if status != 200:
            raise RequestFailed(f"GET {path}: {status} {str(body)[:200]}")
    return statistics.median(times), body


def _position_swaps(first: dict[str, Any], deep: dict[str, Any]) -> list[tuple[str, str]]:
    """(old, new) spellings of the ordering values of two list items: the id, and the timestamp
    as the API renders it, as `str()` of the UTC datetime (DRF's cursor position) and ISO."""
    import datetime as dt

    swaps = [(str(first.get("id")), str(deep.get("id")))]
    for key in ("created_at", "at"):
        if key not in first or key not in deep:
            continue
        swaps.append((str(first[key]), str(deep[key])))
        try:
            old = dt.datetime.fromisoformat(str(first[key]).replace("Z", "+00:00"))
            new = dt.datetime.fromisoformat(str(deep[key]).replace("Z", "+00:00"))
        except ValueError:
            continue
        old, new = old.astimezone(dt.UTC), new.astimezone(dt.UTC)
        swaps += [(str(old), str(new)), (old.isoformat(), new.isoformat())]
    return swaps


def deep_cursor(next_url: str, page1_last: dict[str, Any], deep_last: dict[str, Any]) -> str | None:
    """The `next` link after page 1, pointed at the position after `deep_last` instead of after
    `page1_last`: DRF's cursor (base64 of a query string whose `p` is the position) or any
    other encoding that spells the last item's id or timestamp (base64 JSON, plain text).
    None when neither works (the caller then follows `next` instead)."""
    parsed = urllib.parse.urlsplit(next_url)
    query = urllib.parse.parse_qs(parsed.query)
    if "cursor" not in query:
        return None
    raw = query["cursor"][0]
    swaps = _position_swaps(page1_last, deep_last)

    def swapped(text: str) -> str | None:
        """Every spelling replaced, longest first; the id only as a whole number."""
        out = text
        for old, new in sorted(swaps[1:], key=lambda s: -len(s[0])):
            out = out.replace(old, new)
        old_id, new_id = swaps[0]
        out = re.sub(rf"(?<![0-9]){re.escape(old_id)}(?![0-9])", new_id, out)
        return out if out != text else None

    decoded = None
    with contextlib.suppress(ValueError, UnicodeDecodeError):
        decoded = base64.b64decode((raw + "=" * (-len(raw) % 4)).encode(), altchars=b"-_").decode()
    new_raw = None
    if decoded is not None:
        tokens = urllib.parse.parse_qs(decoded, keep_blank_values=True)
        if "p" in tokens:  # DRF's CursorPagination
            position = swapped(tokens["p"][0])
            if position is not None:
                tokens["p"] = [position]
                encoded = urllib.parse.urlencode(tokens, doseq=True)
                new_raw = base64.b64encode(encoded.encode("ascii")).decode("ascii")
        elif (text := swapped(decoded)) is not None:
            new_raw = base64.urlsafe_b64encode(text.encode()).decode()
            if not raw.endswith("="):
                new_raw = new_raw.rstrip("=")
    if new_raw is None:
        new_raw = swapped(raw)
    if new_raw is None:
        return None
    query["cursor"] = [new_raw]
    return parsed.path + "?" + urllib.parse.urlencode(query, doseq=True)


class SizeRun:
    """One database: its server(s), sessions and the measurements of one round."""

    def __init__(self, size: int, args: argparse.Namespace, replica_port: int | None) -> None:
        self.size = size
        self.db = db_name(size)
        self.args = args
        self.replica_port = replica_port
        self.seeded = self._load_seeded()
        self.workdir = Path(tempfile.mkdtemp(prefix=f"pos-bench-scale-{label(size)}-"))

    def _load_seeded(self) -> Any:
        import datetime as dt
        from decimal import Decimal

        from bench.seed import Seeded

        raw = json.loads((STATE_DIR / f"{self.db}.seed.json").read_text())
        raw["report_date"] = dt.date.fromisoformat(raw["report_date"])
        raw["tax_rate"] = Decimal(raw["tax_rate"])
        raw["products"] = [(p[0], p[1], Decimal(p[2]), Decimal(p[3])) for p in raw["products"]]
        return Seeded(**raw)

    def env(self, replica: bool) -> dict[str, str]:
        env = app_env(secrets.token_urlsafe(50), f"bench-scale-{os.getpid()}-{label(self.size)}")
        env["DATABASE_URL"] = db_url(self.db)
        if replica and self.replica_port:
            env["REPLICA_DATABASE_URL"] = db_url(self.db, self.replica_port)
        return env

    def login(self, url: str) -> tuple[list[str], str]:
        tokens = []
        for username in [*self.seeded.cashier_usernames, self.seeded.manager_username]:
            status, body = http_call(
                url, "POST", "/api/v1/auth/token/",
                {"username": username, "password": self.seeded.password},
            )  # fmt: skip
            if status != 200:
                raise SystemExit(f"{self.db}: login {username}: {status} {body}")
            tokens.append(body["access"])
        for register_id, token in zip(self.seeded.register_ids, tokens, strict=False):
            status, body = http_call(
                url, "POST", "/api/v1/shifts/",
                {"register": register_id, "opening_float": "100.00"}, token=token,
            )  # fmt: skip
            if status not in (201, 409):
                raise SystemExit(f"{self.db}: open shift {register_id}: {status} {body}")
        return tokens[:-1], tokens[-1]

    def measure(self, round_no: int, verify_audit: bool) -> dict[str, Any]:
        import random

        out: dict[str, Any] = {}
        server = Gunicorn(self.env(replica=False), self.workdir / "app.log")
        server.start()
        self.server_pid = server.proc.pid if server.proc else 0
        try:
            url = server.base_url
            tokens, manager = self.login(url)
            out.update(self._sale(url, tokens, random.Random(round_no)))
            try:
                out.update(self._lists(url, manager))
            except RequestFailed as error:
                out.setdefault("errors", []).append(str(error))
                log(f"  list: {error}")
            report = (
                f"/api/v1/reports/daily/?store={self.seeded.report_store_id}"
                f"&date={self.seeded.report_date}"
            )
            try:
                out["report_ms"], body = timed_get(url, report, manager, self.args.repeat)
                out["report_orders"] = body.get("orders_count")
            except RequestFailed as error:
                out.setdefault("errors", []).append(str(error))
                log(f"  report: {error}")
        finally:
            server.stop()
        if self.replica_port:
            replica_server = Gunicorn(self.env(replica=True), self.workdir / "app-replica.log")
            replica_server.start()
            try:
                _, manager = self.login(replica_server.base_url)
                time.sleep(1.0)  # the shifts just opened reach the standby
                try:
                    out["report_replica_ms"], _ = timed_get(
                        replica_server.base_url, report, manager, self.args.repeat
                    )
                except RequestFailed as error:
                    out.setdefault("errors", []).append(str(error))
                    log(f"  report on the replica: {error}")
            finally:
                replica_server.stop()
        if verify_audit:
            raw = _child("_verify", self.size, [], capture=True).strip().splitlines()[-1]
            result = json.loads(raw)
            out["verify_s"] = result["seconds"]
            out["verify_events"] = result["events"]
            out["verify_ok"] = result["ok"]
            out["verify_s_per_million"] = result["seconds"] / max(result["events"], 1) * 1e6
        return out

    def _sale(self, url: str, tokens: list[str], rng: Any) -> dict[str, Any]:
        bodies = {rid: sale_bodies(self.seeded, rid, 300, rng) for rid in self.seeded.register_ids}
        clients = [
            (_auth(tokens[i]),
             [RequestSpec("POST", "/api/v1/orders/", b, idempotent=True)
              for b in bodies[self.seeded.register_ids[i]]])
            for i in range(8)
        ]  # fmt: skip
        hz = os.sysconf("SC_CLK_TCK")
        cpu: dict[str, Any] = {}
        server_pid = self.server_pid
        marks_holder: dict[str, Any] = {}

        def after_warmup() -> None:
            cpu["start"] = cpu_snapshot(server_pid, self.db)
            marks_holder["sizes"], marks_holder["rows"] = snapshot(self.db)

        timer = threading.Timer(self.args.warmup, after_warmup)
        lag = LagSampler() if self.replica_port else None
        timer.start()
        if lag:
            lag.start()
        result = run_pool(
            base_url=url, clients=clients, warmup=self.args.warmup, duration=self.args.duration
        )
        end_ticks = cpu_snapshot(server_pid, self.db)
        timer.join()
        lag_figures = lag.stop() if lag else {}
        sizes_after, marks_after = snapshot(self.db)
        added = {k: marks_after[k] - marks_holder["rows"][k] for k in ROW_TABLES}
        grown = {k: sizes_after[k] - marks_holder["sizes"][k] for k in sizes_after}
        # The sizes were read a moment after the window opened: count every sale since then.
        sales = added["orders"] or 1
        ticks = cpu_delta(cpu["start"], end_ticks)
        out = {
            "sale_rps": result.rps,
            "sale_p50_ms": result.pct(50),
            "sale_p99_ms": result.pct(99),
            "sale_failed": result.failed,
            "cpu_ms_per_sale_app": ticks["app"] / hz / sales * 1000,
            "cpu_ms_per_sale_db": ticks["db"] / hz / sales * 1000,
            "live_bytes_per_sale_db": grown["database"] / sales,
            "live_rows_per_sale": {k: v / sales for k, v in added.items()},
            "live_bytes_per_row": {k: grown[k] / added[k] for k in ROW_TABLES if added.get(k)},
            **lag_figures,
        }
        log(
            f"  {self.db}: sale {result.rps:.1f}/s p50 {result.pct(50):.1f} ms "
            f"p99 {result.pct(99):.1f} ms, failed {result.failed}"
        )
        return out

    def _lists(self, url: str, manager: str) -> dict[str, Any]:
        repeat = self.args.repeat
        out: dict[str, Any] = {}
        first = f"/api/v1/orders/?page_size={PAGE}"
        out["list_page1_ms"], body = timed_get(url, first, manager, repeat)
        count = body["count"]
        deep_page = max(1, int(count / PAGE * 0.9))
        deep = f"/api/v1/orders/?page_size={PAGE}&page={deep_page}"
        out["list_count"], out["list_deep_page"] = count, deep_page
        deep_body: dict[str, Any] = {"results": []}
        try:
            out["list_deep_ms"], deep_body = timed_get(url, deep, manager, repeat)
        except RequestFailed as error:  # the OFFSET walk may hit the statement timeout
            out.setdefault("errors", []).append(str(error))
            log(f"  deep page: {error}")
        status, cursor_body = http_call(
            url, "GET", f"/api/v1/orders/?page_size={PAGE}&cursor=", token=manager
        )
        out["cursor_probe_status"] = status  # 200 without `count`: the list takes ?cursor=
        if status == 200 and "count" not in cursor_body and "next" in cursor_body:
            out["cursor_page1_ms"], c1 = timed_get(
                url, f"/api/v1/orders/?page_size={PAGE}&cursor=", manager, repeat
            )
            path = None
            if c1.get("next") and c1["results"] and deep_body["results"]:
                path = deep_cursor(c1["next"], c1["results"][-1], deep_body["results"][-1])
            if path:
                out["cursor_deep_ms"], cd = timed_get(url, path, manager, repeat)
                out["cursor_deep_how"] = "cursor at the 90 % page's last order"
                # Deep means past page 1: the page must not start among page 1's orders.
                page1_ids = {r.get("id") for r in c1["results"]}
                out["cursor_deep_ok"] = bool(cd.get("results")) and (
                    cd["results"][0].get("id") not in page1_ids
                )
            else:  # follow `next` and time the last hop
                nxt, hops = c1.get("next"), 0
                while nxt and hops < 30:
                    nxt_path = urllib.parse.urlsplit(nxt)
                    p = nxt_path.path + "?" + nxt_path.query
                    ms, page = timed_get(url, p, manager, 1)
                    nxt, hops = page.get("next"), hops + 1
                out["cursor_deep_ms"] = ms if hops else None
                out["cursor_deep_how"] = f"page {hops + 1} by following next"
        return out


# --- orchestration -------------------------------------------------------------------------------


def median_of(rounds: list[dict[str, Any]], key: str) -> Any:
    values = [r[key] for r in rounds if isinstance(r.get(key), int | float)]
    return statistics.median(values) if values else None


def render(results: dict[str, Any], sizes: list[int]) -> str:
    rows = [
        ("sale c=8 req/s", "sale_rps", 1),
        ("sale c=8 p50 ms", "sale_p50_ms", 1),
        ("sale c=8 p99 ms", "sale_p99_ms", 1),
        ("CPU ms/sale, app (gunicorn)", "cpu_ms_per_sale_app", 1),
        ("CPU ms/sale, PostgreSQL", "cpu_ms_per_sale_db", 1),
        ("DB bytes/sale (live)", "live_bytes_per_sale_db", 0),
        ("order list page 1 ms", "list_page1_ms", 1),
        ("order list page 90% ms", "list_deep_ms", 1),
        ("cursor page 1 ms", "cursor_page1_ms", 1),
        ("cursor deep page ms", "cursor_deep_ms", 1),
        ("daily report, primary ms", "report_ms", 1),
        ("daily report, replica ms", "report_replica_ms", 1),
        ("verify_audit s / M events", "verify_s_per_million", 1),
        ("replica lag p50 bytes", "lag_bytes_p50", 0),
        ("replica lag max bytes", "lag_bytes_max", 0),
        ("replica lag max s", "lag_s_max", 2),
    ]
    head = (
        f"{'measurement (median of rounds)':32}"
        + "".join(f"{label(s) + ' orders':>16}" for s in sizes)
        + f"{'ratio':>8}"
    )
    lines = [head, "-" * len(head)]
    for name, key, digits in rows:
        values = [results["sizes"][str(s)]["median"].get(key) for s in sizes]
        if all(v is None for v in values):
            line = f"{name:32}" + "".join(f"{'n/a':>16}" for _ in sizes)
            lines.append(line)
            continue
        cells = "".join(f"{v:>16,.{digits}f}" if v is not None else f"{'n/a':>16}" for v in values)
        ratio = ""
        if values[0] and values[-1] is not None and len(values) > 1:
            ratio = f"{values[-1] / values[0]:>8.2f}"
        lines.append(f"{name:32}{cells}{ratio}")
    lines.append("")
    lines.append(f"{'bytes per row (table+indexes)':32}" + "".join(
        f"{label(s) + ' seeded':>16}" for s in sizes))  # fmt: skip
    for key in ROW_TABLES:
        cells = "".join(
            f"{results['sizes'][str(s)]['seeded_bytes_per_row'].get(key, 0):>16,.0f}" for s in sizes
        )
        lines.append(f"{'  ' + key:32}{cells}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    for name in ("_prepare", "_verify"):
        child = sub.add_parser(name)
        child.add_argument("--size", type=int, required=True)
        child.add_argument("--months", type=int, default=6)
        child.add_argument("--stores", type=int, default=50)
        child.add_argument("--batch", type=int, default=20_000)
        child.add_argument("--report-orders", type=int, default=3_000)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=10.0, help="sale: seconds measured")
    parser.add_argument("--warmup", type=float, default=2.0, help="sale: seconds discarded")
    parser.add_argument("--repeat", type=int, default=7, help="GETs per list/report figure")
    parser.add_argument("--months", type=int, default=6)
    parser.add_argument("--stores", type=int, default=50)
    parser.add_argument("--batch", type=int, default=20_000)
    parser.add_argument("--report-orders", type=int, default=3_000)
    parser.add_argument("--verify-rounds", type=int, default=1, help="rounds that time verify")
    parser.add_argument("--fresh", action="store_true", help="drop the databases and reseed")
    parser.add_argument("--seed-only", action="store_true")
    parser.add_argument("--no-replica", action="store_true")
    parser.add_argument("--keep-server", action="store_true", help="leave the bench cluster up")
    parser.add_argument("--out", default=None, help="results path without extension")
    args = parser.parse_args()
    if args.command == "_prepare":
        return prepare(args)
    if args.command == "_verify":
        return verify(args)

    started = time.perf_counter()
    cluster_start()
    sizes = [args.small, args.orders]
    machine = machine_info()
    log(f"machine: {machine}")
    seed_info: dict[str, Any] = {}
    for size in sizes:
        name = db_name(size)
        exists = _psql(f"SELECT count(*) FROM pg_database WHERE datname = '{name}'") == "1"
        if args.fresh or not exists:
            _psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            _psql(f"CREATE DATABASE {name}")
            for stale in STATE_DIR.glob(f"{name}.*.json"):
                stale.unlink()
        log(f"preparing {name} ({size:,} orders; resumes a partial seed)")
        t = time.perf_counter()
        _child("_prepare", size, [
            "--months", str(args.months), "--stores", str(args.stores),
            "--batch", str(args.batch), "--report-orders", str(args.report_orders),
        ])  # fmt: skip
        seed_info[str(size)] = {
            "wall_s": time.perf_counter() - t,
            **json.loads((STATE_DIR / f"{name}.prepare.json").read_text()),
        }
        log(f"  {name} ready in {seed_info[str(size)]['wall_s']:.0f} s")
    if args.seed_only:
        print(json.dumps(seed_info, indent=2))
        if not args.keep_server:
            cluster_stop(CLUSTER)
        return None

    replica_port = None
    if app_has_replica() and not args.no_replica:
        replica_port = _free_port()
        log(f"starting a hot standby of the bench cluster on port {replica_port} ({STANDBY})")
        t = time.perf_counter()
        standby_start(replica_port)
        log(f"  standby up in {time.perf_counter() - t:.0f} s")
    else:
        log("no posproject/replica.py (or --no-replica): the replica figures are skipped")

    runs = {size: SizeRun(size, args, replica_port) for size in sizes}
    per_round: dict[int, list[dict[str, Any]]] = {size: [] for size in sizes}
    try:
        for round_no in range(1, args.rounds + 1):
            order = sizes if round_no % 2 else list(reversed(sizes))
            for size in order:
                log(f"round {round_no}/{args.rounds}: {db_name(size)}")
                figures = runs[size].measure(round_no, verify_audit=round_no <= args.verify_rounds)
                per_round[size].append(figures)
                flat = {k: v for k, v in figures.items() if not isinstance(v, dict)}
                log(f"  {json.dumps(flat, default=str)}")
    finally:
        if replica_port:
            cluster_stop(STANDBY)

    results: dict[str, Any] = {"machine": machine, "args": vars(args), "seed": seed_info,
                               "replica": bool(replica_port), "sizes": {}}  # fmt: skip
    for size in sizes:
        db = db_name(size)
        rounds = per_round[size]
        keys = {k for r in rounds for k, v in r.items() if isinstance(v, int | float)}
        sizes_now, counts_now = table_sizes(db), row_counts(db)
        results["sizes"][str(size)] = {
            "database": db,
            "rounds": rounds,
            "median": {k: median_of(rounds, k) for k in sorted(keys)},
            "rows": counts_now,
            "table_bytes": sizes_now,
            "seeded_bytes_per_row": {
                k: sizes_now[k] / counts_now[k] for k in ROW_TABLES if counts_now.get(k)
            },
            "live_bytes_per_row": {
                k: statistics.median(r["live_bytes_per_row"][k] for r in rounds)
                for k in ROW_TABLES
                if all(k in r.get("live_bytes_per_row", {}) for r in rounds) and rounds
            },
        }
    machine["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    table = render(results, sizes)
    errors = [
        f"{label(size)} round {n}: {e}"
        for size in sizes
        for n, r in enumerate(per_round[size], 1)
        for e in r.get("errors", [])
    ]
    if errors:
        table += "\n\nfailed requests (their figures are n/a):\n" + "\n".join(errors)
    results["table"] = table
    results["total_s"] = time.perf_counter() - started
    out = Path(args.out) if args.out else ROOT / "bench" / "results" / f"scale_{label(args.orders)}"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(results, indent=2, default=str))
    header = (
        f"bench/scale.py --orders {args.orders} --small {args.small} --rounds {args.rounds}\n"
        f"machine: {machine['nproc']} cores, {machine['memory_gb']} GB, PostgreSQL "
        f"{machine['postgresql']}, load {machine['load_average_at_start']} → "
        f"{machine['load_average_at_end']}; replica: {bool(replica_port)}\n"
        + "".join(
            f"seed {label(int(s))}: {v['wall_s']:.0f} s ({v['seeded_now']:,} orders seeded now)\n"
            for s, v in seed_info.items()
        )
    )
    out.with_suffix(".txt").write_text(header + "\n" + table + "\n")
    print()
    print(header)
    print(table)
    if not args.keep_server:
        cluster_stop(CLUSTER)
    log(f"bench-scale finished in {results['total_s']:.0f} s; results in {out}.txt/.json")
    return None


if __name__ == "__main__":
    main()

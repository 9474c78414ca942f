"""Sizing for 50, 500 and 5,000 stores, from the CPU per sale and bytes per sale measured by
`bench/scale.py` (its results JSON). Prints the table of docs/scaling.md.

    .venv/bin/python bench/sizing.py [bench/results/scale_1m.json] [--markdown]

Every figure is arithmetic on a measured input and a stated assumption (ASSUMPTIONS below);
the measured inputs are the medians at the large size (1M orders in the full run), so the
per-sale cost already includes whatever growth costs.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "bench" / "results" / "scale_1m.json"

ASSUMPTIONS = {
    "sales_per_store_day": 3_000,
    "lines_per_sale": 3,  # what bench/scale.py's sale sells: its bytes per sale are for 3 lines
    # Peak: the "500 stores ≈ 1.5M sales/day, peaks near 250 sales/s", i.e. 0.5 sales/s
    # per store at peak, 14.4 × the 24-hour mean (7.2 × the mean of a 12-hour trading day).
    "peak_sales_per_store_s": 0.5,
    "web_cpu_utilisation": 0.6,  # target busy fraction of web cores at peak
    "db_cpu_utilisation": 0.5,  # target busy fraction of the primary's cores at peak
    "db_read_factor": 2.0,  # primary cores × this, for reads, autovacuum, checkpoints
    "cores_per_web_replica": 4,
    "idempotency_retention_days": 4,  # IDEMPOTENCY_KEY_TTL_HOURS=96, then dropped
    "wal_and_bloat_factor": 1.3,  # disk for WAL, free space, index bloat over live data
    "hot_days_in_ram": 2,  # today's and yesterday's sales: what the writes, reports, lists touch
}
STORES = (50, 500, 5_000)


def load(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text())
    big = data["sizes"][str(data["args"]["orders"])]
    med = big["median"]
    live = big.get("live_bytes_per_row", {})
    rows: dict[str, list[float]] = {}
    for r in big["rounds"]:
        for k, v in r.get("live_rows_per_sale", {}).items():
            rows.setdefault(k, []).append(v)
    rows_per_sale = {k: sorted(v)[len(v) // 2] for k, v in rows.items()}
    return {
        "source": str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path),
        "orders": data["args"]["orders"],
        "app_ms": med["cpu_ms_per_sale_app"],
        "db_ms": med["cpu_ms_per_sale_db"],
        "bytes_per_sale": med["live_bytes_per_sale_db"],
        "idem_bytes_per_sale": live.get("idempotency_keys", 0)
        * rows_per_sale.get("idempotency_keys", 1),
        "pool_connections_measured": 8,
    }


def size(stores: int, m: dict[str, Any], a: dict[str, Any] = ASSUMPTIONS) -> dict[str, Any]:
    day = stores * a["sales_per_store_day"]
    peak = stores * a["peak_sales_per_store_s"]
    web_cores = peak * m["app_ms"] / 1000 / a["web_cpu_utilisation"]
    web_replicas = max(2, math.ceil(web_cores / a["cores_per_web_replica"]))
    db_cores = peak * m["db_ms"] / 1000 / a["db_cpu_utilisation"] * a["db_read_factor"]
    db_cores = max(4, 2 ** math.ceil(math.log2(max(db_cores, 1))))
    kept_bytes = m["bytes_per_sale"] - m["idem_bytes_per_sale"]
    disk_year = day * 365 * kept_bytes * a["wal_and_bloat_factor"]
    idem_total = day * a["idempotency_retention_days"] * m["idem_bytes_per_sale"]
    hot = day * a["hot_days_in_ram"] * m["bytes_per_sale"]
    ram = max(8, 2 ** math.ceil(math.log2(max(hot / 2**30 * 1.25, 1))))
    pool = db_cores * 2  # server connections per database in transaction pooling
    replicas = 1 if stores <= 500 else 2
    return {
        "stores": stores,
        "sales_day": day,
        "peak_sales_s": peak,
        "web_cores": web_cores,
        "web_replicas": web_replicas,
        "db_cores": db_cores,
        "db_ram_gb": ram,
        "disk_tb_year": disk_year / 1e12,
        "idem_gb": idem_total / 1e9,
        "read_replicas": replicas,
        "pgbouncer_pool": pool,
        "client_conns": web_replicas * 5 * 2,  # 2 × cores + 1 workers ≈ 5 per 2-core… per replica
    }


def render(m: dict[str, Any], markdown: bool) -> str:
    rows = [size(s, m) for s in STORES]
    fields = [
        ("sales per day", "sales_day", "{:,.0f}"),
        ("peak sales/s", "peak_sales_s", "{:,.0f}"),
        ("web CPU cores at peak", "web_cores", "{:,.1f}"),
        ("web replicas (4 cores)", "web_replicas", "{:,}"),
        ("primary cores", "db_cores", "{:,}"),
        ("primary RAM GB", "db_ram_gb", "{:,}"),
        ("primary disk TB / year", "disk_tb_year", "{:,.2f}"),
        ("idempotency keys GB (kept)", "idem_gb", "{:,.1f}"),
        ("read replicas", "read_replicas", "{:,}"),
        ("PgBouncer pool (server conns)", "pgbouncer_pool", "{:,}"),
    ]
    header = ["", *[f"{s:,} stores" for s in STORES]]
    body = [[name, *[fmt.format(r[key]) for r in rows]] for name, key, fmt in fields]
    note = (
        f"inputs ({m['source']}, {m['orders']:,} orders): CPU/sale app {m['app_ms']:.1f} ms, "
        f"PostgreSQL {m['db_ms']:.1f} ms; database bytes/sale {m['bytes_per_sale']:,.0f} "
        f"(idempotency key {m['idem_bytes_per_sale']:,.0f})"
    )
    if markdown:
        out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        out += ["| " + " | ".join(row) + " |" for row in body]
        return "\n".join(out) + "\n\n" + note
    width = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    out = [
        "  ".join(
            cell.rjust(w) if i else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, width, strict=True))
        )
        for row in [header, *body]
    ]
    return "\n".join(out) + "\n\n" + note


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", nargs="?", default=str(DEFAULT))
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    measured = load(Path(args.results).resolve())
    print(render(measured, args.markdown))
    print("assumptions: " + ", ".join(f"{k}={v}" for k, v in ASSUMPTIONS.items()))


if __name__ == "__main__":
    main()

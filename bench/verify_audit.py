"""Time the full audit verification (`audit.verification.audit_verify`) in this process: wall,
CPU and peak memory, on the database DATABASE_URL names (seed it with `bench/scale_seed.py`).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pos_bench_verify \
        .venv/bin/python bench/verify_audit.py [--batch N] [--rounds R]

Behind PgBouncer set `DB_POOLER=pgbouncer` and point DATABASE_URL at it (`python -m
dbtools.pgbouncer start`), as production runs: there `.iterator()` has no server-side cursor, so
peak memory is the figure to watch. To compare two revisions, run this file from each checkout
in alternating pairs (`cd <checkout> && .venv/bin/python /path/to/bench/verify_audit.py`): it
imports the code of the directory it is run from.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=None, help="keyset batch size")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    sys.path.insert(0, os.getcwd())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "posproject.settings")
    import django

    django.setup()
    from audit import verification

    if args.batch is not None:
        verification._BATCH = args.batch
    for _round in range(args.rounds):
        wall, cpu = time.perf_counter(), time.process_time()
        result = verification.audit_verify()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        per_million = wall / result.events_checked * 1e6 if result.events_checked else 0.0
        print(
            f"{os.getcwd()}: ok={result.ok} events={result.events_checked:,} wall={wall:.2f} s "
            f"cpu={cpu:.2f} s ({per_million:.1f} s per million) peak={peak_mb} MB",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

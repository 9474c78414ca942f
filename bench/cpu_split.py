"""Where the CPU goes while `make bench` runs: cores used per process group, every N seconds.

    python3 bench/cpu_split.py 2 > /tmp/cpu.log &   # then, in the same shell:
    make bench BENCH_ARGS="--reuse-db --only sale"; kill %1

Reads /proc (utime + stime of every process) and prints one line per interval: cores used by
gunicorn (the app), postgres (all backends and background processes), the load generator and
bench driver, redis and everything else. Divide a group's cores by the scenario's req/s, over
the lines of its run at concurrency 8, for its CPU milliseconds per request (bench/RESULTS.md,
"Where the CPU goes"). Lines that straddle a process exiting show negative values: skip them.
Linux only; no dependencies.
"""

from __future__ import annotations

import collections
import os
import sys
import time


def _group(stat: str, cmdline: str) -> str:
    name = stat[stat.index("(") + 1 : stat.rindex(")")]
    if name.startswith("postgres") or cmdline.startswith("postgres"):
        return "postgres"
    if "gunicorn" in cmdline:
        return "gunicorn"
    if any(part in cmdline for part in ("bench/run.py", "loadgen", "pgbench", "multiprocessing")):
        return "loadgen/bench"
    if "redis" in cmdline:
        return "redis"
    return "other"


def snapshot() -> collections.Counter[str]:
    ticks: collections.Counter[str] = collections.Counter()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
            with open(f"/proc/{pid}/cmdline") as f:
                cmdline = f.read().replace("\0", " ")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        ticks[_group(stat, cmdline)] += int(fields[11]) + int(fields[12])
    return ticks


def main() -> None:
    interval = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
    hz = os.sysconf("SC_CLK_TCK")
    previous, then = snapshot(), time.monotonic()
    while True:
        time.sleep(interval)
        current, now = snapshot(), time.monotonic()
        cores = {g: (current[g] - previous[g]) / hz / (now - then) for g in current}
        line = " ".join(f"{g}={c:.2f}" for g, c in sorted(cores.items()))
        print(time.strftime("%H:%M:%S"), line, flush=True)
        previous, then = current, now


if __name__ == "__main__":
    main()

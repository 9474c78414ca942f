"""A small closed-loop HTTP load generator: N client processes, each with one keep-alive
connection (`http.client`), sending requests back to back for a fixed time and recording each
request's latency. Processes rather than threads, so that the clients do not share one GIL
(the machine has two cores, shared with gunicorn and PostgreSQL: a client must cost little).

No Django here: the client processes are spawned fresh and import only the standard library.

Two kinds of run:

* `run_pool` — every client cycles through its own list of requests (method, path, body) for
  `warmup + duration` seconds; only requests that *start* inside the measured window count.
  Sales carry a fresh `Idempotency-Key` (uuid4) on every request.
* `run_sync` — every client pages through a delta sync from `since_version=0`, following `next`
  until it is null; the time of each full sync and of each page is recorded.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing as mp
import statistics
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

_CTX = mp.get_context("spawn")


@dataclass
class RequestSpec:
    method: str
    path: str
    body: bytes | None = None
    idempotent: bool = False  # add a fresh Idempotency-Key to each request


@dataclass
class ClientResult:
    latencies: list[float] = field(default_factory=list)  # seconds, measured requests
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0  # transport errors (reset, refused)
    sync_seconds: list[float] = field(default_factory=list)
    sync_pages: int = 0
    sync_products: int = 0
    sync_incomplete: bool = False
    bad_bodies: list[str] = field(default_factory=list)


@dataclass
class RunResult:
    concurrency: int
    window: float
    latencies: list[float]
    statuses: dict[int, int]
    errors: int
    sync_seconds: list[float]
    sync_pages: int
    sync_products: int
    bad_bodies: list[str]
    sync_incomplete: bool = False

    @property
    def ok(self) -> int:
        return sum(n for s, n in self.statuses.items() if 200 <= s < 300)

    @property
    def failed(self) -> int:
        return sum(n for s, n in self.statuses.items() if not 200 <= s < 300) + self.errors

    @property
    def rps(self) -> float:
        """Successful (2xx) requests per second of the measured window."""
        return self.ok / self.window if self.window else 0.0

    def pct(self, q: float) -> float:
        """Latency percentile in milliseconds (nearest rank)."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
        return ordered[rank] * 1000

    @property
    def mean_ms(self) -> float:
        return statistics.fmean(self.latencies) * 1000 if self.latencies else float("nan")


class _Conn:
    def __init__(self, host: str, port: int, headers: dict[str, str]) -> None:
        self.host, self.port = host, port
        self.headers = {"Accept": "application/json", "Connection": "keep-alive", **headers}
        self.conn = http.client.HTTPConnection(host, port, timeout=30)

    def request(self, spec: RequestSpec) -> tuple[int, bytes]:
        headers = dict(self.headers)
        if spec.body is not None:
            headers["Content-Type"] = "application/json"
        if spec.idempotent:
            headers["Idempotency-Key"] = uuid.uuid4().hex
        for attempt in range(2):
            try:
                self.conn.request(spec.method, spec.path, body=spec.body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
                if response.will_close:
                    self.conn.close()  # sync workers close after each response: reconnect
                return response.status, data
            except (ConnectionError, http.client.HTTPException, OSError):
                self.conn.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")


def _pool_client(
    host: str,
    port: int,
    headers: dict[str, str],
    specs: list[RequestSpec],
    warmup: float,
    duration: float,
    once: bool,
    ready: Any,
    go: Any,
    out: Any,
) -> None:
    conn = _Conn(host, port, headers)
    result = ClientResult()
    ready.put(1)
    go.wait()
    start = time.perf_counter()
    measure_from, stop = start + warmup, start + warmup + duration
    i = 0
    while True:
        began = time.perf_counter()
        if began >= stop or (once and i >= len(specs)):
            break
        spec = specs[i % len(specs)]
        i += 1
        try:
            status, body = conn.request(spec)
        except Exception:
            if began >= measure_from:
                result.errors += 1
            continue
        took = time.perf_counter() - began
        if began >= measure_from:
            result.latencies.append(took)
            result.statuses[status] = result.statuses.get(status, 0) + 1
            if not 200 <= status < 300 and len(result.bad_bodies) < 3:
                result.bad_bodies.append(f"{status} {body[:300]!r}")
    out.put(result)


def _sync_client(
    host: str,
    port: int,
    headers: dict[str, str],
    first_path: str,
    syncs: int,
    deadline: float,
    ready: Any,
    go: Any,
    out: Any,
) -> None:
    conn = _Conn(host, port, headers)
    result = ClientResult()
    ready.put(1)
    go.wait()
    stop = time.perf_counter() + deadline
    for _ in range(syncs):
        path: str | None = first_path
        seen = 0
        sync_started = time.perf_counter()
        while path:
            if time.perf_counter() >= stop:
                result.sync_incomplete = True
                break
            began = time.perf_counter()
            try:
                status, body = conn.request(RequestSpec("GET", path))
            except Exception:
                result.errors += 1
                break
            result.latencies.append(time.perf_counter() - began)
            result.statuses[status] = result.statuses.get(status, 0) + 1
            if status != 200:
                result.bad_bodies.append(f"{status} {body[:300]!r}")
                break
            page = json.loads(body)
            seen += len(page["results"])
            result.sync_pages += 1
            nxt = page.get("next")
            path = None
            if nxt:
                parts = urlsplit(nxt)
                path = parts.path + ("?" + parts.query if parts.query else "")
        result.sync_seconds.append(time.perf_counter() - sync_started)
        result.sync_products = seen
        if result.sync_incomplete:
            break
    out.put(result)


def _run(target: Any, per_client_args: list[tuple[Any, ...]]) -> tuple[list[ClientResult], float]:
    ready, out = _CTX.Queue(), _CTX.Queue()
    go = _CTX.Event()
    procs = [
        _CTX.Process(target=target, args=(*args, ready, go, out), daemon=True)
        for args in per_client_args
    ]
    for proc in procs:
        proc.start()
    for _ in procs:
        ready.get(timeout=60)
    started = time.perf_counter()
    go.set()
    results = [out.get(timeout=900) for _ in procs]
    elapsed = time.perf_counter() - started
    for proc in procs:
        proc.join(timeout=10)
    return results, elapsed


def _merge(results: list[ClientResult], concurrency: int, window: float) -> RunResult:
    statuses: dict[int, int] = {}
    for r in results:
        for status, n in r.statuses.items():
            statuses[status] = statuses.get(status, 0) + n
    return RunResult(
        concurrency=concurrency,
        window=window,
        latencies=[lat for r in results for lat in r.latencies],
        statuses=statuses,
        errors=sum(r.errors for r in results),
        sync_seconds=[s for r in results for s in r.sync_seconds],
        sync_pages=sum(r.sync_pages for r in results),
        sync_products=max((r.sync_products for r in results), default=0),
        bad_bodies=[b for r in results for b in r.bad_bodies][:5],
        sync_incomplete=any(r.sync_incomplete for r in results),
    )


def run_pool(
    *,
    base_url: str,
    clients: list[tuple[dict[str, str], list[RequestSpec]]],
    warmup: float,
    duration: float,
    once: bool = False,
) -> RunResult:
    """One process per `(headers, specs)`; closed loop for `warmup + duration` seconds (or,
    with `once`, until each client has sent its list once — at most that long)."""
    parts = urlsplit(base_url)
    args = [
        (parts.hostname, parts.port, headers, specs, warmup, duration, once)
        for headers, specs in clients
    ]
    results, _ = _run(_pool_client, args)
    return _merge(results, len(clients), duration)


def run_sync(
    *,
    base_url: str,
    clients: list[dict[str, str]],
    first_path: str,
    syncs: int = 1,
    deadline: float = 120.0,
) -> RunResult:
    """Every client pages through the whole delta sync `syncs` times, all at once; a client
    still paging after `deadline` seconds stops (`sync_incomplete`)."""
    parts = urlsplit(base_url)
    args = [
        (parts.hostname, parts.port, headers, first_path, syncs, deadline) for headers in clients
    ]
    results, elapsed = _run(_sync_client, args)
    return _merge(results, len(clients), elapsed)

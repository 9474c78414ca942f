"""Who may read `/metrics`, and how the metrics of every worker process are gathered.

Access: loopback and the networks in `METRICS_ALLOWED_CIDRS`, judged by `REMOTE_ADDR` — the peer
address the WSGI server saw. Behind a reverse proxy or load balancer that is the *proxy's*
address, so either scrape the pods directly (the usual Prometheus setup), or block `/metrics` at
the proxy. `X-Forwarded-For` is never trusted here: any client can send it.

Multi-process: under gunicorn every worker is a separate process with its own counters. With
`PROMETHEUS_MULTIPROC_DIR` set (by `posproject/gunicorn.conf.py`) prometheus_client writes each
process's values to files in that directory and the scrape merges them, so whichever worker
answers reports the totals of all of them.
"""

from __future__ import annotations

import ipaddress
import os
from functools import lru_cache

from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

LOOPBACK: tuple[Network, ...] = (
    ipaddress.ip_network("127.0.0.0/8"),
    ipaddress.ip_network("::1/128"),
)


def parse_networks(cidrs: tuple[str, ...] | list[str]) -> tuple[Network, ...]:
    """`["10.0.0.0/8", "192.168.1.7"]` → networks. Raises ValueError on a malformed entry (the
    system check in `monitoring.checks` reports that at start-up)."""
    return tuple(ipaddress.ip_network(c.strip(), strict=False) for c in cidrs if c.strip())


@lru_cache(maxsize=8)
def _allowed(cidrs: tuple[str, ...]) -> tuple[Network, ...]:
    try:
        return LOOPBACK + parse_networks(cidrs)
    except ValueError:
        return LOOPBACK  # misconfigured: fail closed (loopback only); the system check says why


def address_allowed(remote_addr: str | None, cidrs: list[str] | tuple[str, ...]) -> bool:
    if not remote_addr:
        return False
    try:
        address = ipaddress.ip_address(remote_addr.strip())
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in _allowed(tuple(cidrs)))


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def metrics_registry() -> CollectorRegistry:
    """The registry to expose: every process's values merged in multi-process mode, else this
    process's default registry."""
    if multiprocess_dir():
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return registry
    return REGISTRY

"""A real streaming replica for the read-replica tests.

The session's `standby` fixture copies the PostgreSQL server the tests run on
(`pg_basebackup -R` of the primary, after pytest-django has created the test database, so the
copy holds it), starts the copy as a hot standby on a free port (`dbtools.standby`) and points
the `replica` database alias at the standby's copy of the test database. Tests that use it are
`transaction=True`: only committed data reaches a standby.

Under `REQUIRE_SERVICES=1` (CI) a standby that cannot be made fails the tests; elsewhere the
fixture tries just as hard (the embedded PostgreSQL ships `pg_basebackup` too) and skips, with
the reason, only when it cannot.
"""

from __future__ import annotations

import copy
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import psycopg
import pytest
from django.conf import settings
from django.db import connections
from psycopg.conninfo import make_conninfo

from dbtools import standby as standby_tools
from posproject.replica import REPLICA, forget_replica_state


@dataclass
class Standby:
    primary: standby_tools.Primary
    datadir: Path
    port: int
    primary_conninfo: str  # the test database on the primary
    conninfo: str  # the test database on the standby
    start_seconds: float
    replica_config: dict[str, Any]

    def wait_for_replay(self, timeout: float = 30.0) -> float:
        """Until the standby has replayed everything committed so far; the seconds it took."""
        return standby_tools.wait_for_replay(
            primary_url=self.primary_conninfo, standby_url=self.conninfo, timeout=timeout
        )

    def wait_for_receive(self, timeout: float = 30.0) -> None:
        """Until the standby has received (not necessarily replayed) everything committed."""
        with psycopg.connect(self.primary_conninfo, autocommit=True) as conn:
            target = conn.execute("SELECT pg_current_wal_lsn()").fetchone()[0]  # type: ignore[index]
        deadline = time.monotonic() + timeout
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            while not conn.execute(
                "SELECT pg_last_wal_receive_lsn() >= %s::pg_lsn", [target]
            ).fetchone()[0]:  # type: ignore[index]
                assert time.monotonic() < deadline, f"the standby did not receive {target}"
                time.sleep(0.02)

    def execute(self, sql: str) -> object:
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            row = conn.execute(sql).fetchone()
            return row[0] if row else None


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(f"the read-replica tests need a streaming standby: {reason}", pytrace=False)
    pytest.skip(f"no streaming standby: {reason}")


def _conninfo(config: dict[str, Any], **overrides: object) -> str:
    params = {
        "host": config["HOST"] or None,
        "port": config["PORT"] or None,
        "user": config["USER"] or None,
        "password": config["PASSWORD"] or None,
        "dbname": config["NAME"],
    }
    params.update(overrides)
    return make_conninfo(**{k: v for k, v in params.items() if v is not None})


def _start_with_retries(primary: standby_tools.Primary, datadir: Path, attempts: int = 3) -> int:
    """`pg_basebackup` streams the WAL of a busy primary for the whole copy: a checkpoint of a
    server shared with other test runs has been seen to end its temporary slot. Copy again."""
    for attempt in range(1, attempts + 1):
        try:
            return standby_tools.start(primary=primary, datadir=datadir)
        except RuntimeError:
            if attempt == attempts:
                raise
            shutil.rmtree(datadir, ignore_errors=True)
    raise AssertionError("unreachable")


@pytest.fixture(scope="session")
def standby_server(django_db_setup: None) -> Iterator[Standby]:
    """The standby, started once for the session (the `replica` alias is the `standby`
    fixture's, per test: the rest of the suite must not see it)."""
    default = connections["default"].settings_dict  # NAME is the test database by now
    primary_conninfo = _conninfo(default)
    workdir = Path(tempfile.mkdtemp(prefix="pos-standby-"))
    workdir.chmod(0o755)  # the standby's OS user (postgres) must reach its data directory
    datadir = workdir / "data"
    started = time.monotonic()
    try:
        primary = standby_tools.primary_from_url(primary_conninfo)
        # Debian's server: replication from 127.0.0.1 (`make replica-deps` did it in CI).
        if not primary.host.startswith("/") and os.geteuid() == 0:
            standby_tools.allow_replication(primary_conninfo)
        port = _start_with_retries(primary, datadir)
    except Exception as exc:  # noqa: BLE001 - any reason is reported
        shutil.rmtree(workdir, ignore_errors=True)
        _unavailable(f"{type(exc).__name__}: {exc}")
    start_seconds = time.monotonic() - started

    replica_config = copy.deepcopy(connections.settings["default"])
    replica_config.update(HOST="127.0.0.1", PORT=str(port))
    # The test database exists on the standby as the primary's copy: never create or flush it.
    replica_config["TEST"] = {**replica_config.get("TEST", {}), "MIRROR": "default"}
    handle = Standby(
        primary=primary,
        datadir=datadir,
        port=port,
        primary_conninfo=primary_conninfo,
        conninfo=_conninfo(replica_config),
        start_seconds=start_seconds,
        replica_config=replica_config,
    )
    print(f"\nstandby: started in {start_seconds:.1f} s on port {port} ({primary.bin_dir})")
    try:
        yield handle
    finally:
        try:
            standby_tools.stop(datadir=datadir, bin_dir=primary.bin_dir, user=primary.os_user)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)


# The `replica` alias exists only while a test of this directory runs: its tests name it in
# `databases` (checked before any fixture runs, so it is registered here first, pointing nowhere
# until the `standby` fixture fills in the standby's address), and the rest of the suite must not
# see it (`reporting_db()` would send their reports to it).


def _register_alias() -> None:
    config = copy.deepcopy(connections.settings["default"])
    config.update(HOST="127.0.0.1", PORT=str(standby_tools.free_port()))
    config["TEST"] = {**config.get("TEST", {}), "MIRROR": "default"}
    settings.DATABASES[REPLICA] = config
    if connections.settings is not settings.DATABASES:
        connections.settings[REPLICA] = config


def _unregister_alias() -> None:
    if REPLICA in settings.DATABASES:
        connections[REPLICA].close()
        del connections[REPLICA]
    settings.DATABASES.pop(REPLICA, None)
    connections.settings.pop(REPLICA, None)
    forget_replica_state()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    _register_alias()
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    yield
    _unregister_alias()


@pytest.fixture
def standby(standby_server: Standby) -> Standby:
    """The `replica` alias pointed at the session's standby for this test."""
    connections[REPLICA].close()
    connections.settings[REPLICA].update(copy.deepcopy(standby_server.replica_config))
    forget_replica_state()
    return standby_server


@pytest.fixture(autouse=True)
def _fresh_replica_state() -> Iterator[None]:
    """Every test measures the replica itself (the state is cached per process)."""
    forget_replica_state()
    yield
    forget_replica_state()

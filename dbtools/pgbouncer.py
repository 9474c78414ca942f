"""A local PgBouncer in transaction mode in front of the PostgreSQL that DATABASE_URL names.

`python -m dbtools.pgbouncer start|stop|status|version|url` — for `make test-pgbouncer` and the
tests in tests/pgbouncer, not for production (compose.yaml and docs/operations.md, "PgBouncer",
cover that). It runs Debian's `pgbouncer` binary (`make pgbouncer-deps` installs it):

- config, user list, pid file and log live in one run directory (`PGBOUNCER_RUN_DIR`, default
  `<tmp>/pos-pgbouncer-<port>`), removed again by `stop`;
- it listens on 127.0.0.1:`PGBOUNCER_PORT` (16432) only, `pool_mode = transaction`, and sends
  every database name on to the upstream server (`* = host=… port=…`);
- clients log in as one role, `PGBOUNCER_ROLE` (`pos_pooled`), created on the upstream server if
  missing. The statement and lock timeouts are that role's settings (`manage.py
  db_role_settings`), since PgBouncer does not pass libpq's `options` on. The local server trusts
  127.0.0.1, so PgBouncer does too (`auth_type = trust`; the role must still be in the user
  list). The role is a superuser because the test suite creates its database and some tests
  switch triggers off; a production role is the application's ordinary owner role.
- the upstream is a TCP host or a Unix socket directory (the embedded PostgreSQL of `make test`);
- PgBouncer refuses to run as root: as root it runs as the `postgres` OS user, or as the owner
  of the upstream's socket directory (only that user may enter the embedded server's data
  directory).

`start` prints the pooled DATABASE_URL (same database name, the pooled role, PgBouncer's port).
"""

from __future__ import annotations

import argparse
import os
import pwd
import shutil
import signal
import socket
import subprocess  # nosec B404
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

DEFAULT_PORT = 16432
DEFAULT_ROLE = "pos_pooled"
DEFAULT_UPSTREAM = "postgres://postgres@127.0.0.1:5432/pos"
_START_TIMEOUT_S = 10.0
_STOP_TIMEOUT_S = 10.0


class PgBouncerError(RuntimeError):
    """PgBouncer is missing, or did not start or stop."""


@dataclass(frozen=True, slots=True)
class Upstream:
    """Where PgBouncer sends its server connections (parsed from DATABASE_URL)."""

    host: str
    port: int
    user: str
    dbname: str

    @property
    def is_socket(self) -> bool:
        """A Unix socket directory (the embedded server), not a TCP host. PgBouncer reaches both
        (`host=/dir` in its `[databases]`)."""
        return self.host.startswith("/")

    @classmethod
    def from_url(cls, url: str) -> Upstream:
        parts = urlsplit(url)
        if parts.scheme not in ("postgres", "postgresql"):
            raise PgBouncerError(f"DATABASE_URL must be postgres://…, not {parts.scheme}://")
        return cls(
            host=unquote(parts.hostname or "127.0.0.1"),
            port=parts.port or 5432,
            user=unquote(parts.username or "postgres"),
            dbname=unquote(parts.path.lstrip("/")) or "postgres",
        )


@dataclass(frozen=True, slots=True)
class Config:
    upstream: Upstream
    port: int = DEFAULT_PORT
    role: str = DEFAULT_ROLE
    run_dir: Path | None = None
    pool_size: int = 20
    max_client_conn: int = 200

    @classmethod
    def from_env(cls) -> Config:
        port = int(os.environ.get("PGBOUNCER_PORT", DEFAULT_PORT))
        run_dir = os.environ.get("PGBOUNCER_RUN_DIR")
        upstream_url = os.environ.get("PGBOUNCER_UPSTREAM_URL") or os.environ.get(
            "DATABASE_URL", DEFAULT_UPSTREAM
        )
        return cls(
            upstream=Upstream.from_url(upstream_url),
            port=port,
            role=os.environ.get("PGBOUNCER_ROLE", DEFAULT_ROLE),
            run_dir=Path(run_dir) if run_dir else None,
        )

    @property
    def directory(self) -> Path:
        return self.run_dir or Path(tempfile.gettempdir()) / f"pos-pgbouncer-{self.port}"

    @property
    def pidfile(self) -> Path:
        return self.directory / "pgbouncer.pid"

    @property
    def logfile(self) -> Path:
        return self.directory / "pgbouncer.log"

    def url(self, dbname: str | None = None) -> str:
        """The pooled DATABASE_URL for `dbname` (default: the upstream's database)."""
        name = quote(dbname or self.upstream.dbname, safe="")
        return f"postgres://{quote(self.role, safe='')}@127.0.0.1:{self.port}/{name}"

    def ini(self) -> str:
        return "\n".join(
            [
                "[databases]",
                f"* = host={self.upstream.host} port={self.upstream.port}",
                "",
                "[pgbouncer]",
                "listen_addr = 127.0.0.1",
                f"listen_port = {self.port}",
                "unix_socket_dir =",
                "pool_mode = transaction",
                "auth_type = trust",
                f"auth_file = {self.directory / 'userlist.txt'}",
                f"admin_users = {self.role}",
                f"stats_users = {self.role}",
                f"default_pool_size = {self.pool_size}",
                f"max_client_conn = {self.max_client_conn}",
                # Transaction mode never runs a reset query between clients: nothing session-
                # level may be left behind (the app sets none, docs/operations.md).
                "server_reset_query =",
                f"logfile = {self.logfile}",
                f"pidfile = {self.pidfile}",
                "",
            ]
        )

    def userlist(self) -> str:
        return f'"{self.role}" ""\n'


def binary() -> str:
    """The pgbouncer executable (Debian installs it in /usr/sbin, often not on a user's PATH)."""
    found = shutil.which("pgbouncer") or shutil.which("pgbouncer", path="/usr/sbin:/usr/bin")
    if not found:
        raise PgBouncerError("pgbouncer is not installed (`make pgbouncer-deps`, Debian package)")
    return found


def version() -> str:
    out = subprocess.run(  # noqa: S603 # nosec B603
        [binary(), "--version"], capture_output=True, text=True, check=True
    ).stdout
    return out.splitlines()[0].strip() if out else "unknown"


def _pid(config: Config) -> int | None:
    try:
        pid = int(config.pidfile.read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid  # alive, owned by the postgres user
    return pid


def _answers(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def running(config: Config) -> bool:
    return _pid(config) is not None and _answers(config.port)


def _upstream_maintenance(config: Config) -> Any:
    """A direct autocommit connection to the upstream server's `postgres` database (role and
    database maintenance never goes through PgBouncer)."""
    import psycopg

    upstream = config.upstream
    return psycopg.connect(
        host=upstream.host,
        port=upstream.port,
        user=upstream.user,
        dbname="postgres",
        autocommit=True,
        connect_timeout=5,
    )


def ensure_role(config: Config) -> None:
    """Create the pooled role on the upstream server if it is missing (a direct connection)."""
    from psycopg import sql

    with _upstream_maintenance(config) as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [config.role]).fetchone()
        if not exists:
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN SUPERUSER").format(sql.Identifier(config.role))
            )


def _owner(config: Config) -> tuple[int, int] | None:
    """(uid, gid) to run as: None (the current user) unless root. As root: the owner of the
    upstream's socket directory when the upstream is a Unix socket (the embedded server's data
    directory, which only its owner may enter), else the postgres OS user."""
    if os.geteuid() != 0:
        return None
    if config.upstream.is_socket:
        info = os.stat(config.upstream.host)
        if info.st_uid != 0:
            return info.st_uid, info.st_gid
    try:
        entry = pwd.getpwnam("postgres")
    except KeyError as exc:
        raise PgBouncerError("running as root and no `postgres` OS user to run as") from exc
    return entry.pw_uid, entry.pw_gid


def _write_files(config: Config, owner: tuple[int, int] | None) -> Path:
    directory = config.directory
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    ini = directory / "pgbouncer.ini"
    ini.write_text(config.ini())
    (directory / "userlist.txt").write_text(config.userlist())
    if owner is not None:
        for path in (directory, ini, directory / "userlist.txt"):
            os.chown(path, *owner)
    return ini


def _demote(owner: tuple[int, int]) -> None:
    os.setgid(owner[1])
    os.setuid(owner[0])


def start(config: Config) -> str:
    """Start PgBouncer (a no-op when it runs) and return the pooled DATABASE_URL."""
    if running(config):
        ini = config.directory / "pgbouncer.ini"
        if ini.exists() and ini.read_text() != config.ini():
            raise PgBouncerError(
                f"the PgBouncer on 127.0.0.1:{config.port} has another configuration (another "
                "upstream?): stop it first (`python -m dbtools.pgbouncer stop`)"
            )
        return config.url()
    if _answers(config.port):
        raise PgBouncerError(f"127.0.0.1:{config.port} is taken by something else")
    executable = binary()
    ensure_role(config)
    owner = _owner(config)
    ini = _write_files(config, owner)
    result = subprocess.run(  # noqa: S603 # nosec B603
        [executable, "-d", "-q", str(ini)],
        capture_output=True,
        text=True,
        preexec_fn=(lambda: _demote(owner)) if owner else None,
        check=False,
    )
    deadline = time.monotonic() + _START_TIMEOUT_S
    while time.monotonic() < deadline:
        if running(config):
            return config.url()
        time.sleep(0.1)
    log = config.logfile.read_text()[-2000:] if config.logfile.exists() else ""
    raise PgBouncerError(
        f"pgbouncer did not start (exit {result.returncode}): {result.stderr.strip()} {log}"
    )


def stop(config: Config) -> bool:
    """Stop PgBouncer and remove its run directory. False when it was not running."""
    pid = _pid(config)
    if pid is not None:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + _STOP_TIMEOUT_S
        while time.monotonic() < deadline and _pid(config) is not None:
            time.sleep(0.1)
        if _pid(config) is not None:
            raise PgBouncerError(f"pgbouncer (pid {pid}) did not stop")
    shutil.rmtree(config.directory, ignore_errors=True)
    return pid is not None


def drop_database(config: Config, name: str) -> None:
    """Drop `name` on the upstream server, directly (PgBouncer must be stopped: its server
    connections would keep the database busy). For the test database of a pooled run."""
    from psycopg import sql

    with _upstream_maintenance(config) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dbtools.pgbouncer", description=__doc__)
    parser.add_argument("command", choices=["start", "stop", "status", "version", "url"])
    parser.add_argument(
        "--drop-database",
        metavar="NAME",
        help="with stop: then drop this database on the upstream server (a pooled test run's)",
    )
    args = parser.parse_args(argv)
    config = Config.from_env()
    try:
        if args.command == "start":
            print(start(config))
        elif args.command == "stop":
            print("stopped" if stop(config) else "not running", file=sys.stderr)
            if args.drop_database:
                drop_database(config, args.drop_database)
        elif args.command == "version":
            print(version())
        elif args.command == "url":
            print(config.url())
        else:
            up = running(config)
            print(f"running on 127.0.0.1:{config.port}" if up else "stopped")
            return 0 if up else 1
    except PgBouncerError as exc:
        print(f"pgbouncer: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

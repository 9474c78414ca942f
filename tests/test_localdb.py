"""The embedded PostgreSQL of `make run` / `make test` (localdb): starts from nothing, serves a
database on its own socket, is found again by URL, and stops."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

import psycopg
import pytest

import localdb


@pytest.fixture
def workdir() -> Iterator[Path]:
    """A directory of the test's own under the system temp directory, not pytest's `tmp_path`:
    as root the server runs as another OS user, which must enter the directory, and every pytest
    session started as root resets its base temp directory to mode 0700 (so a second session on
    the machine, such as a helper's targeted run, would lock the server out mid-test)."""
    path = Path(tempfile.mkdtemp(prefix="pos-localdb-test-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.slow
def test_starts_serves_restarts_and_stops(workdir: Path) -> None:
    pgdata = workdir / "pgdata"
    assert not localdb.running(pgdata)

    url = localdb.start(pgdata, database="shop")
    try:
        assert localdb.running(pgdata)
        # Its own Unix socket inside the data directory: no TCP port to clash with.
        host = unquote(urlsplit(url).hostname or "")
        assert Path(host) == pgdata.resolve()
        assert (pgdata / ".s.PGSQL.5432").is_socket()
        assert localdb.database_url(pgdata, "shop") == url
        with psycopg.connect(host=host, dbname="shop", user="postgres") as conn:
            assert conn.execute("SELECT current_database()").fetchone() == ("shop",)
            version = conn.execute("SHOW server_version_num").fetchone()
            assert version is not None
            assert int(version[0]) >= 160000
        # A second start while it runs is a no-op that answers the same URL.
        assert localdb.start(pgdata, database="shop") == url
    finally:
        assert localdb.stop(pgdata) is True
    assert not localdb.running(pgdata)
    assert localdb.stop(pgdata) is False

    # The data survive a restart.
    localdb.start(pgdata, database="shop")
    try:
        with psycopg.connect(host=str(pgdata.resolve()), dbname="postgres", user="postgres") as c:
            names = {row[0] for row in c.execute("SELECT datname FROM pg_database")}
        assert "shop" in names
    finally:
        localdb.stop(pgdata)


def test_settings_fall_back_to_the_embedded_server_url() -> None:
    url = localdb.database_url("/srv/pos/.pgdata")
    assert url == "postgres://postgres@%2Fsrv%2Fpos%2F.pgdata:5432/pos"

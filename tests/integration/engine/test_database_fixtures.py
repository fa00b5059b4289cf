"""The real database fixtures: they accept connections and leave nothing behind."""

from __future__ import annotations

import subprocess
from pathlib import Path

import psycopg
import pymysql
import pytest

from syncline.devcluster.databases import DatabaseAccess, MariaDBServer, PostgresServer

pytestmark = pytest.mark.integration


def test_postgres_database_accepts_its_user(pg_db: DatabaseAccess) -> None:
    with psycopg.connect(pg_db.dsn) as conn:
        conn.execute("CREATE TABLE t (id int primary key)")
        conn.execute("INSERT INTO t VALUES (1)")
        row = conn.execute("SELECT current_user, count(*) FROM t GROUP BY 1").fetchone()
    assert row == (pg_db.user, 1)


def test_postgres_rejects_a_wrong_password(pg_db: DatabaseAccess) -> None:
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(pg_db.dsn.replace(pg_db.password, "wrong"))


def test_mariadb_database_accepts_its_user(mariadb_db: DatabaseAccess) -> None:
    conn = pymysql.connect(
        host=mariadb_db.host,
        port=mariadb_db.port,
        user=mariadb_db.user,
        password=mariadb_db.password,
        database=mariadb_db.database,
    )
    with conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE t (id int primary key)")
        cur.execute("INSERT INTO t VALUES (1)")
        cur.execute("SELECT count(*) FROM t")
        assert cur.fetchone() == (1,)


def _processes_using(path: Path) -> str:
    out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True)
    return "\n".join(line for line in out.stdout.splitlines() if str(path) in line)


@pytest.mark.parametrize("server_class", [PostgresServer, MariaDBServer])
def test_servers_stop_cleanly(server_class: type[PostgresServer | MariaDBServer]) -> None:
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="syncline-stop-"))
    try:
        with server_class(base) as server:
            server.create_database("probe", "probe_user", "secret-pw")
            assert _processes_using(base)
        assert _processes_using(base) == ""
        assert list(base.iterdir()) == []
    finally:
        import shutil

        shutil.rmtree(base, ignore_errors=True)

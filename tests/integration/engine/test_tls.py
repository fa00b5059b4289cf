"""TLS on database connections: negotiated where the spec (or the default) requires it,
and a server that does not offer it is a clear 2012, never a silent plain-text session."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from syncline.api.connection import ConnectionSpec
from syncline.devcluster.databases import (
    DatabaseAccess,
    MariaDBServer,
    PostgresServer,
    _Server,
)
from syncline.engine.connectors import open_source
from syncline.engine.connectors.mysql import MySQLConnector
from syncline.engine.connectors.postgres import PostgresConnector
from syncline.errors import SynclineError

pytestmark = pytest.mark.integration


def _spec(kind: str, db: DatabaseAccess, ssl_mode: str | None) -> ConnectionSpec:
    options = {"sslMode": ssl_mode} if ssl_mode else {}
    return ConnectionSpec.model_validate(
        {
            "type": kind,
            "endpoint": {"host": db.host, "port": db.port, "database": db.database},
            "credentials": {"secretRef": {"name": "creds"}},
            "options": options,
        }
    )


def _pg_encrypted(connector: Any) -> bool:
    assert isinstance(connector, PostgresConnector)
    row = connector.conn.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
    return bool(row.fetchone()[0])  # type: ignore[index]


def _mysql_encrypted(connector: Any) -> bool:
    assert isinstance(connector, MySQLConnector)
    with connector.conn.cursor() as cur:
        cur.execute("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
        return bool(cur.fetchone()[1])  # type: ignore[index]


SYSTEMS: dict[str, tuple[type[_Server], Callable[[Any], bool]]] = {
    "postgresql": (PostgresServer, _pg_encrypted),
    "mysql": (MariaDBServer, _mysql_encrypted),
}


@pytest.fixture(params=sorted(SYSTEMS))
def plain_server(request: pytest.FixtureRequest) -> Iterator[tuple[str, DatabaseAccess]]:
    """A server of each kind that offers no TLS at all."""
    kind = request.param
    base = Path(tempfile.mkdtemp(prefix=f"syncline-plain-{kind}-"))
    try:
        with SYSTEMS[kind][0](base, tls=False) as server:
            server.create_database("plain", "plain_user", "plain-password")
            yield kind, server.access("plain", "plain_user", "plain-password")
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.parametrize("kind", sorted(SYSTEMS))
@pytest.mark.parametrize("mode", ["require", "prefer"])
def test_tls_is_negotiated_with_a_server_that_offers_it(
    kind: str, mode: str, request: pytest.FixtureRequest
) -> None:
    db: DatabaseAccess = request.getfixturevalue("pg_db" if kind == "postgresql" else "mariadb_db")
    connector = open_source(_spec(kind, db, mode), db.credentials, timeout_seconds=10)
    try:
        assert SYSTEMS[kind][1](connector) is True
    finally:
        connector.close()


def test_a_server_without_tls_is_refused_when_tls_is_required(
    plain_server: tuple[str, DatabaseAccess],
) -> None:
    kind, db = plain_server
    connector = open_source(_spec(kind, db, "require"), db.credentials, timeout_seconds=10)
    try:
        with pytest.raises(SynclineError) as caught:
            connector.check()
        assert caught.value.code == 2012, caught.value
        assert "sslMode require" in str(caught.value)
        assert db.password not in str(caught.value)
    finally:
        connector.close()
    # On loopback the default is prefer: the same server is usable without saying so.
    loopback = open_source(_spec(kind, db, None), db.credentials, timeout_seconds=10)
    try:
        loopback.check()
        assert SYSTEMS[kind][1](loopback) is False
    finally:
        loopback.close()

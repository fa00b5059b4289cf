"""check_connection / discover_entities, as the operator calls them, against real servers."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncline.api.connection import ConnectionSpec
from syncline.devcluster.databases import DatabaseAccess, free_port
from syncline.engine.catalog import check_connection, discover_entities
from syncline.errors import SynclineError
from tests.integration.engine.harness import Harness, mysql_harness, postgres_harness

pytestmark = pytest.mark.integration


@pytest.fixture(params=["postgresql", "mysql"])
def database(request: pytest.FixtureRequest) -> Harness:
    if request.param == "postgresql":
        return postgres_harness(request.getfixturevalue("pg_db"))
    db: DatabaseAccess = request.getfixturevalue("mariadb_db")
    return mysql_harness(db)


def _code(spec: ConnectionSpec, credentials: dict[str, str], timeout: float = 3) -> SynclineError:
    with pytest.raises(SynclineError) as err:
        check_connection(spec, credentials, timeout_seconds=timeout)
    return err.value


def test_discovery_lists_tables_with_unique_keys(database: Harness) -> None:
    database.execute(
        "CREATE TABLE orders (id int PRIMARY KEY, code varchar(20) NOT NULL, "
        "note text, UNIQUE (code))"
    )
    database.execute("CREATE TABLE items (a int, b int)")
    check_connection(database.spec, database.credentials, timeout_seconds=5)
    entities, total = discover_entities(database.spec, database.credentials, timeout_seconds=5)
    assert total == 2
    orders = next(e for e in entities if e.name == "orders")
    assert [f.name for f in orders.fields] == ["id", "code", "note"]
    assert sorted(orders.unique_keys) == [["code"], ["id"]]
    assert [f.nullable for f in orders.fields] == [False, False, True]
    limited, total = discover_entities(
        database.spec, database.credentials, timeout_seconds=5, limit=1
    )
    assert (len(limited), total) == (1, 2)


def test_wrong_password_is_2001_without_the_password(database: Harness) -> None:
    err = _code(database.spec, {**database.credentials, "password": "hunter2-wrong"})
    assert err.code == 2001
    secret = database.spec.credentials.secret_ref.name if database.spec.credentials else ""
    assert secret in str(err)
    assert "hunter2-wrong" not in str(err)


def test_nothing_listening_is_2000(database: Harness) -> None:
    spec = database.spec.model_copy(deep=True)
    spec.endpoint.port = free_port()
    assert _code(spec, database.credentials).code == 2000


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts TCP connections and never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        for conn in accepted:
            conn.close()
        server.close()


def test_a_server_that_never_answers_is_2003(database: Harness, silent_port: int) -> None:
    spec = database.spec.model_copy(deep=True)
    spec.endpoint.port = silent_port
    assert _code(spec, database.credentials, timeout=1).code == 2003


def test_an_odata_service_that_is_not_there_is_2000() -> None:
    spec = ConnectionSpec.model_validate(
        {"type": "odata", "endpoint": {"url": "http://127.0.0.1:9/odata"}}
    )
    assert _code(spec, {"token": "t"}).code == 2000


def test_files_and_sqlite(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("id,name\n1,x\n")
    (tmp_path / "b.parquet").write_bytes(b"")
    spec = ConnectionSpec.model_validate({"type": "file", "endpoint": {"path": str(tmp_path)}})
    entities, total = discover_entities(spec, {}, timeout_seconds=1, limit=1)
    assert [e.name for e in entities] == ["a"]
    assert total == 2
    missing = ConnectionSpec.model_validate(
        {"type": "sqlite", "endpoint": {"path": str(tmp_path / "nope" / "x.db")}}
    )
    assert _code(missing, {}).code == 2000

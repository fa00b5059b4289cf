"""MySQL and MariaDB: stream with an unbuffered cursor, merge with ON DUPLICATE KEY UPDATE.

MySQL's affected-row count cannot separate updates from unchanged rows reliably, so a
merge first loads the batch into a temporary staging table and compares it with the
target (null-safe ``<=>``) to count new, changed and equal rows, then upserts from the
staging table in one statement. MySQL skips writing rows whose values did not change.
DDL commits implicitly in MySQL, so the state and rejects tables are created before a
transaction begins, never inside one.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from itertools import count
from typing import TYPE_CHECKING, Any

import pymysql
import pymysql.cursors

from syncline.api.connection import ConnectionSpec, Entity
from syncline.api.run import RowError
from syncline.engine.connectors.base import Capabilities, MergeCounts, Sink, Source
from syncline.engine.connectors.common import (
    INTERNAL_TABLES,
    REJECTS_TABLE,
    STATE_TABLE,
    build_entity,
    entity_schema,
    not_found,
    python_values,
    quote_ident,
    range_predicate,
    rows_to_batch,
)
from syncline.engine.connectors.tls import SslMode, ssl_mode
from syncline.engine.partitions import KeyRange
from syncline.errors import SynclineError

# Arrow is imported where it is used: the operator checks and describes connections
# through this module and must not load Arrow for that (tests/unit/test_operator_imports.py).
if TYPE_CHECKING:
    import pyarrow as pa

_SAVEPOINTS = count()
_ACCESS_DENIED = (1044, 1045, 1698)
_TLS_NOT_OFFERED = 2026  # CR_SSL_CONNECTION_ERROR: "SSL is required but the server doesn't ..."


def _tls_params(mode: SslMode) -> dict[str, Any]:
    """PyMySQL's arguments for a PostgreSQL-style sslMode (PyMySQL prefers TLS by default)."""
    if mode == "disable":
        return {"ssl_disabled": True}
    if mode in ("allow", "prefer"):
        return {}
    context = ssl.create_default_context()  # system CAs, hostname checked: verify-full
    if mode != "verify-full":
        context.check_hostname = False
    if mode == "require":
        context.verify_mode = ssl.CERT_NONE  # encrypted, identity unchecked (libpq's require)
    return {"ssl": context}  # a context makes PyMySQL refuse a server without TLS


def _abandon(cur: pymysql.cursors.SSCursor) -> None:
    """Forget a streaming query whose connection was lost. PyMySQL would drain it on
    close and again when it is collected, failing with an AttributeError each time."""
    result = getattr(cur, "_result", None)  # PyMySQL's own state: nothing public says this
    if result is not None:
        result.unbuffered_active = False
    cur.connection = None  # type: ignore[assignment]


def _q(name: str) -> str:
    return quote_ident(name, "`")


def _past(cursor_field: str | None, after: str | None) -> tuple[str, list[Any]]:
    """`` WHERE cursor > %s`` and its parameter, or nothing."""
    if not cursor_field or after is None:
        return "", []
    return f" WHERE {_q(cursor_field)} > %s", [after]


class MySQLConnector(Source, Sink):
    """Source and sink for MySQL / MariaDB (PyMySQL)."""

    capabilities = Capabilities(
        source=True,
        sink=True,
        transactional=True,
        ordered_incremental=True,
        needs_unique_index=True,
    )
    row_rejections = (pymysql.err.DataError, pymysql.err.IntegrityError, pymysql.err.InternalError)

    def __init__(
        self, spec: ConnectionSpec, credentials: Mapping[str, str], *, timeout_seconds: float
    ) -> None:
        ep = spec.endpoint
        self.database = ep.database or ""
        self.endpoint = f"{ep.host}:{ep.port or 3306}/{self.database}"
        self.secret = spec.credentials.secret_ref.name if spec.credentials else "-"
        self.ssl_mode = ssl_mode(spec)
        self._params: dict[str, Any] = {
            "host": ep.host,
            "port": ep.port or 3306,
            "database": self.database,
            "user": credentials.get("username", ""),
            "password": credentials.get("password", ""),
            "connect_timeout": max(1, int(timeout_seconds)),
            "autocommit": True,
            "charset": "utf8mb4",
            "init_command": "SET time_zone = '+00:00'",
            **_tls_params(self.ssl_mode),
        }
        self._timeout = timeout_seconds
        self._conn: pymysql.connections.Connection[Any] | None = None
        self._tables_ready = False

    @property
    def conn(self) -> pymysql.connections.Connection[Any]:
        if self._conn is not None and not self._conn.open:
            self.close()  # it broke (reset, server gone): connect afresh
        if self._conn is None:
            started = time.monotonic()
            try:
                conn = pymysql.connect(**self._params, read_timeout=self._timeout)
            except pymysql.err.OperationalError as err:
                # the server's text names the user: whoever publishes it scrubs it
                raise self._classify(err, time.monotonic() - started) from None
            # The handshake is bounded by the timeout (a silent server is 2003); queries
            # are not: a long merge is not a dead server. PyMySQL re-reads this per read.
            conn._read_timeout = None  # type: ignore[attr-defined]
            self._conn = conn
        return self._conn

    def _classify(self, err: pymysql.err.MySQLError, elapsed: float) -> SynclineError:
        code = err.args[0] if err.args else 0
        if code in _ACCESS_DENIED:
            return SynclineError("AuthenticationFailed", endpoint=self.endpoint, secret=self.secret)
        if code == _TLS_NOT_OFFERED:
            return SynclineError("TlsNotOffered", endpoint=self.endpoint, mode=self.ssl_mode)
        text = str(err.args[1] if len(err.args) > 1 else err)
        if "timed out" in text or elapsed >= self._timeout * 0.9:
            return SynclineError("ConnectionTimeout", endpoint=self.endpoint, seconds=self._timeout)
        detail = text[:200] or "the connection was closed"
        return SynclineError("ConnectionUnreachable", endpoint=self.endpoint, detail=detail)

    def connection_lost(self, err: BaseException) -> SynclineError | None:
        if not isinstance(err, pymysql.err.OperationalError | pymysql.err.InterfaceError):
            return None
        return None if self._alive() else self._classify(err, 0.0)

    def _alive(self) -> bool:
        """Whether the connection still stands. A lost one was rolled back by the server,
        and PyMySQL fails on it with errors that would hide the one that lost it."""
        return self._conn is not None and self._conn.open

    def _query(self, statement: str, params: Sequence[Any] | None = None) -> list[Any]:
        with self.conn.cursor() as cur:
            cur.execute(statement, params)
            return list(cur.fetchall())

    def check(self) -> None:
        self._query("SELECT 1")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- catalog -----------------------------------------------------------------------
    def discover(self, limit: int = 200) -> tuple[list[Entity], int]:
        rows = self._query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
            "ORDER BY table_name",
            (self.database,),
        )
        names = [r[0] for r in rows if r[0] not in INTERNAL_TABLES]
        return [self.describe(n) for n in names[:limit]], len(names)

    def describe(self, entity: str) -> Entity:
        columns = self._query(
            "SELECT column_name, column_type, is_nullable = 'YES' FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
            (self.database, entity),
        )
        if not columns:
            raise not_found(entity, self.endpoint)
        indexes: dict[str, list[str]] = {}
        for index, column in self._query(
            "SELECT index_name, column_name FROM information_schema.statistics "
            "WHERE table_schema = %s AND table_name = %s AND non_unique = 0 "
            "ORDER BY index_name = 'PRIMARY' DESC, index_name, seq_in_index",
            (self.database, entity),
        ):
            indexes.setdefault(index, []).append(column)
        cols = [(c, t, bool(n)) for c, t, n in columns]
        return build_entity(entity, cols, list(indexes.values()))

    def arrow_schema(self, entity: str) -> pa.Schema:
        return entity_schema(self.describe(entity))

    # -- source ------------------------------------------------------------------------
    def read(
        self,
        entity: str,
        *,
        batch_size: int,
        cursor_field: str | None = None,
        after: str | None = None,
    ) -> Iterator[pa.RecordBatch]:
        return self._select(entity, batch_size, cursor_field, after, None)

    def read_range(
        self,
        entity: str,
        key_range: KeyRange,
        *,
        batch_size: int,
        cursor_field: str | None = None,
        after: str | None = None,
    ) -> Iterator[pa.RecordBatch]:
        return self._select(entity, batch_size, cursor_field, after, key_range)

    def key_bounds(self, entity: str, key: str) -> tuple[int | None, int | None]:
        [(low, high)] = self._query(f"SELECT MIN({_q(key)}), MAX({_q(key)}) FROM {_q(entity)}")
        return (None if low is None else int(low)), (None if high is None else int(high))

    def _select(
        self,
        entity: str,
        batch_size: int,
        cursor_field: str | None,
        after: str | None,
        key_range: KeyRange | None,
    ) -> Iterator[pa.RecordBatch]:
        schema = self.arrow_schema(entity)
        query = f"SELECT {', '.join(_q(n) for n in schema.names)} FROM {_q(entity)}"
        where, params = _past(cursor_field, after)
        if key_range is not None:
            condition, bounds = range_predicate(key_range)
            condition = condition.replace("{key}", _q(key_range.key))
            where = f"{where} AND {condition}" if where else f" WHERE {condition}"
            params = [*params, *bounds]
        query += where
        if cursor_field:
            query += f" ORDER BY {_q(cursor_field)}"
        cur = self.conn.cursor(pymysql.cursors.SSCursor)
        try:
            cur.execute(query, params)
            while rows := cur.fetchmany(batch_size):
                yield rows_to_batch(rows, schema)
        finally:
            if not self._alive():
                _abandon(cur)
            cur.close()

    def count(
        self,
        entity: str,
        *,
        cursor_field: str | None = None,
        after: str | None = None,
        at_most: int | None = None,
    ) -> int:
        """One bounded query: the rows past ``at_most`` are never visited."""
        where, params = _past(cursor_field, after)
        query = f"SELECT 1 FROM {_q(entity)}{where}"
        if at_most is not None:
            query += f" LIMIT {int(at_most)}"
        [(found,)] = self._query(f"SELECT COUNT(*) FROM ({query}) AS s", params)
        return int(found)

    # -- sink --------------------------------------------------------------------------
    def row_count(self, entity: str) -> int:
        [(found,)] = self._query(f"SELECT COUNT(*) FROM {_q(entity)}")
        return int(found)

    def _ensure_tables(self) -> None:
        if self._tables_ready or self.dry_run:
            return
        self._query(
            f"CREATE TABLE IF NOT EXISTS {STATE_TABLE} (scope VARCHAR(255) PRIMARY KEY, "
            "watermark TEXT NOT NULL, updated_at TIMESTAMP(6) NOT NULL "
            "DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6))"
        )
        self._query(
            f"CREATE TABLE IF NOT EXISTS {REJECTS_TABLE} (id BIGINT AUTO_INCREMENT PRIMARY KEY, "
            "rejected_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), entity TEXT, "
            "task TEXT, `key` TEXT, field TEXT, code INT, message TEXT)"
        )
        self._tables_ready = True

    def transaction(self) -> AbstractContextManager[None]:
        return self._transaction()

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._ensure_tables()
        self.conn.begin()
        try:
            yield
        except BaseException:
            if self._alive():
                self.conn.rollback()
            raise
        if self.dry_run:
            self.conn.rollback()
        else:
            self.conn.commit()

    @contextmanager
    def _savepoint(self) -> Iterator[None]:
        name = f"sp{next(_SAVEPOINTS)}"
        self._query(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            if self._alive():
                self._query(f"ROLLBACK TO SAVEPOINT {name}")
            raise
        self._query(f"RELEASE SAVEPOINT {name}")

    def savepoint(self) -> AbstractContextManager[None]:
        return self._savepoint()

    def merge(self, entity: str, batch: pa.RecordBatch, keys: Sequence[str]) -> MergeCounts:
        names = batch.schema.names
        cols = ", ".join(_q(n) for n in names)
        stage = _q(f"_syncline_stage_{abs(hash((entity, *names))) % 10**12}")
        self._query(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage} AS SELECT {cols} FROM {_q(entity)} "
            "LIMIT 0"
        )
        self._query(f"DELETE FROM {stage}")
        marks = ", ".join(["%s"] * len(names))
        with self.conn.cursor() as cur:
            cur.executemany(f"INSERT INTO {stage} ({cols}) VALUES ({marks})", python_values(batch))
        on = " AND ".join(f"t.{_q(k)} = s.{_q(k)}" for k in keys)
        rest = [n for n in names if n not in keys]
        same = " AND ".join(f"t.{_q(n)} <=> s.{_q(n)}" for n in rest) or "TRUE"
        [(existing, changed)] = self._query(
            f"SELECT COUNT(*), COALESCE(SUM(NOT ({same})), 0) FROM {stage} s "
            f"JOIN {_q(entity)} t ON {on}"
        )
        updates = ", ".join(f"{_q(n)} = VALUES({_q(n)})" for n in rest or keys[:1])
        self._query(
            f"INSERT INTO {_q(entity)} ({cols}) SELECT {cols} FROM {stage} "
            f"ON DUPLICATE KEY UPDATE {updates}"
        )
        existing, changed = int(existing), int(changed)
        return MergeCounts(batch.num_rows - existing, changed, existing - changed)

    def lookup(
        self, entity: str, keys: Sequence[str], batch: pa.RecordBatch
    ) -> list[dict[str, Any]]:
        names = batch.schema.names
        one = " AND ".join(f"{_q(k)} = %s" for k in keys)
        where = " OR ".join([f"({one})"] * batch.num_rows) or "FALSE"
        params = [batch.column(k)[i].as_py() for i in range(batch.num_rows) for k in keys]
        statement = f"SELECT {', '.join(_q(n) for n in names)} FROM {_q(entity)} WHERE {where}"
        rows = self._query(statement, params)
        return [dict(zip(names, r, strict=True)) for r in rows]

    def quarantine(self, entity: str, rejects: Sequence[RowError]) -> None:
        if not rejects or self.dry_run:
            return
        with self.conn.cursor() as cur:
            cur.executemany(
                f"INSERT INTO {REJECTS_TABLE} (entity, task, `key`, field, code, message) "
                "VALUES (%s, %s, %s, %s, %s, %s)",
                [(entity, r.task, r.key, r.field, r.code, r.message) for r in rejects],
            )

    def load_watermark(self, scope: str) -> str | None:
        """Read-only: without a state table there is no watermark (the first transaction
        creates it), so a run refused before it writes leaves no table behind."""
        try:
            rows = self._query(f"SELECT watermark FROM {STATE_TABLE} WHERE scope = %s", (scope,))
        except pymysql.err.ProgrammingError:  # no state table yet (plan mode creates none)
            return None
        return str(rows[0][0]) if rows else None

    def save_watermark(self, scope: str, value: str) -> None:
        if self.dry_run:
            return
        self._query(
            f"INSERT INTO {STATE_TABLE} (scope, watermark) VALUES (%s, %s) "
            "ON DUPLICATE KEY UPDATE watermark = VALUES(watermark)",
            (scope, value),
        )

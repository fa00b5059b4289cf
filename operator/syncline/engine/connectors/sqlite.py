"""SQLite: source and sink on a database file (endpoint.path), via the standard library.

SQLite has no ``RETURNING`` that tells inserts from updates, so a merge first compares
the batch (in a temp staging table) with the target to count new, changed and equal
rows, then upserts only new and changed ones.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from itertools import count
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
    rows_to_batch,
)
from syncline.errors import SynclineError

# Arrow is imported where it is used: the operator checks and describes connections
# through this module and must not load Arrow for that (tests/unit/test_operator_imports.py).
if TYPE_CHECKING:
    import pyarrow as pa

_SAVEPOINTS = count()


class SqliteConnector(Source, Sink):
    """Source and sink for a SQLite database file."""

    capabilities = Capabilities(
        source=True,
        sink=True,
        transactional=True,
        ordered_incremental=True,
        needs_unique_index=True,
    )

    row_rejections = (sqlite3.IntegrityError, sqlite3.DataError, sqlite3.InterfaceError)

    def __init__(
        self,
        spec: ConnectionSpec,
        credentials: Mapping[str, str],
        *,
        timeout_seconds: float,
    ) -> None:
        self.path = spec.endpoint.path or ""
        self._timeout = timeout_seconds
        self._conn: sqlite3.Connection | None = None

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            if not self.path or not Path(self.path).parent.is_dir():
                raise SynclineError(
                    "ConnectionUnreachable",
                    endpoint=self.path or "(no path)",
                    detail="the directory of the database file does not exist",
                )
            self._conn = sqlite3.connect(
                self.path, timeout=self._timeout, isolation_level=None, check_same_thread=False
            )
        return self._conn

    def check(self) -> None:
        try:
            self.conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.DatabaseError as err:
            raise SynclineError(
                "ConnectionUnreachable", endpoint=self.path, detail=str(err)
            ) from None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- catalog ---------------------------------------------------------------------
    def _names(self) -> list[str]:
        rows = self.conn.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
            "AND name NOT LIKE 'sqlite_%' ORDER BY name"
        ).fetchall()
        return [r[0] for r in rows if r[0] not in INTERNAL_TABLES]

    def discover(self, limit: int = 200) -> tuple[list[Entity], int]:
        names = self._names()
        return [self.describe(n) for n in names[:limit]], len(names)

    def describe(self, entity: str) -> Entity:
        info = self.conn.execute(f"PRAGMA table_info({quote_ident(entity)})").fetchall()
        if not info:
            raise not_found(entity, self.path)
        columns = [(r[1], r[2] or "text", not r[3] and not r[5]) for r in info]
        unique: list[list[str]] = []
        pk = [r[1] for r in sorted(info, key=lambda r: r[5]) if r[5]]
        if pk:
            unique.append(pk)
        for idx in self.conn.execute(f"PRAGMA index_list({quote_ident(entity)})").fetchall():
            if idx[2] and not idx[4]:  # unique, not partial
                cols = self.conn.execute(f"PRAGMA index_info({quote_ident(idx[1])})").fetchall()
                names = [c[2] for c in cols]
                if names != pk:
                    unique.append(names)
        return build_entity(entity, columns, unique)

    def arrow_schema(self, entity: str) -> pa.Schema:
        """SQLite stores dates and decimals as text or numbers: only numbers stay typed."""
        import pyarrow as pa

        fields = []
        for f in entity_schema(self.describe(entity)):
            t = f.type
            if pa.types.is_decimal(t):
                t = pa.float64()
            elif not (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t)):
                t = pa.string()
            fields.append(pa.field(f.name, t, f.nullable))
        return pa.schema(fields)

    # -- source ----------------------------------------------------------------------
    def read(
        self,
        entity: str,
        *,
        batch_size: int,
        cursor_field: str | None = None,
        after: str | None = None,
    ) -> Iterator[pa.RecordBatch]:
        schema = self.arrow_schema(entity)
        cols = ", ".join(quote_ident(n) for n in schema.names)
        query = f"SELECT {cols} FROM {quote_ident(entity)}"
        where, params = _past(schema, cursor_field, after)
        query += where
        if cursor_field:
            query += f" ORDER BY {quote_ident(cursor_field)}"
        cur = self.conn.execute(query, params)
        try:
            while rows := cur.fetchmany(batch_size):
                yield rows_to_batch(rows, schema)
        finally:
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
        import pyarrow as pa

        schema = self.arrow_schema(entity) if after is not None else pa.schema([])
        where, params = _past(schema, cursor_field, after)
        query = f"SELECT 1 FROM {quote_ident(entity)}{where}"
        if at_most is not None:
            query += f" LIMIT {int(at_most)}"
        (found,) = self.conn.execute(f"SELECT count(*) FROM ({query})", params).fetchone()
        return int(found)

    # -- sink ------------------------------------------------------------------------
    def row_count(self, entity: str) -> int:
        (found,) = self.conn.execute(f"SELECT count(*) FROM {quote_ident(entity)}").fetchone()
        return int(found)

    def transaction(self) -> AbstractContextManager[None]:
        if self.dry_run:
            return self._discarded()
        return self._scope(f"sp{next(_SAVEPOINTS)}")

    @contextmanager
    def _discarded(self) -> Iterator[None]:
        """Plan mode: one real ROLLBACK. Releasing the outermost savepoint would commit an
        empty transaction, which still bumps the file's change counter."""
        self.conn.execute("BEGIN")
        try:
            yield
        finally:
            self.conn.execute("ROLLBACK")

    def savepoint(self) -> AbstractContextManager[None]:
        return self._scope(f"sp{next(_SAVEPOINTS)}")

    @contextmanager
    def _scope(self, name: str) -> Iterator[None]:
        """SAVEPOINT outside a transaction begins one, so one mechanism serves both."""
        self.conn.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            self.conn.execute(f"ROLLBACK TO {name}")
            self.conn.execute(f"RELEASE {name}")
            raise
        if self.dry_run:
            self.conn.execute(f"ROLLBACK TO {name}")
        self.conn.execute(f"RELEASE {name}")

    def merge(self, entity: str, batch: pa.RecordBatch, keys: Sequence[str]) -> MergeCounts:
        names = batch.schema.names
        cols = ", ".join(quote_ident(n) for n in names)
        self.conn.execute("DROP TABLE IF EXISTS temp._syncline_stage")
        self.conn.execute(
            f"CREATE TEMP TABLE _syncline_stage AS SELECT {cols} FROM main.{quote_ident(entity)} "
            "WHERE 0"
        )
        marks = ", ".join("?" for _ in names)
        self.conn.executemany(
            f"INSERT INTO temp._syncline_stage ({cols}) VALUES ({marks})",
            python_values(_bindable(batch)),
        )
        on = " AND ".join(f"t.{quote_ident(k)} = s.{quote_ident(k)}" for k in keys)
        rest = [n for n in names if n not in keys]
        differs = " OR ".join(f"t.{quote_ident(n)} IS NOT s.{quote_ident(n)}" for n in rest) or "0"
        existing, changed = self.conn.execute(
            f"SELECT count(*), coalesce(sum({differs}), 0) FROM temp._syncline_stage s "
            f"JOIN main.{quote_ident(entity)} t ON {on}"
        ).fetchone()
        action = "NOTHING"
        if rest:
            sets = ", ".join(f"{quote_ident(n)} = excluded.{quote_ident(n)}" for n in rest)
            distinct = " OR ".join(
                f"{quote_ident(entity)}.{quote_ident(n)} IS NOT excluded.{quote_ident(n)}"
                for n in rest
            )
            action = f"UPDATE SET {sets} WHERE {distinct}"
        self.conn.execute(
            f"INSERT INTO main.{quote_ident(entity)} ({cols}) SELECT {cols} "
            f"FROM temp._syncline_stage WHERE true ON CONFLICT "
            f"({', '.join(quote_ident(k) for k in keys)}) DO {action}"
        )
        inserted = batch.num_rows - int(existing)
        return MergeCounts(inserted, int(changed), int(existing) - int(changed))

    def lookup(
        self, entity: str, keys: Sequence[str], batch: pa.RecordBatch
    ) -> list[dict[str, Any]]:
        names = batch.schema.names
        one = " AND ".join(f"{quote_ident(k)} = ?" for k in keys)
        where = " OR ".join([f"({one})"] * batch.num_rows) or "FALSE"
        params = [batch.column(k)[i].as_py() for i in range(batch.num_rows) for k in keys]
        statement = (
            f"SELECT {', '.join(quote_ident(n) for n in names)} FROM {quote_ident(entity)} "
            f"WHERE {where}"
        )
        rows = self.conn.execute(statement, params).fetchall()
        return [dict(zip(names, r, strict=True)) for r in rows]

    def quarantine(self, entity: str, rejects: Sequence[RowError]) -> None:
        if not rejects or self.dry_run:
            return  # plan mode creates no rejects table, not even one it rolls back
        self.conn.execute(
            f"CREATE TABLE IF NOT EXISTS {REJECTS_TABLE} (id INTEGER PRIMARY KEY, "
            "rejected_at TEXT DEFAULT CURRENT_TIMESTAMP, entity TEXT, task TEXT, key TEXT, "
            "field TEXT, code INTEGER, message TEXT)"
        )
        self.conn.executemany(
            f"INSERT INTO {REJECTS_TABLE} (entity, task, key, field, code, message) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(entity, r.task, r.key, r.field, r.code, r.message) for r in rejects],
        )

    def _ensure_state(self) -> None:
        self.conn.execute(
            f"CREATE TABLE IF NOT EXISTS {STATE_TABLE} (scope TEXT PRIMARY KEY, "
            "watermark TEXT NOT NULL, updated_at TEXT DEFAULT CURRENT_TIMESTAMP)"
        )

    def load_watermark(self, scope: str) -> str | None:
        """Read-only: without a state table there is no watermark (saving creates it), so
        plan mode can read watermarks without creating anything."""
        exists = self.conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (STATE_TABLE,)
        ).fetchone()
        if not exists:
            return None
        row = self.conn.execute(
            f"SELECT watermark FROM {STATE_TABLE} WHERE scope = ?", (scope,)
        ).fetchone()
        return str(row[0]) if row else None

    def save_watermark(self, scope: str, value: str) -> None:
        if self.dry_run:
            return  # plan mode keeps no watermark and creates no state table
        self._ensure_state()
        self.conn.execute(
            f"INSERT INTO {STATE_TABLE} (scope, watermark) VALUES (?, ?) ON CONFLICT (scope) "
            "DO UPDATE SET watermark = excluded.watermark, updated_at = CURRENT_TIMESTAMP",
            (scope, value),
        )


def _past(schema: pa.Schema, cursor_field: str | None, after: str | None) -> tuple[str, list[Any]]:
    """`` WHERE cursor > ?`` and its (typed) parameter, or nothing."""
    if not cursor_field or after is None:
        return "", []
    return f" WHERE {quote_ident(cursor_field)} > ?", [
        _typed(after, schema.field(cursor_field).type)
    ]


def _typed(value: str, arrow: pa.DataType) -> Any:
    """SQLite compares integers and text by storage class: pass the cursor typed."""
    import pyarrow as pa

    if pa.types.is_integer(arrow):
        return int(value)
    if pa.types.is_floating(arrow):
        return float(value)
    return value


def _bindable(batch: pa.RecordBatch) -> pa.RecordBatch:
    """sqlite3 binds neither Decimal nor dates portably: send decimals and times as text."""
    import pyarrow as pa

    arrays = []
    for col in batch.columns:
        t = col.type
        if pa.types.is_decimal(t) or pa.types.is_temporal(t):
            col = col.cast(pa.string())
        arrays.append(col)
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)

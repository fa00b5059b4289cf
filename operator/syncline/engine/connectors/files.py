"""Files: CSV, JSON Lines and Parquet sources; CSV and Parquet sinks.

A connection's endpoint.path is a directory (each file is an entity named by its stem)
or one file. Files cannot be updated in place, so the sink keeps the entity as an
immutable Arrow table, merges batches into it with DuckDB, and publishes it atomically
(write to a temporary file, then rename) on ``close``: a file destination's memory is
bounded by the file's size, not by the batch size. Rejects go to ``<entity>.rejects.jsonl``
and watermarks to ``.syncline_state.json`` beside the data, written after the data.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from syncline.api.connection import ConnectionSpec, Entity, FileFormat
from syncline.api.run import RowError
from syncline.engine.connectors.base import Capabilities, MergeCounts, Sink, Source
from syncline.engine.connectors.common import build_entity, not_found, quote_ident
from syncline.errors import SynclineError

# Arrow and DuckDB are imported where they are used: the operator checks file connections
# through this module and must not load them for that (tests/unit/test_operator_imports.py);
# describing a file needs Arrow (its types are what Arrow infers from the file).
if TYPE_CHECKING:
    import pyarrow as pa

SUFFIXES = {
    ".csv": FileFormat.CSV,
    ".jsonl": FileFormat.JSONL,
    ".ndjson": FileFormat.JSONL,
    ".parquet": FileFormat.PARQUET,
}
STATE_FILE = ".syncline_state.json"
_CSV_BLOCK_BYTES = 4 << 20


class FileConnector(Source, Sink):
    """Source and sink for files in a directory."""

    capabilities = Capabilities(
        source=True,
        sink=True,
        transactional=False,
        ordered_incremental=False,
        needs_unique_index=False,
    )

    @property
    def row_rejections(self) -> tuple[type[BaseException], ...]:
        import duckdb
        import pyarrow as pa

        return (pa.ArrowInvalid, duckdb.ConversionException)

    def __init__(
        self,
        spec: ConnectionSpec,
        credentials: Mapping[str, str],
        *,
        timeout_seconds: float,
    ) -> None:
        self.root = Path(spec.endpoint.path or "")
        self.format = spec.options.format
        self._tables: dict[str, pa.Table] = {}
        self._keys: dict[str, list[str]] = {}
        self._rejects: dict[str, list[RowError]] = {}
        self._state: dict[str, str] = {}
        self._dirty_state = False

    # -- where files are ---------------------------------------------------------------
    @property
    def directory(self) -> Path:
        return self.root if self.root.is_dir() or not self.root.suffix else self.root.parent

    def _files(self) -> dict[str, Path]:
        if self.root.is_file():
            return {self.root.stem: self.root}
        if not self.root.is_dir():
            return {}
        return {
            p.stem: p
            for p in sorted(self.root.iterdir())
            if p.suffix in SUFFIXES and not p.name.endswith(".rejects.jsonl")
        }

    def _path(self, entity: str) -> Path:
        found = self._files().get(entity) or self._files().get(Path(entity).stem)
        if found is None:
            raise not_found(entity, str(self.root))
        return found

    def _format(self, path: Path) -> FileFormat:
        return self.format or SUFFIXES.get(path.suffix, FileFormat.CSV)

    def check(self) -> None:
        if not self.root.exists() and not self.directory.is_dir():
            raise SynclineError(
                "ConnectionUnreachable", endpoint=str(self.root), detail="no such file or directory"
            )

    # -- catalog -------------------------------------------------------------------------
    def discover(self, limit: int = 200) -> tuple[list[Entity], int]:
        names = list(self._files())
        return [self.describe(n) for n in names[:limit]], len(names)

    def describe(self, entity: str) -> Entity:
        schema = self.arrow_schema(entity)
        return build_entity(entity, [(f.name, str(f.type), f.nullable) for f in schema], [])

    def arrow_schema(self, entity: str) -> pa.Schema:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if entity in self._tables:
            return self._tables[entity].schema
        path = self._path(entity)
        fmt = self._format(path)
        if fmt is FileFormat.PARQUET:
            return pq.read_schema(path)
        if path.stat().st_size == 0:
            return pa.schema([])
        with self._open(path, fmt) as reader:
            return reader.schema

    @contextmanager
    def _open(self, path: Path, fmt: FileFormat) -> Iterator[pa.RecordBatchReader]:
        import pyarrow.csv as pacsv
        import pyarrow.json as pajson

        if fmt is FileFormat.CSV:
            reader = pacsv.open_csv(
                path,
                read_options=pacsv.ReadOptions(block_size=_CSV_BLOCK_BYTES),
                convert_options=pacsv.ConvertOptions(
                    strings_can_be_null=True, quoted_strings_can_be_null=False
                ),
            )
        else:
            reader = pajson.open_json(
                path, read_options=pajson.ReadOptions(block_size=_CSV_BLOCK_BYTES)
            )
        try:
            yield reader
        finally:
            reader.close()

    # -- source --------------------------------------------------------------------------
    def read(
        self,
        entity: str,
        *,
        batch_size: int,
        cursor_field: str | None = None,
        after: str | None = None,
    ) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa
        import pyarrow.compute as pc

        path = self._path(entity)
        fmt = self._format(path)
        for batch in self._batches(path, fmt, batch_size):
            if cursor_field and after is not None:
                column = batch.column(cursor_field)
                bound = pa.scalar(after).cast(column.type)
                batch = batch.filter(pc.fill_null(pc.greater(column, bound), False))
            if batch.num_rows:
                yield batch

    def count(
        self,
        entity: str,
        *,
        cursor_field: str | None = None,
        after: str | None = None,
        at_most: int | None = None,
    ) -> int:
        """A Parquet file's footer says how many rows it has; other files are read, up to
        ``at_most`` rows."""
        import pyarrow.parquet as pq

        path = self._path(entity)
        if self._format(path) is FileFormat.PARQUET and (cursor_field is None or after is None):
            found = pq.ParquetFile(path).metadata.num_rows if path.stat().st_size else 0
            return found if at_most is None else min(found, at_most)
        found = 0
        for batch in self.read(entity, batch_size=1 << 16, cursor_field=cursor_field, after=after):
            found += batch.num_rows
            if at_most is not None and found >= at_most:
                return at_most
        return found

    def _batches(self, path: Path, fmt: FileFormat, batch_size: int) -> Iterator[pa.RecordBatch]:
        import pyarrow.parquet as pq

        if path.stat().st_size == 0:
            return  # an empty file has no records (Arrow's readers refuse it)
        if fmt is FileFormat.PARQUET:
            yield from pq.ParquetFile(path).iter_batches(batch_size=batch_size)
            return
        with self._open(path, fmt) as reader:
            for block in reader:
                for offset in range(0, block.num_rows, batch_size):
                    yield block.slice(offset, batch_size)

    # -- sink ----------------------------------------------------------------------------
    def transaction(self) -> AbstractContextManager[None]:
        return self._scope()

    def savepoint(self) -> AbstractContextManager[None]:
        return self._scope()

    @contextmanager
    def _scope(self) -> Iterator[None]:
        """Tables are immutable: a scope rolls back by restoring the previous references."""
        tables, state = dict(self._tables), dict(self._state)
        rejects = {k: list(v) for k, v in self._rejects.items()}
        try:
            yield
        except BaseException:
            self._tables, self._state, self._rejects = tables, state, rejects
            raise

    def _existing(self, entity: str, batch: pa.RecordBatch) -> pa.Table:
        import pyarrow as pa

        if entity not in self._tables:
            try:
                path = self._path(entity)
            except SynclineError:
                self._tables[entity] = batch.schema.empty_table()
            else:
                fmt = self._format(path)
                self._tables[entity] = pa.Table.from_batches(
                    list(self._batches(path, fmt, 1 << 20)), schema=self.arrow_schema(entity)
                )
        return self._tables[entity]

    def merge(self, entity: str, batch: pa.RecordBatch, keys: Sequence[str]) -> MergeCounts:
        import pyarrow as pa

        from syncline.engine.duck import duck_query, sandboxed_connection

        existing = self._existing(entity, batch)
        self._keys[entity] = list(keys)
        count_sql, merge_sql = _merge_sql(existing.schema.names, batch.schema.names, keys)
        con = sandboxed_connection()
        try:
            con.register("e", existing)
            con.register("b", pa.Table.from_batches([batch]))
            [(existing_count, changed)] = con.sql(count_sql).fetchall()
            merged = duck_query(con, merge_sql)
        finally:
            con.close()
        if existing.num_columns:
            merged = merged.select(
                existing.schema.names
                + [n for n in merged.schema.names if n not in existing.schema.names]
            )
        self._tables[entity] = merged
        return MergeCounts(batch.num_rows - existing_count, changed, existing_count - changed)

    def lookup(
        self, entity: str, keys: Sequence[str], batch: pa.RecordBatch
    ) -> list[dict[str, Any]]:
        import pyarrow as pa

        existing = self._existing(entity, batch)
        if not existing.num_rows:
            return []
        wanted = pa.Table.from_batches([batch]).select(list(keys))
        found = existing.join(wanted, list(keys), join_type="inner")
        names = [n for n in batch.schema.names if n in found.schema.names]
        rows: list[dict[str, Any]] = found.select(names).to_pylist()
        return rows

    def row_count(self, entity: str) -> int:
        if entity in self._tables:
            return int(self._tables[entity].num_rows)
        try:
            self._path(entity)
        except SynclineError:
            return 0  # the run would create it
        return self.count(entity)

    def quarantine(self, entity: str, rejects: Sequence[RowError]) -> None:
        self._rejects.setdefault(entity, []).extend(rejects)

    def _state_path(self) -> Path:
        return self.directory / STATE_FILE

    def load_watermark(self, scope: str) -> str | None:
        if scope not in self._state and self._state_path().exists():
            self._state.update(json.loads(self._state_path().read_text()))
        return self._state.get(scope)

    def save_watermark(self, scope: str, value: str) -> None:
        self.load_watermark(scope)
        self._state[scope] = value
        self._dirty_state = True

    def close(self) -> None:
        """Publish merged tables, then rejects, then watermarks (in that order)."""
        if self.dry_run:
            return
        for entity, table in self._tables.items():
            self._publish(entity, table)
        for entity, rejects in self._rejects.items():
            with (self.directory / f"{entity}.rejects.jsonl").open("a") as out:
                for r in rejects:
                    out.write(json.dumps(r.model_dump(mode="json")) + "\n")
        if self._dirty_state:
            _atomic_write(self._state_path(), json.dumps(self._state, indent=1).encode())
        self._tables.clear()
        self._rejects.clear()

    def _publish(self, entity: str, table: pa.Table) -> None:
        import pyarrow.csv as pacsv
        import pyarrow.parquet as pq

        try:
            path = self._path(entity)
        except SynclineError:
            suffix = {FileFormat.PARQUET: ".parquet"}.get(self.format or FileFormat.CSV, ".csv")
            path = self.directory / f"{entity}{suffix}"
        keys = self._keys.get(entity)
        if keys:
            table = table.sort_by([(k, "ascending") for k in keys])
        tmp = path.with_name(f".{path.name}.tmp")
        if self._format(path) is FileFormat.PARQUET:
            pq.write_table(table, tmp)
        elif self._format(path) is FileFormat.CSV:
            pacsv.write_csv(table, tmp)
        else:
            raise SynclineError(
                "UnsupportedConnectionType", type="file", detail=" as a JSON Lines destination"
            )
        os.replace(tmp, path)


def _merge_sql(
    existing: Sequence[str], incoming: Sequence[str], keys: Sequence[str]
) -> tuple[str, str]:
    """DuckDB SQL over tables ``e`` (the file) and ``b`` (the batch): the count of batch
    rows already present and of those that differ, then the merged table.

    Names come from users and from file headers, so every one is quoted: a header such
    as ``a"b`` must name a column, not end the identifier and start SQL.
    """
    q = quote_ident
    using = ", ".join(q(k) for k in keys)
    rest = [n for n in incoming if n not in keys and n in existing]
    differs = " OR ".join(f"e.{q(n)} IS DISTINCT FROM b.{q(n)}" for n in rest) or "false"
    carried = "".join(f", e.{q(n)}" for n in existing if n not in incoming)
    count_sql = f"SELECT count(*), count(*) FILTER (WHERE {differs}) FROM b JOIN e USING ({using})"
    merge_sql = (
        f"SELECT * FROM e ANTI JOIN b USING ({using}) UNION ALL BY NAME "
        f"SELECT b.*{carried} FROM b LEFT JOIN e USING ({using})"
    )
    return count_sql, merge_sql


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)

"""The optional SQL step: the task's query, run once over the task's whole source, in DuckDB.

The query sees every record the task reads as one table, ``source``, so a GROUP BY, a
DISTINCT, a window or an ORDER BY … LIMIT answers over all of it, never per batch. The
source batches stream into DuckDB as they are read and the result streams out in
batches of the task's batch size, so memory stays bounded: a query that has to hold
rows (a hash table, a sort) holds them within ``MEMORY_LIMIT`` and spills the rest to
a private temporary directory, removed when the step closes. A filter or projection
holds only a little read-ahead: its first rows are written while the source is still
being read.

The result's batches stand for no stretch of the source, so the runner commits the
watermark only with the final one and counts what the query removed or added over the
whole task (``engine.runner`` says how).

A query that reads ``source`` more than once (a subquery, a self-join) cannot scan a
stream twice; for those the step first copies the stream into a DuckDB table (which
spills the same way) and runs the query over that.

The source is all the query sees: DuckDB runs sandboxed (``duck.sandboxed_connection``),
so reading or writing files, attaching databases, loading extensions or changing
settings fail as 2206 QueryInvalid. The one path DuckDB still allows a sandboxed
connection is its spill directory (no path climbing out of it): a query could read or
write files there, but it holds nothing but the query's own rows.
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from collections.abc import Generator, Iterable, Iterator
from pathlib import Path

import pyarrow as pa

from syncline.errors import SynclineError

# DuckDB is imported where it is first used, not here: the operator validates every
# project through this module, most have no SQL step, and importing DuckDB costs a
# process about 27 MiB (measured for issue 14's operator-at-scale target).

MEMORY_LIMIT = "256MB"
"""DuckDB's working memory for one SQL step; past it, DuckDB spills to disk.

A run pod has 1Gi by default, shared with the source and sink drivers and with the
Arrow batches in flight (50,000 rows each by default). A quarter leaves room for those,
and DuckDB's larger-than-memory operators (aggregation, sort, join, DISTINCT) work in
far less. Without a limit DuckDB would aim for 80 % of the machine's memory, not the
pod's, and the kernel would kill the pod (2408) before DuckDB ever spilled."""

STREAM = "__syncline_source_stream"
"""Name the stream is registered under when it is copied into the table ``source``."""


class SqlStep:
    """One sandboxed DuckDB connection per task, with its own spill directory."""

    def __init__(self, task: str, query: str, *, memory_limit: str = MEMORY_LIMIT) -> None:
        self.task = task
        self.query = query
        # in a run pod the system temp dir is /tmp, its only writable path
        from syncline.engine.duck import sandboxed_connection

        self.spill_directory = Path(tempfile.mkdtemp(prefix="syncline-sql-"))
        try:
            self._con = sandboxed_connection(
                memory_limit=memory_limit, temp_directory=str(self.spill_directory)
            )
        except BaseException:
            shutil.rmtree(self.spill_directory, ignore_errors=True)
            raise
        self._rereads: bool | None = None
        """Whether the query reads ``source`` more than once (known once planned)."""
        self._results: weakref.WeakSet[Generator[pa.RecordBatch]] = weakref.WeakSet()

    def settings(self) -> dict[str, str]:
        """The connection's memory limit and spill directory, as DuckDB reports them."""
        from syncline.engine.duck import duck_query

        row = duck_query(
            self._con,
            "SELECT current_setting('memory_limit') AS m, current_setting('temp_directory') AS t",
        ).to_pylist()[0]
        return {"memory_limit": str(row["m"]), "temp_directory": str(row["t"]).rstrip("/")}

    def output_schema(self, source: pa.Schema) -> pa.Schema:
        """The query's output columns over a source of this schema (no data needed).

        Planned over an empty stream, as the run will see it; a query that fails there
        but not over an empty table reads ``source`` more than once (a stream can be
        scanned once), so its runs copy the stream into a table first.
        """
        try:
            with self._registered(_stream(source, iter(())), table=False):
                schema = self._schema()
            self._rereads = False
        except SynclineError:
            with self._registered(source.empty_table(), table=False):
                schema = self._schema()
            self._rereads = True
        return schema

    def run(
        self, source: pa.Schema, batches: Iterable[pa.RecordBatch], rows_per_batch: int
    ) -> Iterator[pa.RecordBatch]:
        """The query's result over every batch of ``batches`` (read lazily, once), in
        batches of at most about ``rows_per_batch`` rows; at least one, maybe empty.

        Batches are cast to ``source`` (the planned schema) when they differ. An error
        raised while reading ``batches`` (the source failed, a row limit) is raised as
        itself, not as QueryInvalid. A result not read to its end is closed by ``close``.
        """
        result = self._run(source, batches, rows_per_batch)
        self._results.add(result)
        return result

    def _run(
        self, source: pa.Schema, batches: Iterable[pa.RecordBatch], rows_per_batch: int
    ) -> Generator[pa.RecordBatch]:
        if self._rereads is None:
            self.output_schema(source)
        feed = _Feed(batches, source)
        try:
            with self._registered(_stream(source, feed.batches()), table=bool(self._rereads)):
                reader = self._reader(rows_per_batch)
                try:
                    empty = True
                    while (batch := self._next(reader)) is not None:
                        if batch.num_rows:
                            empty = False
                            yield batch
                    if empty:
                        yield pa.RecordBatch.from_pylist([], schema=reader.schema)
                finally:
                    reader.close()
        except SynclineError:
            if feed.error is not None:
                raise feed.error from None
            raise
        finally:
            feed.close()

    def close(self) -> None:
        """Close DuckDB and remove the spill directory (idempotent)."""
        for result in list(self._results):
            result.close()  # unregisters its source and stops the source's reading
        self._con.close()
        shutil.rmtree(self.spill_directory, ignore_errors=True)

    # -- internals ---------------------------------------------------------------------
    def _registered(self, data: pa.Table | pa.RecordBatchReader, *, table: bool) -> _Source:
        return _Source(self, data, table=table)

    def _schema(self) -> pa.Schema:
        reader = self._reader(1)
        reader.close()
        return reader.schema

    def _reader(self, rows_per_batch: int) -> pa.RecordBatchReader:
        import duckdb

        from syncline.engine.duck import duck_reader

        try:
            return duck_reader(self._con, self.query, rows_per_batch)
        except duckdb.Error as err:
            raise self._invalid(err) from None

    def _next(self, reader: pa.RecordBatchReader) -> pa.RecordBatch | None:
        """The result's next batch, None at its end; a failure mid-way (DuckDB's, or the
        source's as DuckDB reports it) as QueryInvalid, sorted out by ``run``."""
        import duckdb

        try:
            return reader.read_next_batch()
        except StopIteration:
            return None
        except (duckdb.Error, pa.ArrowException, OSError) as err:
            raise self._invalid(err) from None

    def _invalid(self, err: BaseException) -> SynclineError:
        return SynclineError("QueryInvalid", task=self.task, detail=_detail(err))


class _Source:
    """``source`` registered on the connection for one query: the stream itself, or a
    table copied from it; removed afterwards whatever happens."""

    def __init__(
        self, step: SqlStep, data: pa.Table | pa.RecordBatchReader, *, table: bool
    ) -> None:
        self.step, self.data, self.table = step, data, table

    def __enter__(self) -> None:
        import duckdb

        con = self.step._con
        if not self.table:
            con.register("source", self.data)
            return
        con.register(STREAM, self.data)
        try:
            con.execute(f"CREATE TEMP TABLE source AS SELECT * FROM {STREAM}")
        except duckdb.Error as err:
            con.unregister(STREAM)
            raise self.step._invalid(err) from None

    def __exit__(self, *exc: object) -> None:
        con = self.step._con
        if self.table:
            con.execute("DROP TABLE IF EXISTS temp.source")
            con.unregister(STREAM)
        else:
            con.unregister("source")


class _Feed:
    """The source batches as DuckDB pulls them: cast to the planned schema, and any
    error kept, because DuckDB reports it only as a failed read of its own."""

    def __init__(self, batches: Iterable[pa.RecordBatch], schema: pa.Schema) -> None:
        self._batches = iter(batches)
        self._schema = schema
        self.error: Exception | None = None

    def batches(self) -> Iterator[pa.RecordBatch]:
        try:
            for batch in self._batches:
                yield batch if batch.schema.equals(self._schema) else batch.cast(self._schema)
        except Exception as err:
            self.error = err
            raise

    def close(self) -> None:
        """Stop the source (a query may finish before reading all of it, e.g. LIMIT)."""
        close = getattr(self._batches, "close", None)
        if close is not None:
            close()


def _stream(schema: pa.Schema, batches: Iterator[pa.RecordBatch]) -> pa.RecordBatchReader:
    return pa.RecordBatchReader.from_batches(schema, batches)


def _detail(err: BaseException) -> str:
    """DuckDB's first line; a sandbox refusal also says what the query may read."""
    import duckdb

    detail = str(err).splitlines()[0][:300] if str(err) else type(err).__name__
    if isinstance(err, duckdb.PermissionException) or "Permission Error" in detail:
        detail = f"the query may only read the source (table source): {detail}"
    return detail

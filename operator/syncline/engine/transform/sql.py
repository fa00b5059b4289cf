"""The optional SQL step: the task's query over each source batch, in-process on DuckDB.

The batch is visible as table ``source``. It runs per batch, so it filters, derives
and reshapes rows; a DISTINCT or GROUP BY sees one batch at a time. The batch is all it
sees: DuckDB runs sandboxed (``duck.sandboxed_connection``), so reading or writing files,
attaching databases, loading extensions or changing settings fail as 2206 QueryInvalid.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from syncline.engine.duck import duck_query, sandboxed_connection
from syncline.errors import SynclineError


class SqlStep:
    """One DuckDB connection per task, reused for every batch."""

    def __init__(self, task: str, query: str) -> None:
        self.task = task
        self.query = query
        self._con = sandboxed_connection()

    def apply(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """The query's result over this batch, as one batch."""
        table = self._run(pa.Table.from_batches([batch]))
        return table.combine_chunks().to_batches()[0] if table.num_rows else _empty(table.schema)

    def output_schema(self, source: pa.Schema) -> pa.Schema:
        """The query's output columns over a source of this schema (no data needed)."""
        return self._run(source.empty_table()).schema

    def _run(self, source: pa.Table) -> pa.Table:
        self._con.register("source", source)
        try:
            return duck_query(self._con, self.query)
        except duckdb.Error as err:
            raise SynclineError("QueryInvalid", task=self.task, detail=_detail(err)) from None
        finally:
            self._con.unregister("source")

    def close(self) -> None:
        self._con.close()


def _detail(err: duckdb.Error) -> str:
    """DuckDB's first line; a sandbox refusal also says what the query may read."""
    detail = str(err).splitlines()[0][:300]
    if isinstance(err, duckdb.PermissionException):
        detail = f"the query may only read the batch (table source): {detail}"
    return detail


def _empty(schema: pa.Schema) -> pa.RecordBatch:
    return pa.RecordBatch.from_pylist([], schema=schema)

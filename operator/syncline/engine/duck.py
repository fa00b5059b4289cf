"""DuckDB helpers shared by the SQL step and the file sink."""

from __future__ import annotations

import duckdb
import pyarrow as pa


def duck_query(con: duckdb.DuckDBPyConnection, query: str) -> pa.Table:
    """A DuckDB query's result as an Arrow table (the method name changed across releases)."""
    relation = con.sql(query)
    for name in ("to_arrow_table", "fetch_arrow_table", "arrow"):
        method = getattr(relation, name, None)
        if method is not None:
            table = method()
            return table if isinstance(table, pa.Table) else table.read_all()
    raise RuntimeError("this DuckDB cannot return Arrow tables")

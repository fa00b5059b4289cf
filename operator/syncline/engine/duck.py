"""DuckDB helpers shared by the SQL step and the file sink."""

from __future__ import annotations

import duckdb
import pyarrow as pa

SANDBOX: dict[str, str | bool | int] = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "threads": 1,
    "lock_configuration": True,
}
"""Settings fixed when a connection opens. External access off means no file, network,
extension or attached database, and no Python replacement scans: a query sees only the
Arrow tables registered on it. The lock makes a ``SET`` in the query fail, so the query
cannot switch any of it back on. One thread: the engine parallelises by task, not here."""


def sandboxed_connection() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that can read what is registered on it and nothing else.

    The SQL step runs the user's query here; a pod's files (its service-account token
    above all) must stay out of reach of a query someone typed into a task. The file
    sink merges here too, so SQL built from file headers can reach nothing else either.
    """
    return duckdb.connect(":memory:", config=dict(SANDBOX))


def duck_query(con: duckdb.DuckDBPyConnection, query: str) -> pa.Table:
    """A DuckDB query's result as an Arrow table (the method name changed across releases)."""
    relation = con.sql(query)
    for name in ("to_arrow_table", "fetch_arrow_table", "arrow"):
        method = getattr(relation, name, None)
        if method is not None:
            table = method()
            return table if isinstance(table, pa.Table) else table.read_all()
    raise RuntimeError("this DuckDB cannot return Arrow tables")

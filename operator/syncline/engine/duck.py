"""DuckDB helpers shared by the SQL step and the file sink."""

from __future__ import annotations

import duckdb
import pyarrow as pa

SANDBOX: dict[str, str | bool | int] = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "threads": 1,
}
"""Settings fixed when a connection opens. External access off means no file, network,
extension or attached database, and no Python replacement scans: a query sees only the
Arrow tables registered on it. ``lock_configuration``, always given last, makes a ``SET``
in the query fail, so the query cannot switch any of it back on. One thread: the engine
parallelises by task, not here."""


def sandboxed_connection(**settings: str) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that can read what is registered on it and nothing else.

    The SQL step runs the user's query here; a pod's files (its service-account token
    above all) must stay out of reach of a query someone typed into a task. The file
    sink merges here too, so SQL built from file headers can reach nothing else either.
    ``settings`` (e.g. ``memory_limit``, ``temp_directory``) are fixed with the sandbox:
    once the connection is open the lock keeps them. DuckDB lets a connection with
    external access off use its ``temp_directory`` (and only that directory, no path
    leading out of it), which is how it spills to disk.
    """
    # DuckDB applies the options in this order and refuses a temp_directory given before
    # enable_external_access (2.0): sandbox first, then the settings, the lock last.
    config: dict[str, str | bool | int | float | list[str]]
    config = {**SANDBOX, **settings, "lock_configuration": True}
    return duckdb.connect(":memory:", config=config)


def duck_query(con: duckdb.DuckDBPyConnection, query: str) -> pa.Table:
    """A DuckDB query's result as an Arrow table (the method name changed across releases)."""
    relation = con.sql(query)
    for name in ("to_arrow_table", "fetch_arrow_table", "arrow"):
        method = getattr(relation, name, None)
        if method is not None:
            table = method()
            return table if isinstance(table, pa.Table) else table.read_all()
    raise RuntimeError("this DuckDB cannot return Arrow tables")


def duck_reader(
    con: duckdb.DuckDBPyConnection, query: str, rows_per_batch: int
) -> pa.RecordBatchReader:
    """A DuckDB query's result streamed as Arrow batches of about ``rows_per_batch`` rows.

    DuckDB produces the next batch when it is read, so only what the query must hold
    (a hash table, a sort) is held, and that spills past the memory limit.
    """
    relation = con.sql(query)
    for name in ("to_arrow_reader", "fetch_record_batch"):
        method = getattr(relation, name, None)
        if method is not None:
            reader = method(rows_per_batch)
            assert isinstance(reader, pa.RecordBatchReader)
            return reader
    raise RuntimeError("this DuckDB cannot stream Arrow batches")

"""The PostgreSQL fast path of issue 14 on a real server: the libpq-level COPY reader
and the merge's ordered pass over a dense key range.

The reader must hand over exactly the bytes psycopg's own ``Copy`` would, in large
chunks, and leave the connection usable when a read stops early or the statement fails
half-way. The range probe must count and skip exactly as the per-key lookup does.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pyarrow as pa
import pytest
from psycopg import sql

from syncline.devcluster.databases import DatabaseAccess
from syncline.engine.connectors.base import MergeCounts
from syncline.engine.connectors.pg_copy_out import CHUNK_BYTES, copy_out
from syncline.engine.connectors.postgres import PostgresConnector, dense_range
from tests.integration.engine.harness import postgres_harness

pytestmark = pytest.mark.integration

ROWS = "COPY (SELECT i, repeat('x', i % 50), i * 0.5 FROM generate_series(1, {n}) i) TO STDOUT"


@pytest.fixture
def conn(pg_db: DatabaseAccess) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(pg_db.dsn, autocommit=True) as c:
        yield c


def _psycopg_copy(conn: psycopg.Connection[Any], statement: str) -> bytes:
    with conn.cursor() as cur, cur.copy(statement) as copy:
        return b"".join(bytes(chunk) for chunk in copy)


def test_the_reader_returns_what_psycopg_returns_in_large_chunks(
    conn: psycopg.Connection[Any],
) -> None:
    statement = ROWS.format(n=200_000)
    with conn.transaction():
        chunks = list(copy_out(conn, sql.SQL(statement)))
    assert b"".join(chunks) == _psycopg_copy(conn, statement)
    assert len(chunks) < 200_000 / 100  # rows joined, not one chunk per row
    assert max(len(c) for c in chunks) <= CHUNK_BYTES + 100
    assert all(c.endswith(b"\n") for c in chunks)  # whole rows only
    assert conn.execute("SELECT 1").fetchone() == (1,)


class _LeftError(Exception):
    """The run leaving mid-read (a guardrail, a failed write)."""


def _read_one_chunk_then_leave(conn: psycopg.Connection[Any], seen: list[bytes]) -> None:
    with conn.transaction():
        chunks = copy_out(conn, sql.SQL(ROWS.format(n=5_000_000)))
        seen.append(next(chunks))
        chunks.close()
        raise _LeftError


def test_stopping_early_cancels_and_leaves_the_connection_usable(
    conn: psycopg.Connection[Any],
) -> None:
    seen: list[bytes] = []
    with pytest.raises(_LeftError):
        _read_one_chunk_then_leave(conn, seen)
    assert seen[0].startswith(b"1\t")
    assert conn.execute("SELECT 3").fetchone() == (3,)


def test_a_statement_failing_half_way_raises_its_own_error(
    conn: psycopg.Connection[Any],
) -> None:
    failing = "COPY (SELECT 1 / (i - 150000) FROM generate_series(1, 200000) i) TO STDOUT"
    read: list[bytes] = []
    with pytest.raises(psycopg.errors.DivisionByZero), conn.transaction():
        read.extend(copy_out(conn, sql.SQL(failing)))
    assert read  # rows before the failure came through
    assert conn.execute("SELECT 4").fetchone() == (4,)


def _sink(access: DatabaseAccess) -> PostgresConnector:
    harness = postgres_harness(access)
    return PostgresConnector(harness.spec, harness.credentials, timeout_seconds=5)


def _batch(ids: list[int], suffix: str = "") -> pa.RecordBatch:
    return pa.record_batch(
        {"id": pa.array(ids, pa.int64()), "v": pa.array([f"v{i}{suffix}" for i in ids])}
    )


def test_dense_and_sparse_batches_merge_with_the_same_counts(
    pg_db: DatabaseAccess, conn: psycopg.Connection[Any]
) -> None:
    conn.execute("CREATE TABLE target (id bigint PRIMARY KEY, v text)")
    conn.execute("INSERT INTO target SELECT i, 'v' || i FROM generate_series(1, 3000) i")
    conn.execute("DELETE FROM target WHERE id BETWEEN 2101 AND 2110")  # new keys in range
    sparse = _batch([7, 700, 2999, 5000])
    assert dense_range(_batch(list(range(1001, 1101))), ["id"]) == (1001, 1100)
    assert dense_range(sparse, ["id"]) is None
    in_range = _batch(list(range(2001, 2101)))
    in_range = in_range.set_column(
        1, "v", pa.array([*in_range.column("v").to_pylist()[:95], *["changed"] * 5])
    )
    in_range = pa.concat_batches([in_range, _batch([2101, 2102])])
    assert dense_range(in_range, ["id"]) is not None
    before = dict(conn.execute("SELECT id, xmin::text FROM target").fetchall())
    sink = _sink(pg_db)
    try:
        with sink.transaction():
            ranged = sink.merge("target", in_range, ["id"])
            looked_up = sink.merge("target", sparse, ["id"])
    finally:
        sink.close()
    assert ranged == MergeCounts(inserted=2, updated=5, unchanged=95)
    assert looked_up == MergeCounts(inserted=1, unchanged=3)
    after = dict(conn.execute("SELECT id, xmin::text FROM target").fetchall())
    rewritten = {i for i in before if after[i] != before[i]}
    assert rewritten == set(range(2096, 2101))  # unchanged rows were not even locked
    assert conn.execute("SELECT v FROM target WHERE id = 2100").fetchone() == ("changed",)

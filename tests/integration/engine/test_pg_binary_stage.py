"""The PostgreSQL sink's binary COPY stage load: what it writes is what CSV wrote.

Every type ``pg_binary`` encodes, with NULLs, empty strings, text CSV would quote,
negative numerics, timestamps before PostgreSQL's epoch; a type it does not encode
falls back to CSV; a refused value is still bisected out to one row; and a merge into
a destination that started empty (no anti-join probe) still counts exactly.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from syncline.devcluster.databases import DatabaseAccess
from syncline.engine.connectors import pg_binary
from syncline.engine.connectors.base import MergeCounts
from syncline.engine.connectors.postgres import PostgresConnector
from syncline.engine.writer import BatchWrite, write_batch
from tests.integration.engine.harness import postgres_harness

pytestmark = pytest.mark.integration

COLUMNS = (
    "id bigint PRIMARY KEY, i4 integer, i2 smallint, f8 double precision, ok boolean, "
    "day date, at timestamp, at_tz timestamptz, amount numeric(12,2), tiny numeric(4,4), "
    'big numeric(15,0), "Name ""q""" text, short varchar(5)'
)
TYPES = [
    "bigint", "integer", "smallint", "double precision", "boolean", "date",
    "timestamp without time zone", "timestamp with time zone", "numeric(12,2)",
    "numeric(4,4)", "numeric(15,0)", "text", "character varying",
]  # fmt: skip
HOSTILE = ["", 'say "hi", ok', "line\nbreak\ttab\\slash", "ünïcødé ✓", "a,b;c|d"]


def _batch(n: int) -> pa.RecordBatch:
    """``n`` rows where every third value is NULL and the rest vary in sign and size."""

    def nulls(values: list[Any]) -> list[Any]:
        return [None if i % 3 == 2 else v for i, v in enumerate(values)]

    ids = list(range(1, n + 1))
    return pa.record_batch(
        {
            "id": pa.array(ids, pa.int64()),
            "i4": pa.array(nulls([(-1) ** i * (2**31 - 1 - i) for i in ids]), pa.int64()),
            "i2": pa.array(nulls([(-1) ** i * (32767 - i) for i in ids]), pa.int64()),
            "f8": pa.array(nulls([i / 7 - 3 for i in ids]), pa.float64()),
            "ok": pa.array(nulls([i % 2 == 0 for i in ids]), pa.bool_()),
            "day": pa.array(nulls([date(1970 + i % 90, 1 + i % 12, 1) for i in ids]), pa.date32()),
            "at": pa.array(
                nulls([datetime(1960 + i % 80, 2, 3, 4, 5, 6, i) for i in ids]), pa.timestamp("us")
            ),
            "at_tz": pa.array(
                nulls([datetime(1999, 12, 31, 23, 59, 59, i, tzinfo=UTC) for i in ids]),
                pa.timestamp("us", "UTC"),
            ),
            "amount": pa.array(
                nulls([Decimal((-1) ** i * i * 123457) / 100 for i in ids]), pa.decimal128(12, 2)
            ),
            "tiny": pa.array(
                nulls([Decimal(-i % 10000) / 10000 for i in ids]), pa.decimal128(4, 4)
            ),
            "big": pa.array(
                nulls([Decimal((-1) ** i * (10**15 - 1 - i)) for i in ids]), pa.decimal128(15, 0)
            ),
            'Name "q"': pa.array(nulls([HOSTILE[i % len(HOSTILE)] for i in ids]), pa.string()),
            "short": pa.array(nulls([str(i)[:5] for i in ids]), pa.string()),
        }
    )


def _rows(conn: psycopg.Connection[Any], table: str) -> list[tuple[Any, ...]]:
    return conn.execute(f'SELECT * FROM "{table}" ORDER BY id').fetchall()


@pytest.fixture
def conn(pg_db: DatabaseAccess) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(pg_db.dsn, autocommit=True, options="-c TimeZone=UTC") as c:
        yield c


def test_binary_copy_writes_what_csv_writes(conn: psycopg.Connection[Any]) -> None:
    batch = _batch(500)
    for table in ("by_binary", "by_csv"):
        conn.execute(f"CREATE TABLE {table} ({COLUMNS})")
    pieces = pg_binary.encode(batch, TYPES)
    assert pieces is not None
    with conn.cursor().copy("COPY by_binary FROM STDIN (FORMAT binary)") as cp:
        for piece in pieces:
            cp.write(piece)
    with conn.cursor().copy("COPY by_csv FROM STDIN (FORMAT csv)") as cp:
        sink = pa.BufferOutputStream()
        pacsv.write_csv(batch, sink, pacsv.WriteOptions(include_header=False))
        cp.write(sink.getvalue().to_pybytes())
    written = _rows(conn, "by_binary")
    assert len(written) == 500
    assert written == _rows(conn, "by_csv")
    assert [list(r) for r in written] == [list(r.values()) for r in batch.to_pylist()]


def test_columns_binary_cannot_carry_fall_back_to_csv() -> None:
    batch = _batch(3)
    assert pg_binary.encode(batch, [*TYPES[:-1], "json"]) is None
    assert pg_binary.encode(batch, ["integer", *TYPES[1:]]) is not None
    too_big = batch.set_column(1, "i4", pa.array([2**31, 1, None], pa.int64()))
    assert pg_binary.encode(too_big, TYPES) is None  # the server words the overflow


def _sink(access: DatabaseAccess) -> PostgresConnector:
    harness = postgres_harness(access)
    return PostgresConnector(harness.spec, harness.credentials, timeout_seconds=5)


def test_refused_value_is_bisected_out_over_binary(
    pg_db: DatabaseAccess, conn: psycopg.Connection[Any]
) -> None:
    conn.execute(f"CREATE TABLE target ({COLUMNS})")
    batch = _batch(40)
    short = batch.column("short").to_pylist()
    short[17] = "far too long"
    batch = batch.set_column(12, "short", pa.array(short, pa.string()))
    sink = _sink(pg_db)
    try:
        counts, rejects = write_batch(sink, BatchWrite("t", "target", ["id"], batch, []))
    finally:
        sink.close()
    assert counts == MergeCounts(inserted=39)
    assert [(r.key, r.code) for r in rejects] == [("id=18", 2303)]


def test_merge_into_an_empty_destination_counts_exactly(
    pg_db: DatabaseAccess, conn: psycopg.Connection[Any]
) -> None:
    conn.execute(f"CREATE TABLE target ({COLUMNS})")
    first, again = _batch(30), _batch(30)
    changed = again.set_column(3, "f8", pa.array([99.5] * 10 + [None] * 20, pa.float64()))
    sink = _sink(pg_db)
    try:
        with sink.transaction():
            assert sink.merge("target", first, ["id"]) == MergeCounts(inserted=30)
            assert sink.merge("target", again, ["id"]) == MergeCounts(unchanged=30)
            counts = sink.merge("target", changed.slice(0, 20), ["id"])
    finally:
        sink.close()
    nulls_before = sum(1 for v in first.column("f8").to_pylist()[10:20] if v is None)
    assert counts == MergeCounts(updated=20 - nulls_before, unchanged=nulls_before)
    assert _rows(conn, "target")[0][3] == 99.5

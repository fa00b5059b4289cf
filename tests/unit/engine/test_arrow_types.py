"""Catalog type names give the Arrow schema each connector reads (so the operator can
plan a SQL step from a catalog alone, exactly as the run will)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from syncline.api.connection import ConnectionSpec, ConnectionType, Entity, EntityField
from syncline.engine.arrow_types import catalog_schema, parse_arrow_type
from syncline.engine.connectors import open_source

ARROW_TYPES = [
    pa.int64(),
    pa.uint16(),
    pa.float32(),
    pa.bool_(),
    pa.string(),
    pa.large_string(),
    pa.binary(4),
    pa.date32(),
    pa.time64("us"),
    pa.timestamp("ms"),
    pa.timestamp("us", "Europe/Kyiv"),
    pa.duration("s"),
    pa.decimal128(12, 3),
    pa.decimal256(50, 0),
    pa.list_(pa.int32()),
    pa.large_list(pa.field("item", pa.string(), nullable=False)),
    pa.list_(pa.float64(), 3),
    pa.struct([("city", pa.string()), ("geo", pa.struct([("lat", pa.float64())]))]),
    pa.map_(pa.string(), pa.list_(pa.int64())),
    pa.map_(pa.int32(), pa.string(), keys_sorted=True),
    pa.dictionary(pa.int32(), pa.string()),
]


@pytest.mark.parametrize("arrow", ARROW_TYPES, ids=str)
def test_a_printed_arrow_type_reads_back_as_itself(arrow: pa.DataType) -> None:
    assert parse_arrow_type(str(arrow)) == arrow


def test_an_unknown_type_name_travels_as_text_like_the_database_types() -> None:
    assert parse_arrow_type("geometry") == pa.string()
    entity = Entity(name="t", fields=[EntityField(name="g", type="USER-DEFINED")])
    assert catalog_schema(entity, ConnectionType.POSTGRESQL).field("g").type == pa.string()


def _schemas(spec: ConnectionSpec, entity: str) -> tuple[pa.Schema, pa.Schema]:
    """(derived from the catalog, what the connector reads)."""
    source = open_source(spec, {}, timeout_seconds=5)
    try:
        return catalog_schema(source.describe(entity), spec.type), source.arrow_schema(entity)
    finally:
        source.close()


def test_sqlite_catalog_types_give_the_schema_sqlite_reads(tmp_path: Path) -> None:
    declared = "INTEGER, REAL, NUMERIC(10,2), DECIMAL(50,2), BOOLEAN, DATE, DATETIME, TEXT, BLOB, x"
    columns = ", ".join(f'"c{i}" {t}' for i, t in enumerate(declared.split(", ")))
    with sqlite3.connect(tmp_path / "t.db") as db:
        db.execute(f"CREATE TABLE t ({columns}, untyped)")
    spec = ConnectionSpec.model_validate(
        {"type": "sqlite", "endpoint": {"path": str(tmp_path / "t.db")}}
    )
    derived, read = _schemas(spec, "t")
    assert derived == read


def test_file_catalog_types_give_the_schema_the_file_is_read_with(tmp_path: Path) -> None:
    schema = pa.schema([pa.field(f"c{i}", t) for i, t in enumerate(ARROW_TYPES)])
    pq.write_table(schema.empty_table(), tmp_path / "t.parquet")
    spec = ConnectionSpec.model_validate({"type": "file", "endpoint": {"path": str(tmp_path)}})
    derived, read = _schemas(spec, "t")
    assert derived == read

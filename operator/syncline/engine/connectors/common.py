"""Helpers shared by the SQL connectors: rows to Arrow, type names to Arrow types."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from syncline.api.connection import Entity, EntityField
from syncline.engine.partitions import KeyRange
from syncline.errors import SynclineError

# Arrow is imported where it is used: the operator describes entities through the SQL
# connectors and must not load Arrow for that (tests/unit/test_operator_imports.py).
if TYPE_CHECKING:
    import pyarrow as pa

STATE_TABLE = "_syncline_state"
REJECTS_TABLE = "_syncline_rejects"
INTERNAL_TABLES = frozenset({STATE_TABLE, REJECTS_TABLE})

_INT = re.compile(r"\b(smallint|integer|bigint|int\d?|tinyint|mediumint|serial|bigserial)\b")
_FLOAT = re.compile(r"\b(real|double|float\d?)\b")
_DECIMAL = re.compile(r"\b(?:numeric|decimal)\s*\(\s*(\d+)\s*(?:,\s*(\d+))?\s*\)")


def arrow_type(sql_type: str) -> pa.DataType:
    """The Arrow type a column of this SQL type travels as (text when unsure)."""
    import pyarrow as pa

    t = sql_type.lower()
    if t in ("tinyint(1)", "boolean", "bool"):
        return pa.bool_()
    if decimal := _DECIMAL.search(t):
        precision, scale = int(decimal.group(1)), int(decimal.group(2) or 0)
        return pa.decimal128(precision, scale) if precision <= 38 else pa.string()
    if _INT.search(t):
        return pa.int64()
    if _FLOAT.search(t):
        return pa.float64()
    if t == "date":
        return pa.date32()
    if t.startswith("timestamp") and "with time zone" in t and "without" not in t:
        return pa.timestamp("us", "UTC")
    if t.startswith(("timestamp", "datetime")):
        return pa.timestamp("us")
    return pa.string()


def rows_to_batch(rows: Sequence[Sequence[Any]], schema: pa.Schema) -> pa.RecordBatch:
    """A record batch from DB-API rows (column-wise conversion, typed by the catalog)."""
    import pyarrow as pa

    if not rows:
        return pa.RecordBatch.from_pylist([], schema=schema)
    columns = list(zip(*rows, strict=True))
    arrays = [_column(list(col), field.type) for col, field in zip(columns, schema, strict=True)]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _column(values: list[Any], arrow: pa.DataType) -> pa.Array:
    """Values as an Arrow array; drivers' near-misses (0/1 for booleans, objects for
    text) are converted instead of failing the read."""
    import pyarrow as pa

    try:
        return pa.array(values, type=arrow)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        if pa.types.is_boolean(arrow):
            return pa.array([None if v is None else bool(v) for v in values], type=arrow)
        if pa.types.is_string(arrow):
            return pa.array([None if v is None else str(v) for v in values], type=arrow)
        raise


def entity_schema(entity: Entity) -> pa.Schema:
    """The Arrow schema of an entity from its catalog field types."""
    import pyarrow as pa

    return pa.schema([pa.field(f.name, arrow_type(f.type), f.nullable) for f in entity.fields])


def build_entity(
    name: str, columns: Sequence[tuple[str, str, bool]], unique: Sequence[Sequence[str]]
) -> Entity:
    """An api Entity from (column, type, nullable) triples and unique column sets."""
    return Entity(
        name=name,
        fields=[EntityField(name=c, type=t, nullable=n) for c, t, n in columns],
        unique_keys=[list(u) for u in unique][:20],
    )


def not_found(entity: str, connection: str) -> SynclineError:
    return SynclineError("EntityNotFound", entity=entity, connection=connection)


def python_values(batch: pa.RecordBatch) -> list[tuple[Any, ...]]:
    """Rows as tuples of Python values (for drivers without a bulk Arrow path)."""
    columns = [col.to_pylist() for col in batch.columns]
    return list(zip(*columns, strict=True)) if columns else []


def quote_ident(name: str, quote: str = '"') -> str:
    """An identifier quoted for SQL (doubling embedded quotes)."""
    return quote + name.replace(quote, quote * 2) + quote


def range_predicate(key_range: KeyRange) -> tuple[str, list[int]]:
    """The SQL condition of one pod's key range over a column written ``{key}`` (the
    caller puts the quoted name in), with ``%s`` parameters: the same rows as
    ``KeyRange.mask``, a null key in the first range."""
    parts: list[str] = []
    params: list[int] = []
    if key_range.low is not None:
        parts.append("{key} >= %s")
        params.append(key_range.low)
    if key_range.high is not None:
        below = "{key} < %s"
        parts.append(below if key_range.low is not None else f"({below} OR {{key}} IS NULL)")
        params.append(key_range.high)
    return " AND ".join(parts) or "TRUE", params

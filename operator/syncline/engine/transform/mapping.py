"""Field mappings: build destination columns from source fields or constants.

Rows with a problem (a value that does not convert, an unmapped value, an empty key)
leave the batch as rejects (a public row error without values, and the stored form with
them: ``syncline.engine.rejects``); the rest continue to the sink.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from syncline.api.task import Task
from syncline.engine.rejects import Reject
from syncline.engine.transform.functions import Context, apply_transform
from syncline.engine.transform.problems import Problems, RowProblem, note
from syncline.errors import SynclineError


@dataclass(frozen=True)
class MappingContext:
    """What stays the same for every batch of a task."""

    task: Task
    keys: Sequence[str]
    destination_fields: frozenset[str] | None
    """Fields of the destination entity; None when the sink creates it."""
    org_units: Mapping[str, str] | None
    source_alias: str
    destination_alias: str


def map_batch(batch: pa.RecordBatch, mc: MappingContext) -> tuple[pa.RecordBatch, list[Reject]]:
    """The destination-shaped batch of good rows, and a reject per failed row."""
    problems: Problems = {}
    if mc.task.mappings:
        columns = {
            m.destination: _mapped_column(batch, m_index, mc, problems)
            for m_index, m in enumerate(mc.task.mappings)
        }
    else:
        columns = {
            name: batch.column(name)
            for name in batch.schema.names
            if mc.destination_fields is None or name in mc.destination_fields
        }
    out = pa.RecordBatch.from_arrays(list(columns.values()), names=list(columns))
    for key in mc.keys:
        if key in columns:
            for i in pc.indices_nonzero(pc.is_null(columns[key])).to_pylist():
                message = SynclineError("NullKey", field=key).message
                note(problems, i, RowProblem(2302, key, message))
    if not problems:
        return out, []
    errors = [_row_error(out, i, p, mc) for i, p in sorted(problems.items())]
    keep = pa.array([i not in problems for i in range(out.num_rows)])
    return out.filter(keep), errors


def _mapped_column(
    batch: pa.RecordBatch, index: int, mc: MappingContext, problems: Problems
) -> pa.Array:
    m = mc.task.mappings[index]
    if m.source is not None:
        arr = batch.column(m.source)
    else:
        arr = pa.array([m.constant] * batch.num_rows, pa.string())
    ctx = Context(
        m.destination, batch, problems, mc.org_units, mc.source_alias, mc.destination_alias
    )
    for transform in m.transforms:
        arr = apply_transform(arr, transform, ctx)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr


def _row_error(out: pa.RecordBatch, i: int, p: RowProblem, mc: MappingContext) -> Reject:
    return Reject(
        task=mc.task.name,
        key=key_text(out, i, mc.keys),
        field=p.field,
        code=p.code,
        message=p.message,
        stored_message=p.stored_message or p.message,
    )


def key_text(batch: pa.RecordBatch, i: int, keys: Sequence[str]) -> str:
    """The integration key of row ``i`` as text, e.g. ``id=42`` or ``a=1,b=x``."""
    parts = []
    for key in keys:
        value = batch.column(key)[i].as_py() if key in batch.schema.names else None
        parts.append(f"{key}={value}")
    return ",".join(parts)


def dedupe_last_wins(batch: pa.RecordBatch, keys: Sequence[str]) -> tuple[pa.RecordBatch, int]:
    """Keep the last record of each key (a later record is the newer one); count the rest."""
    if batch.num_rows < 2:
        return batch, 0
    table = pa.Table.from_batches([batch]).append_column(
        "__syncline_row", pa.array(range(batch.num_rows), pa.int64())
    )
    last = table.group_by(list(keys), use_threads=False).aggregate([("__syncline_row", "max")])
    if last.num_rows == batch.num_rows:
        return batch, 0
    keep = pc.sort_indices(last.column("__syncline_row_max").combine_chunks())
    rows = pc.take(last.column("__syncline_row_max").combine_chunks(), keep)
    return batch.take(rows), batch.num_rows - last.num_rows

"""Writing one batch: merge, quarantine and watermark in one destination transaction.

When the destination rejects a batch (a value too long, a NOT NULL column left empty),
the batch is bisected inside savepoints until the offending rows are isolated; they
become row errors (2303) and every other row is still written.

The destination's complaint often quotes the row's values. The rejects store keeps it
as the driver wrote it (first line); the public row error keeps its words with the
row's values and every other quoted literal taken out (``syncline.redaction``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa

from syncline.engine.connectors.base import MergeCounts, Sink
from syncline.engine.rejects import Reject
from syncline.engine.transform.mapping import key_text
from syncline.errors import SynclineError
from syncline.redaction import without_values

MAX_DETAIL_CHARS = 300


@dataclass(frozen=True)
class BatchWrite:
    """Everything one transaction commits."""

    task: str
    entity: str
    keys: Sequence[str]
    batch: pa.RecordBatch
    rejects: list[Reject]
    watermark: tuple[str, str] | None = None


def write_batch(sink: Sink, job: BatchWrite) -> tuple[MergeCounts, list[Reject]]:
    """Commit the batch (good rows merged, bad rows quarantined with their values,
    watermark advanced); the rejects come back for the report (which shows them without)."""
    with sink.transaction():
        counts, rejected = _merge_resilient(sink, job, job.batch)
        rejects = job.rejects + rejected
        sink.quarantine(job.entity, [r.to_store() for r in rejects])
        if job.watermark is not None:
            sink.save_watermark(*job.watermark)
    return counts, rejects


def _merge_resilient(
    sink: Sink, job: BatchWrite, batch: pa.RecordBatch
) -> tuple[MergeCounts, list[Reject]]:
    if batch.num_rows == 0:
        return MergeCounts(), []
    try:
        with sink.savepoint():
            return sink.merge(job.entity, batch, job.keys), []
    except sink.row_rejections as err:
        if batch.num_rows == 1:
            return MergeCounts(), [rejection(job, batch, err)]
    half = batch.num_rows // 2
    counts, rejects = _merge_resilient(sink, job, batch.slice(0, half))
    more_counts, more_rejects = _merge_resilient(sink, job, batch.slice(half))
    counts += more_counts
    return counts, rejects + more_rejects


def rejection(job: BatchWrite, row: pa.RecordBatch, err: BaseException) -> Reject:
    """The 2303 reject for the one-row batch ``row`` the destination refused with ``err``."""
    stored = _first_line(str(err)) or type(err).__name__
    said = _driver_message(err)
    values = [row.column(name)[0].as_py() for name in row.schema.names if name not in job.keys]
    identifiers = {*row.schema.names, job.entity}
    public = without_values(said, values, identifiers=identifiers) or type(err).__name__
    return Reject(
        task=job.task,
        key=key_text(row, 0, job.keys),
        field=None,
        code=2303,
        message=SynclineError("RowRejected", detail=public[:MAX_DETAIL_CHARS]).message,
        stored_message=SynclineError("RowRejected", detail=stored[:MAX_DETAIL_CHARS]).message,
    )


def _driver_message(err: BaseException) -> str:
    """The driver's own words: PyMySQL's ``(errno, "text")`` args give the text alone."""
    args = err.args
    if len(args) == 2 and isinstance(args[0], int) and isinstance(args[1], str):
        return _first_line(args[1])
    return _first_line(str(err))


def _first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0].strip() if lines else ""

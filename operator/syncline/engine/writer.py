"""Writing one batch: merge, quarantine and watermark in one destination transaction.

When the destination rejects a batch (a value too long, a NOT NULL column left empty),
the batch is bisected inside savepoints until the offending rows are isolated; they
become row errors (2303) and every other row is still written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa

from syncline.api.run import RowError
from syncline.engine.connectors.base import MergeCounts, Sink
from syncline.engine.transform.mapping import key_text
from syncline.errors import SynclineError


@dataclass(frozen=True)
class BatchWrite:
    """Everything one transaction commits."""

    task: str
    entity: str
    keys: Sequence[str]
    batch: pa.RecordBatch
    rejects: list[RowError]
    watermark: tuple[str, str] | None = None


def write_batch(sink: Sink, job: BatchWrite) -> tuple[MergeCounts, list[RowError]]:
    """Commit the batch (good rows merged, bad rows quarantined, watermark advanced)."""
    with sink.transaction():
        counts, rejected = _merge_resilient(sink, job, job.batch)
        rejects = job.rejects + rejected
        sink.quarantine(job.entity, rejects)
        if job.watermark is not None:
            sink.save_watermark(*job.watermark)
    return counts, rejects


def _merge_resilient(
    sink: Sink, job: BatchWrite, batch: pa.RecordBatch
) -> tuple[MergeCounts, list[RowError]]:
    if batch.num_rows == 0:
        return MergeCounts(), []
    try:
        with sink.savepoint():
            return sink.merge(job.entity, batch, job.keys), []
    except sink.row_rejections as err:
        if batch.num_rows == 1:
            return MergeCounts(), [_rejected(job, batch, err)]
    half = batch.num_rows // 2
    counts, rejects = _merge_resilient(sink, job, batch.slice(0, half))
    more_counts, more_rejects = _merge_resilient(sink, job, batch.slice(half))
    counts += more_counts
    return counts, rejects + more_rejects


def _rejected(job: BatchWrite, row: pa.RecordBatch, err: BaseException) -> RowError:
    detail = (str(err).strip().splitlines() or [type(err).__name__])[0][:300]
    return RowError(
        task=job.task,
        key=key_text(row, 0, job.keys),
        code=2303,
        message=SynclineError("RowRejected", detail=detail).message,
    )

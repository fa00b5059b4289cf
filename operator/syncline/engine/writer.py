"""Writing one batch: merge, quarantine and watermark in one destination transaction.

When the destination rejects a batch (a value too long, a NOT NULL column left empty),
the batch is bisected inside savepoints until the offending rows are isolated; they
become row errors (2303) and every other row is still written.

The destination's complaint often quotes the row's values. The rejects store keeps it
as the driver wrote it (first line); the public row error keeps its words with the
row's values and every other quoted literal taken out (``syncline.redaction``).

When the connection to the destination breaks (a reset, a server restart, an idle
connection dropped by a firewall), the transaction did not commit, so the batch is sent
again on a new connection, a few times with a pause, then the run fails with 2000 (2003
for a timeout) naming the destination. Re-sending is safe because the merge is an
idempotent upsert and the watermark commits with it. If the connection broke just after
the server committed, the batch's rows count as unchanged the second time and its
rejects are stored twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa

from syncline.engine.connectors.base import MergeCounts, PartiallyWritten, Sink
from syncline.engine.rejects import Reject
from syncline.engine.transform.mapping import key_text
from syncline.errors import SynclineError
from syncline.redaction import without_values

MAX_DETAIL_CHARS = 300
RETRY_PAUSES_SECONDS = (0.5, 2.0)
"""The pause before each new attempt at a batch whose connection broke."""
RECONNECTABLE = frozenset({2000, 2003})
"""Codes of a destination that could not be reached (again): worth another attempt."""

log = logging.getLogger("syncline.engine")


@dataclass(frozen=True)
class BatchWrite:
    """Everything one transaction commits."""

    task: str
    entity: str
    keys: Sequence[str]
    batch: pa.RecordBatch
    rejects: list[Reject]
    watermark: tuple[str, str] | None = None
    reached: str | None = None
    """The watermark the batch reaches: reported even where it is not committed (one
    pod of a split task commits none)."""


def write_batch(sink: Sink, job: BatchWrite) -> tuple[MergeCounts, list[Reject]]:
    """Commit the batch (good rows merged, bad rows quarantined with their values,
    watermark advanced); the rejects come back for the report (which shows them without).

    A batch whose connection broke is sent again (see the module's docstring)."""
    pauses = iter(RETRY_PAUSES_SECONDS)
    while True:
        try:
            return _commit(sink, job)
        except Exception as err:
            lost = _lost_connection(sink, err)
            if lost is None:
                raise
            pause = next(pauses, None)
            if pause is None:
                raise lost from None
            log.warning(
                "connection lost; sending the batch again",
                extra={"task": job.task, "code": lost.code, "error": str(lost), "pause": pause},
            )
            time.sleep(pause)


def _lost_connection(sink: Sink, err: Exception) -> SynclineError | None:
    """The connection error ``err`` amounts to, or None when it is about something else
    (a failure to connect again is a SynclineError already)."""
    if isinstance(err, SynclineError):
        return err if err.code in RECONNECTABLE else None
    return sink.connection_lost(err)


def _commit(sink: Sink, job: BatchWrite) -> tuple[MergeCounts, list[Reject]]:
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
    except PartiallyWritten as partial:  # no rollback: the sink names the refused rows
        return partial.counts, [_refused(job, batch, *row) for row in partial.refused]
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


def _refused(
    job: BatchWrite, batch: pa.RecordBatch, index: int, code: int, message: str, stored: str
) -> Reject:
    """The reject of row ``index`` a non-transactional sink refused (``PartiallyWritten``)."""
    return Reject(
        task=job.task,
        key=key_text(batch, index, job.keys),
        field=None,
        code=code,
        message=message,
        stored_message=stored,
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

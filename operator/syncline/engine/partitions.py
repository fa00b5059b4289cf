"""One task over several pods: the key ranges, each pod's share, and the sum of them.

A task with ``scaleOut`` runs in an Indexed Job. Its pods split the task by ranges of an
integer key; the split points are computed once per run (from the key's smallest and
largest value, evenly) and kept in the run's status by whichever pod gets there first,
so every pod and every retry of a pod reads the same range, and the ranges cover every
key exactly once: the first range is open below, the last open above, so keys written
after the split was made are read too.

Each pod commits its range batch by batch without moving the task's watermark (its
range is only part of the rows past it), and records its outcome in the run. The pod
that records the last outcome sums them into the run's result and, when every range is
committed, moves the watermark to the smallest of theirs: everything at or below it has
been read by the pod whose range holds it. A run that ends with a range missing leaves
the watermark where it was; the next run reads on from there (upserts are idempotent).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from syncline.api.run import MAX_ROW_ERROR_SAMPLES, PartitionResult, RowError, RunResult

# Arrow is imported where it is used: the operator reaches this module (KeyRange, through
# the connectors) and must not load Arrow (tests/unit/test_operator_imports.py).
if TYPE_CHECKING:
    import pyarrow as pa

RESULT_ORDER = (RunResult.COMPLETED, RunResult.WARNING, RunResult.ERROR)


def split_points(low: int | None, high: int | None, pods: int) -> list[int]:
    """``pods - 1`` increasing split points dividing [low, high] into even ranges.

    An empty source (no low or high) splits at 0: the first and last pods share whatever
    arrives, and the pods between read nothing.
    """
    if low is None or high is None:
        return [0] * (pods - 1)
    width = high - low + 1
    return [low + (width * i) // pods for i in range(1, pods)]


@dataclass(frozen=True, slots=True)
class KeyRange:
    """Keys ``low <= key < high``; a missing bound is open."""

    key: str
    low: int | None
    high: int | None

    @classmethod
    def of(cls, key: str, bounds: Sequence[int], index: int) -> KeyRange:
        """The ``index``-th range of ``bounds`` (see ``split_points``)."""
        if not 0 <= index <= len(bounds):
            raise ValueError(f"range {index} of {len(bounds) + 1} does not exist")
        low = bounds[index - 1] if index > 0 else None
        high = bounds[index] if index < len(bounds) else None
        return cls(key, low, high)

    def mask(self, batch: pa.RecordBatch) -> pa.Array:
        """Which rows of ``batch`` fall in the range (a null key falls in the first)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        values = batch.column(self.key)
        keep = pa.array([True] * batch.num_rows, pa.bool_())
        if self.low is not None:
            keep = pc.and_(keep, pc.fill_null(pc.greater_equal(values, self.low), False))
        if self.high is not None:
            below = pc.fill_null(pc.less(values, self.high), self.low is None)
            keep = pc.and_(keep, below)
        return keep

    def filter(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        """Only the rows in the range (for sources that cannot filter themselves)."""
        for batch in batches:
            kept = batch.filter(self.mask(batch))
            if kept.num_rows:
                yield kept


def worst(results: Sequence[RunResult]) -> RunResult:
    """The run's result from its pods': any Error, else any Warning, else Completed."""
    return max(results, key=RESULT_ORDER.index, default=RunResult.COMPLETED)


def combined_watermark(done: Sequence[PartitionResult], pods: int) -> str | None:
    """The watermark the task may commit once every range is: the smallest of the
    ranges' own (a range that read nothing does not hold it back); None while a range
    is missing or failed, or when no range read anything."""
    if len(done) < pods or any(p.result is RunResult.ERROR for p in done):
        return None
    marks = [p.watermark for p in done if p.watermark is not None]
    return min(marks, key=_cursor_order) if marks else None


def _cursor_order(text: str) -> tuple[int, Decimal, str]:
    """Watermarks are stored as text (``watermark.as_text``): numbers compare as numbers
    (exactly, also beyond 2**53), dates and times as their ISO text (which sorts
    chronologically in one format)."""
    try:
        return (0, Decimal(text), "")
    except InvalidOperation:
        return (1, Decimal(0), text)


def sampled_row_errors(done: Sequence[PartitionResult]) -> list[RowError]:
    """The run's sample of row errors, a fair share from each range."""
    ordered = sorted(done, key=lambda p: p.index)
    errors = [e for p in ordered for e in p.row_errors]
    return errors[:MAX_ROW_ERROR_SAMPLES]

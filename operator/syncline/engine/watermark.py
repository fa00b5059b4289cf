"""Which watermark a batch may commit, so a crash can never skip records.

Incremental reads come ordered by the cursor. The last cursor value of a batch may
continue into the next batch, so a batch commits the largest value *below* its last
one; only the final batch commits its last value. A resumed run then re-reads at most
the records sharing one cursor value, and upserts make re-reading harmless.

With a SQL step the result's batches do not follow the source, so the runner keeps
the mark of the last source batch the query read and commits it with the final result
batch only (``engine.runner``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc


def as_text(value: Any) -> str:
    """A cursor value as stored in the state table and compared by the source."""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


class WatermarkTracker:
    """Follows the cursor column through the batches of one task."""

    def __init__(self, field: str, *, ordered: bool, start: str | None) -> None:
        self.field = field
        self.ordered = ordered
        self.committed = start
        self._max: Any = None

    def observe(self, batch: pa.RecordBatch, *, last: bool) -> str | None:
        """The watermark to commit with this batch, or None to keep the current one."""
        column = batch.column(self.field)
        high = pc.max(column).as_py() if batch.num_rows else None
        if high is not None and (self._max is None or high > self._max):
            self._max = high
        if last:
            mark = self._max
        elif not self.ordered or high is None:
            return None
        else:
            mark = pc.max(pc.filter(column, pc.less(column, pa.scalar(high, column.type))))
            mark = mark.as_py()
        if mark is None:
            return None
        self.committed = as_text(mark)
        return self.committed

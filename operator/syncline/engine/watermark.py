"""Which watermark a batch may commit, so that no change is ever skipped.

Incremental reads come ordered by the cursor and take records whose cursor is past the
committed watermark. A committed mark always lies below the largest cursor value read:

- by at least one value, so the next run reads again the records sharing the largest
  one. The last value of a batch may continue into the next batch, and a record given
  that value after the read (same timestamp, same counter) would otherwise be skipped
  for good.
- for a date-time cursor, by ``LOOKBACK`` too. A change stamped with a clock before it
  commits (``updated_at = now()`` is when the transaction began) can commit after a run
  read past its stamp; the next run reads the last minutes again and picks it up. Such a
  change is lost only if it took longer than ``LOOKBACK`` to commit.

Re-reading is harmless: upserts are idempotent and unchanged rows are not rewritten.
A mark never moves back past the watermark the run started from.

With a SQL step the result's batches do not follow the source, so the runner keeps
the mark of the last source batch the query read and commits it with the final result
batch only (``engine.runner``).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

LOOKBACK = timedelta(minutes=5)
"""How late a change to a date-time cursor may commit after its stamp and still be read."""


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
        self._start = start
        self._floor: Any = None
        self._max: Any = None
        self._below: Any = None
        """The largest value read that is below ``_max``."""

    def observe(self, batch: pa.RecordBatch, *, last: bool) -> str | None:
        """The watermark to commit with this batch, or None to keep the current one.

        Unordered sources commit with their final batch only."""
        column = batch.column(self.field)
        self._follow(column)
        if not (last or self.ordered):
            return None
        mark = self._mark()
        if mark is None:
            return None
        self.committed = as_text(mark)
        return self.committed

    def _follow(self, column: pa.Array | pa.ChunkedArray) -> None:
        """Keep the largest value read and the largest one below it."""
        high = pc.max(column).as_py()
        if high is None:
            return
        if self._floor is None and self._start is not None and pa.types.is_timestamp(column.type):
            self._floor = pa.scalar(self._start).cast(column.type).as_py()
        top = high if self._max is None or high > self._max else self._max
        under = pc.max(pc.filter(column, pc.less(column, pa.scalar(top, column.type)))).as_py()
        earlier = self._max if self._max is not None and self._max < top else None
        known = [v for v in (self._below, earlier, under) if v is not None]
        self._below = max(known, default=None)
        self._max = top

    def _mark(self) -> Any:
        if not isinstance(self._max, datetime):
            return self._below
        lagged = self._max - LOOKBACK
        mark = lagged if self._below is None else min(self._below, lagged)
        # the run read everything past its starting watermark: no need to go back further
        return mark if self._floor is None else max(mark, self._floor)

"""The watermark a batch commits: always below the largest cursor value read, so the next
run reads again what may still change under that value (see syncline.engine.watermark)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa

from syncline.engine.watermark import LOOKBACK, WatermarkTracker, as_text

INT = pa.int64()


def _batch(values: list[Any], kind: pa.DataType = INT) -> pa.RecordBatch:
    return pa.RecordBatch.from_pydict({"seq": pa.array(values, kind)})


def _marks(tracker: WatermarkTracker, batches: list[pa.RecordBatch]) -> list[str | None]:
    return [tracker.observe(b, last=i == len(batches) - 1) for i, b in enumerate(batches)]


def test_every_mark_of_an_ordered_read_lies_below_the_largest_value_read() -> None:
    tracker = WatermarkTracker("seq", ordered=True, start=None)
    batches = [_batch([1, 1, 2]), _batch([2, 2]), _batch([2, 3, 3]), _batch([3, 4, 4])]
    assert _marks(tracker, batches) == ["1", "1", "2", "3"]
    assert tracker.committed == "3"


def test_a_read_of_one_value_commits_nothing_new() -> None:
    tracker = WatermarkTracker("seq", ordered=True, start="4")
    assert _marks(tracker, [_batch([5, 5]), _batch([5, None])]) == [None, None]
    assert tracker.committed == "4"


def test_an_unordered_read_commits_once_below_its_largest_value() -> None:
    tracker = WatermarkTracker("seq", ordered=False, start=None)
    assert _marks(tracker, [_batch([7, 3]), _batch([9, 1]), _batch([8, 9])]) == [None, None, "8"]


def test_a_date_time_cursor_commits_a_lookback_below_the_latest_stamp() -> None:
    start = datetime(2024, 5, 1, 12, 0)
    stamps = [start + timedelta(seconds=s) for s in (600, 900, 1200)]
    tracker = WatermarkTracker("seq", ordered=True, start=as_text(start))
    marks = _marks(
        tracker, [_batch(stamps[:2], pa.timestamp("us")), _batch(stamps[2:], pa.timestamp("us"))]
    )
    assert marks == [as_text(stamps[1] - LOOKBACK), as_text(stamps[2] - LOOKBACK)]


def test_a_lookback_never_goes_back_past_the_starting_watermark() -> None:
    start = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    tracker = WatermarkTracker("seq", ordered=True, start=as_text(start))
    stamps = [start + timedelta(seconds=1), start + LOOKBACK / 2]
    assert _marks(tracker, [_batch(stamps, pa.timestamp("us", "UTC"))]) == [as_text(start)]


def test_a_sparse_date_time_cursor_commits_the_value_below_the_latest() -> None:
    stamps = [datetime(2024, 5, 1), datetime(2024, 5, 3)]
    tracker = WatermarkTracker("seq", ordered=True, start=None)
    assert _marks(tracker, [_batch(stamps, pa.timestamp("us"))]) == [as_text(stamps[0])]

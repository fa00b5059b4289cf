"""When the PostgreSQL merge may pass over a key range instead of looking up each key."""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from syncline.engine.connectors.postgres import DENSE_SPAN, dense_range


def _keys(values: Sequence[int | None]) -> pa.RecordBatch:
    return pa.record_batch({"id": pa.array(values, pa.int64()), "v": pa.array(["x"] * len(values))})


def test_a_dense_integer_key_range_is_probed_as_one_range() -> None:
    assert dense_range(_keys(list(range(100, 150))), ["id"]) == (100, 149)
    sparse = list(range(0, 50 * DENSE_SPAN * 10, 10))[:50]
    assert dense_range(_keys(sparse), ["id"]) is None  # a range wider than the batch allows
    assert dense_range(_keys([5, None, 6]), ["id"]) == (5, 6)
    assert dense_range(_keys([None, None]), ["id"]) is None
    assert dense_range(_keys([1, 2]), ["id", "v"]) is None  # two keys: looked up by key
    assert dense_range(_keys([1, 2]), ["v"]) is None  # text key

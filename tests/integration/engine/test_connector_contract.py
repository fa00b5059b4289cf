"""The contract every connector honours, run against each real system."""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa
import pytest

from syncline.api.run import RowError
from syncline.engine.arrow_types import catalog_schema
from syncline.engine.connectors import open_sink, open_source
from syncline.engine.connectors.base import MergeCounts
from syncline.engine.partitions import KeyRange, split_points
from syncline.errors import SynclineError
from tests.integration.engine.harness import Harness

pytestmark = pytest.mark.integration

ROWS = pa.table(
    {
        "id": pa.array([1, 2, 3], pa.int64()),
        "name": pa.array(["ada", "", None], pa.string()),
        "score": pa.array([1.5, 2.0, 3.25], pa.float64()),
        "changed": pa.array(["2024-01-01", "2024-01-03", "2024-01-02"], pa.string()),
    }
)


def _rows(batches: list[pa.RecordBatch]) -> list[dict[str, object]]:
    return [r for b in batches for r in b.to_pylist()]


def test_source_describes_and_discovers_its_entities(source_system: Harness) -> None:
    source_system.create("customers", ROWS, keys=["id"])
    src = open_source(source_system.spec, source_system.credentials, timeout_seconds=5)
    try:
        src.check()
        entity = src.describe("customers")
        entities, total = src.discover()
    finally:
        src.close()
    assert [f.name for f in entity.fields] == ["id", "name", "score", "changed"]
    if src.capabilities.needs_unique_index:
        assert entity.unique_keys == [["id"]]
    assert "customers" in [e.name for e in entities]
    assert total == len(entities)


def test_source_reads_every_record_in_bounded_batches(source_system: Harness) -> None:
    source_system.create("customers", ROWS, keys=["id"])
    src = open_source(source_system.spec, source_system.credentials, timeout_seconds=5)
    try:
        batches = list(src.read("customers", batch_size=2))
    finally:
        src.close()
    assert all(b.num_rows <= 2 for b in batches)
    rows = sorted(_rows(batches), key=lambda r: r["id"])  # type: ignore[arg-type, return-value]
    assert [r["id"] for r in rows] == [1, 2, 3]
    assert [r["score"] for r in rows] == [1.5, 2.0, 3.25]
    if source_system.kind != "jsonl":
        assert rows[1]["name"] == ""  # an empty string is not a missing value


def test_source_reads_incrementally_past_a_watermark(source_system: Harness) -> None:
    source_system.create("customers", ROWS, keys=["id"])
    src = open_source(source_system.spec, source_system.credentials, timeout_seconds=5)
    try:
        batches = list(
            src.read("customers", batch_size=10, cursor_field="changed", after="2024-01-01")
        )
    finally:
        src.close()
    ids = [r["id"] for r in _rows(batches)]
    if src.capabilities.ordered_incremental:
        assert ids == [3, 2]
    else:
        assert sorted(ids) == [2, 3]  # type: ignore[type-var]


def test_the_catalog_type_names_give_the_schema_the_source_reads(source_system: Harness) -> None:
    """The operator plans a SQL step from a catalog alone, over the types a run reads."""
    typed = ROWS.append_column("seen", pa.array([datetime(2024, 1, 1)] * 3, pa.timestamp("us")))
    typed = typed.append_column("active", pa.array([True, False, None], pa.bool_()))
    source_system.create("customers", typed, keys=["id"])
    src = open_source(source_system.spec, source_system.credentials, timeout_seconds=5)
    try:
        described, read = src.describe("customers"), src.arrow_schema("customers")
    finally:
        src.close()
    assert catalog_schema(described, source_system.spec.type) == read


def test_unknown_entity_is_reported_with_its_code(source_system: Harness) -> None:
    src = open_source(source_system.spec, source_system.credentials, timeout_seconds=5)
    try:
        with pytest.raises(SynclineError) as err:
            src.describe("nope")
    finally:
        src.close()
    assert err.value.code == 2004


def _merge(system: Harness, batch: pa.Table, *, fail: bool = False) -> MergeCounts:
    sink = open_sink(system.spec, system.credentials, timeout_seconds=5)
    try:
        with sink.transaction():
            counts = sink.merge("target", batch.to_batches()[0], ["id"])
            if fail:
                raise RuntimeError("abort the transaction")
    finally:
        sink.close()
    return counts


def test_sink_inserts_updates_and_leaves_equal_rows_alone(sink_system: Harness) -> None:
    sink_system.create("target", ROWS.slice(0, 0), keys=["id"])
    assert _merge(sink_system, ROWS) == MergeCounts(inserted=3, updated=0, unchanged=0)
    assert _merge(sink_system, ROWS) == MergeCounts(inserted=0, updated=0, unchanged=3)
    changed = pa.table(
        {
            "id": pa.array([2, 3, 4], pa.int64()),
            "name": pa.array(["", "cy", "dee"], pa.string()),
            "score": pa.array([2.0, 3.25, 4.0], pa.float64()),
            "changed": pa.array(["2024-01-03", "2024-01-05", "2024-01-06"], pa.string()),
        }
    )
    assert _merge(sink_system, changed) == MergeCounts(inserted=1, updated=1, unchanged=1)
    content = sink_system.content("target")
    assert [r["id"] for r in content] == [1, 2, 3, 4]
    assert [r["name"] for r in content] == ["ada", "", "cy", "dee"]


def test_sink_rolls_back_a_failed_transaction(sink_system: Harness) -> None:
    sink_system.create("target", ROWS.slice(0, 1), keys=["id"])
    with pytest.raises(RuntimeError):
        _merge(sink_system, ROWS, fail=True)
    ids = [r["id"] for r in sink_system.content("target")]
    if sink_system.kind in ("odata", "rest"):  # no transactions over HTTP: says so
        sink = open_sink(sink_system.spec, sink_system.credentials, timeout_seconds=5)
        assert not sink.capabilities.transactional
        assert ids == [1, 2, 3]  # written; a re-run converges (upserts are idempotent)
        assert _merge(sink_system, ROWS) == MergeCounts(unchanged=3)
        return
    assert ids == [1]


def test_sink_keeps_watermarks_and_rejects_with_the_data(sink_system: Harness) -> None:
    sink_system.create("target", ROWS.slice(0, 0), keys=["id"])
    reject = RowError(task="t", key="id=9", field="score", code=2300, message="bad")
    sink = open_sink(sink_system.spec, sink_system.credentials, timeout_seconds=5)
    try:
        with sink.transaction():
            sink.merge("target", ROWS.to_batches()[0], ["id"])
            sink.quarantine("target", [reject])
            sink.save_watermark("proj/t", "2024-01-03")
    finally:
        sink.close()
    sink = open_sink(sink_system.spec, sink_system.credentials, timeout_seconds=5)
    try:
        assert sink.load_watermark("proj/t") == "2024-01-03"
        assert sink.load_watermark("proj/other") is None
    finally:
        sink.close()
    if sink_system.kind == "odata":  # the rejects entity set of the connection's options
        stored = sink_system.content("SynclineRejects", order_by="rowKey")
        assert [(r["task"], r["rowKey"], r["field"], r["code"]) for r in stored] == [
            ("t", "id=9", "score", 2300)
        ]
    elif sink_system.kind == "rest":  # POSTed to the connection's rejectsPath
        stored = sink_system.rest_rejects()
        assert [(r["task"], r["key"], r["field"], r["code"]) for r in stored] == [
            ("t", "id=9", "score", 2300)
        ]
    elif sink_system.kind in ("postgresql", "mysql", "sqlite"):
        key = sink_system._q("key")
        rows = sink_system.execute(f"SELECT task, {key}, field, code FROM _syncline_rejects")
        assert [tuple(r) for r in rows] == [("t", "id=9", "score", 2300)]
    else:
        assert sink_system.directory is not None
        assert (sink_system.directory / "target.rejects.jsonl").read_text().count("id=9") == 1


def test_timestamps_round_trip(sink_system: Harness) -> None:
    table = pa.table(
        {
            "id": pa.array([1], pa.int64()),
            "at": pa.array([datetime(2024, 5, 6, 7, 8, 9)], pa.timestamp("us")),
        }
    )
    sink_system.create("target", table.slice(0, 0), keys=["id"])
    assert _merge(sink_system, table).inserted == 1
    assert _merge(sink_system, table).unchanged == 1


def test_an_empty_entity_reads_as_no_batches(source_system: Harness) -> None:
    source_system.create("customers", ROWS.slice(0, 0), keys=["id"])
    src = open_source(source_system.spec, source_system.credentials, timeout_seconds=5)
    try:
        rows = _rows(list(src.read("customers", batch_size=10)))
        past = _rows(
            list(src.read("customers", batch_size=10, cursor_field="changed", after="2024-01-01"))
        )
    finally:
        src.close()
    assert rows == []
    assert past == []


def test_source_counts_what_a_read_would_return_up_to_a_bound(source_system: Harness) -> None:
    """What the guardrails ask before a run writes: over the row limit? empty?"""
    source_system.create("customers", ROWS, keys=["id"])
    source_system.create("nobody", ROWS.slice(0, 0), keys=["id"])
    src = open_source(source_system.spec, source_system.credentials, timeout_seconds=5)
    try:
        counts = (
            src.count("customers"),
            src.count("customers", at_most=2),
            src.count("customers", cursor_field="changed", after="2024-01-01"),
            src.count("customers", cursor_field="changed", after="2024-01-03"),
            src.count("nobody", at_most=1),
        )
    finally:
        src.close()
    assert counts == (3, 2, 2, 0, 0)


def test_sink_counts_the_rows_of_an_entity(sink_system: Harness) -> None:
    sink_system.create("target", ROWS, keys=["id"])
    sink_system.create("empty", ROWS.slice(0, 0), keys=["id"])
    sink = open_sink(sink_system.spec, sink_system.credentials, timeout_seconds=5)
    try:
        assert (sink.row_count("target"), sink.row_count("empty")) == (3, 0)
    finally:
        sink.close()


def test_source_splits_by_key_ranges_that_cover_every_record_once(
    source_system: Harness,
) -> None:
    """A task split over pods (``scaleOut``): each pod's range, pushed down or filtered."""
    source_system.create("customers", ROWS, keys=["id"])
    src = open_source(source_system.spec, source_system.credentials, timeout_seconds=5)
    try:
        low, high = src.key_bounds("customers", "id")
        bounds = split_points(low, high, 2)
        shares = [
            _rows(list(src.read_range("customers", KeyRange.of("id", bounds, i), batch_size=2)))
            for i in range(2)
        ]
    finally:
        src.close()
    assert (low, high) == (1, 3)
    assert sorted(r["id"] for r in shares[0]) == [1]
    assert sorted(r["id"] for r in shares[1]) == [2, 3]

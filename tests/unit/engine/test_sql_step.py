"""The SQL step: one query over the whole source stream, sandboxed, in bounded memory.

Real DuckDB, in-process: the sandbox and the spilling are DuckDB's own configuration,
so only DuckDB can show that they hold.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from syncline.engine.transform.sql import MEMORY_LIMIT, SqlStep
from syncline.errors import SynclineError

CANARY = "canary-7f3a91-not-for-your-eyes"
BATCH = pa.RecordBatch.from_pydict(
    {
        "id": pa.array([1, 2, 3, 4], pa.int64()),
        "team": pa.array(["red", "blue", "red", "blue"]),
        "amount": pa.array([10.0, 20.0, 30.0, 5.0]),
    }
)
ONE_ROW_BATCHES = [BATCH.slice(i, 1) for i in range(BATCH.num_rows)]


@pytest.fixture
def secrets(tmp_path: Path) -> Path:
    """A directory with the canary in a CSV, a text file and a Parquet file."""
    (tmp_path / "token.csv").write_text(f"secret\n{CANARY}\n")
    (tmp_path / "token").write_text(CANARY)
    pq.write_table(pa.table({"secret": [CANARY]}), tmp_path / "token.parquet")
    return tmp_path


def _result(step: SqlStep, batches: list[pa.RecordBatch], rows: int = 1000) -> pa.Table:
    out = list(step.run(BATCH.schema, iter(batches), rows))
    return pa.Table.from_batches(out)


def _run(query: str, batches: list[pa.RecordBatch] | None = None) -> pa.Table:
    step = SqlStep("t", query)
    try:
        return _result(step, [BATCH] if batches is None else batches)
    finally:
        step.close()


def test_queries_over_the_source_still_work() -> None:
    filtered = _run("SELECT id, upper(team) AS team, amount * 2 AS double FROM source WHERE id > 1")
    assert filtered.to_pydict() == {
        "id": [2, 3, 4],
        "team": ["BLUE", "RED", "BLUE"],
        "double": [40.0, 60.0, 10.0],
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (
            "SELECT team, sum(amount) AS total FROM source GROUP BY team ORDER BY team",
            {"team": ["blue", "red"], "total": [25.0, 40.0]},
        ),
        ("SELECT DISTINCT team FROM source ORDER BY team", {"team": ["blue", "red"]}),
        ("SELECT id FROM source ORDER BY amount DESC LIMIT 2", {"id": [3, 2]}),
        (
            "SELECT id, sum(amount) OVER (ORDER BY id) AS running FROM source ORDER BY id",
            {"id": [1, 2, 3, 4], "running": [10.0, 30.0, 60.0, 65.0]},
        ),
        (
            "SELECT id FROM source WHERE amount > (SELECT avg(amount) FROM source) ORDER BY id",
            {"id": [2, 3]},
        ),
    ],
)
def test_the_query_answers_over_every_batch_at_once(query: str, expected: dict[str, list]) -> None:
    """One row per batch: a per-batch answer would differ from each of these."""
    assert _run(query, ONE_ROW_BATCHES).to_pydict() == expected


def test_the_result_streams_out_in_source_order_in_batches_of_the_requested_size() -> None:
    batches = [_numbers(i * 100, 100) for i in range(10)]
    step = SqlStep("t", "SELECT id, id * 2 AS twice FROM source")
    try:
        out = list(step.run(batches[0].schema, iter(batches), 128))
    finally:
        step.close()
    assert max(b.num_rows for b in out) <= 128
    assert len(out) >= 1000 // 128
    assert pa.Table.from_batches(out).column("id").to_pylist() == list(range(1000))


def test_a_filter_writes_its_first_rows_before_the_source_is_read_to_the_end() -> None:
    pulled = 0

    def source() -> Iterator[pa.RecordBatch]:
        nonlocal pulled
        for i in range(100):
            pulled += 1
            yield _numbers(i * 10_000, 10_000)

    step = SqlStep("t", "SELECT id FROM source WHERE id % 2 = 0")
    try:
        result = step.run(_numbers(0, 0).schema, source(), 5_000)
        first = next(result)
        assert first.num_rows == 5_000
        assert pulled < 25  # DuckDB reads a little ahead, not to the end
        assert sum(b.num_rows for b in result) + first.num_rows == 500_000
    finally:
        step.close()


def test_a_group_by_larger_than_the_memory_limit_spills_and_finishes() -> None:
    """3M distinct keys (far above a 64MB limit) aggregate by spilling to the step's own
    temporary directory; no spill file is left behind."""
    started = time.monotonic()
    rows, per_batch = 3_000_000, 100_000
    step = SqlStep("t", "SELECT key, count(*) AS n FROM source GROUP BY key", memory_limit="64MB")
    spill = step.spill_directory
    spilled: set[str] = set()
    try:
        batches = (_keys(i, per_batch) for i in range(0, rows, per_batch))
        total = groups = 0
        for batch in step.run(_keys(0, 0).schema, batches, 50_000):
            spilled |= {p.name for p in spill.iterdir() if p.stat().st_size}
            groups += batch.num_rows
            total += pc.sum(batch.column("n")).as_py()
    finally:
        step.close()
    assert (groups, total) == (rows, rows)
    assert spilled, "the aggregation fit in memory: raise the row count"
    assert not spill.exists()
    assert time.monotonic() - started < 10


def test_the_memory_limit_default_and_the_spill_directory() -> None:
    step = SqlStep("t", "SELECT 1 AS one")
    try:
        spill = step.spill_directory
        assert spill.parent == Path(tempfile.gettempdir())
        assert spill.stat().st_mode & 0o077 == 0  # private to the engine's user
        settings = step.settings()
        assert settings["temp_directory"] == str(spill)
        with duckdb.connect(config={"memory_limit": MEMORY_LIMIT}) as plain:
            [(expected,)] = plain.execute("SELECT current_setting('memory_limit')").fetchall()
        assert settings["memory_limit"] == expected
    finally:
        step.close()
    assert not spill.exists()
    step.close()  # closing twice is harmless


def test_an_empty_result_is_one_empty_batch_of_the_output_schema() -> None:
    result = _run("SELECT id, amount > 10 AS big FROM source WHERE false")
    assert result.num_rows == 0
    assert result.schema.names == ["id", "big"]
    step = SqlStep("t", "SELECT id FROM source")
    try:
        out = list(step.run(BATCH.schema, iter([]), 10))
    finally:
        step.close()
    assert [b.num_rows for b in out] == [0]


def test_a_failing_source_raises_its_own_error_not_an_invalid_query() -> None:
    def source() -> Iterator[pa.RecordBatch]:
        yield BATCH
        raise ConnectionResetError("the source went away")

    def limited() -> Iterator[pa.RecordBatch]:
        yield BATCH
        raise SynclineError("MaxRowsPerRunExceeded", task="t", limit=4)

    queries = (
        "SELECT id FROM source",
        "SELECT count(*) AS n FROM source",
        "SELECT id FROM source WHERE amount > (SELECT avg(amount) FROM source)",
    )
    for query in queries:
        step = SqlStep("t", query)
        try:
            with pytest.raises(ConnectionResetError, match="went away"):
                list(step.run(BATCH.schema, source(), 10))
            with pytest.raises(SynclineError) as limit:
                list(step.run(BATCH.schema, limited(), 10))
            assert limit.value.code == 2500
            # the connection is still usable after a failed run
            assert _result(step, [BATCH]).num_rows
        finally:
            step.close()


def test_a_query_failing_on_the_data_is_an_invalid_query() -> None:
    step = SqlStep("t", "SELECT CAST(team AS INTEGER) AS n FROM source")
    try:
        assert step.output_schema(BATCH.schema).names == ["n"]
        with pytest.raises(SynclineError) as refused:
            list(step.run(BATCH.schema, iter([BATCH]), 10))
    finally:
        step.close()
    assert refused.value.code == 2206
    assert "red" in str(refused.value)


def test_batches_are_conformed_to_the_planned_schema() -> None:
    narrow = pa.RecordBatch.from_pydict({"id": pa.array([7], pa.int32())})
    step = SqlStep("t", "SELECT id FROM source")
    try:
        out = list(step.run(pa.schema([("id", pa.int64())]), iter([narrow]), 10))
    finally:
        step.close()
    assert out[0].schema.field("id").type == pa.int64()


def test_the_output_schema_is_planned_without_data() -> None:
    step = SqlStep("t", "SELECT id, amount > 10 AS big FROM source")
    try:
        schema = step.output_schema(BATCH.schema)
    finally:
        step.close()
    assert schema.names == ["id", "big"]
    assert schema.field("big").type == pa.bool_()


def _numbers(start: int, count: int) -> pa.RecordBatch:
    return pa.RecordBatch.from_pydict({"id": pa.array(range(start, start + count), pa.int64())})


def _keys(start: int, count: int) -> pa.RecordBatch:
    ids = pa.array(range(start, start + count), pa.int64())
    return pa.RecordBatch.from_pydict(
        {"key": pc.binary_join_element_wise("key-", pc.cast(ids, pa.string()), "")}
    )


READS = [
    "SELECT * FROM read_csv('{dir}/token.csv')",
    "SELECT * FROM read_csv_auto('{dir}/token.csv')",
    "SELECT * FROM '{dir}/token.csv'",
    "SELECT content AS secret FROM read_text('{dir}/token')",
    "SELECT content AS secret FROM read_blob('{dir}/token')",
    "SELECT * FROM read_parquet('{dir}/token.parquet')",
    "SELECT * FROM read_json_auto('{dir}/token')",
    "SELECT file AS secret FROM glob('{dir}/*')",
    "SELECT s.id, t.secret FROM source s, read_csv('{dir}/token.csv') t",
]


@pytest.mark.parametrize("query", READS)
def test_the_query_cannot_read_local_files(query: str, secrets: Path) -> None:
    _assert_refused(query.format(dir=secrets))


@pytest.mark.parametrize(
    "query",
    [
        "COPY (SELECT * FROM source) TO '{dir}/out.csv'",
        "COPY source TO '{dir}/out.parquet' (FORMAT parquet)",
        "EXPORT DATABASE '{dir}/out'",
        "ATTACH '{dir}/out.duckdb' AS stolen",
        "ATTACH '{dir}/out.sqlite' (TYPE sqlite)",
    ],
)
def test_the_query_cannot_write_or_attach_files(query: str, tmp_path: Path) -> None:
    _assert_refused(query.format(dir=tmp_path))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "query",
    [
        "INSTALL httpfs",
        "LOAD httpfs",
        "LOAD '{dir}/evil.duckdb_extension'",
        "SELECT * FROM read_csv('https://example.invalid/x.csv')",
        "SET enable_external_access = true",
        "RESET enable_external_access",
        "SET lock_configuration = false",
        "SET autoinstall_known_extensions = true",
        "SET autoload_known_extensions = true",
        "SET allowed_directories = ['/']",
        "SET memory_limit = '64GB'",
        "SET temp_directory = '{dir}'",
        "SET max_temp_directory_size = '1TB'",
        "SELECT * FROM source; SET enable_external_access = true",
    ],
)
def test_the_query_cannot_load_extensions_or_unlock_the_sandbox(query: str, tmp_path: Path) -> None:
    _assert_refused(query.format(dir=tmp_path))


def test_a_failed_unlock_leaves_the_sandbox_closed_for_later_runs(secrets: Path) -> None:
    step = SqlStep("t", "SET enable_external_access = true")
    try:
        with pytest.raises(SynclineError):
            _result(step, [BATCH])
        step.query = f"SELECT * FROM read_csv('{secrets}/token.csv')"
        with pytest.raises(SynclineError) as refused:
            _result(step, [BATCH])
        assert refused.value.code == 2206
        step.query = "SELECT count(*) AS n FROM source"
        assert _result(step, [BATCH]).to_pydict() == {"n": [4]}
    finally:
        step.close()


def test_the_spill_directory_is_no_way_out_of_the_sandbox(secrets: Path) -> None:
    """The query may touch its own spill directory (DuckDB allows it), but a path that
    climbs out of it is refused like any other file."""
    step = SqlStep("t", "")
    try:
        climb = "/".join([str(step.spill_directory), *[".."] * 8]) + str(secrets)
        for query in (
            f"SELECT content AS secret FROM read_text('{climb}/token')",
            f"SELECT * FROM read_csv('{climb}/token.csv')",
            f"COPY (SELECT 1) TO '{climb}/out.csv'",
        ):
            step.query = query
            with pytest.raises(SynclineError) as refused:
                _result(step, [BATCH])
            assert refused.value.code == 2206
            assert CANARY not in str(refused.value)
    finally:
        step.close()
    assert not (secrets / "out.csv").exists()


def _assert_refused(query: str) -> None:
    """Refused with 2206 QueryInvalid when planned and when run; the canary never shows."""
    attempts: dict[str, Callable[[SqlStep], object]] = {
        "plan": lambda step: step.output_schema(BATCH.schema),
        "run": lambda step: _result(step, [BATCH]),
    }
    for attempt, call in attempts.items():
        step = SqlStep("t", query)
        try:
            with pytest.raises(SynclineError) as refused:
                call(step)
        finally:
            step.close()
        assert refused.value.code == 2206, f"{attempt}: {refused.value}"
        assert CANARY not in str(refused.value)

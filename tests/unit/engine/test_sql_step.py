"""The SQL step sees the batch and nothing else: no files, no extensions, no settings.

Real DuckDB, in-process: the sandbox is DuckDB's own configuration, so only DuckDB can
show that it holds.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from syncline.engine.transform.sql import SqlStep
from syncline.errors import SynclineError

CANARY = "canary-7f3a91-not-for-your-eyes"
BATCH = pa.RecordBatch.from_pydict(
    {
        "id": pa.array([1, 2, 3, 4], pa.int64()),
        "team": pa.array(["red", "blue", "red", "blue"]),
        "amount": pa.array([10.0, 20.0, 30.0, 5.0]),
    }
)


@pytest.fixture
def secrets(tmp_path: Path) -> Path:
    """A directory with the canary in a CSV, a text file and a Parquet file."""
    (tmp_path / "token.csv").write_text(f"secret\n{CANARY}\n")
    (tmp_path / "token").write_text(CANARY)
    pq.write_table(pa.table({"secret": [CANARY]}), tmp_path / "token.parquet")
    return tmp_path


def _run(query: str) -> pa.RecordBatch:
    step = SqlStep("t", query)
    try:
        return step.apply(BATCH)
    finally:
        step.close()


def test_queries_over_the_batch_still_work() -> None:
    filtered = _run("SELECT id, upper(team) AS team, amount * 2 AS double FROM source WHERE id > 1")
    assert filtered.to_pydict() == {
        "id": [2, 3, 4],
        "team": ["BLUE", "RED", "BLUE"],
        "double": [40.0, 60.0, 10.0],
    }
    grouped = _run("SELECT team, sum(amount) AS total FROM source GROUP BY team ORDER BY team")
    assert grouped.to_pydict() == {"team": ["blue", "red"], "total": [25.0, 40.0]}


def test_the_output_schema_is_planned_without_data() -> None:
    step = SqlStep("t", "SELECT id, amount > 10 AS big FROM source")
    try:
        schema = step.output_schema(BATCH.schema)
    finally:
        step.close()
    assert schema.names == ["id", "big"]
    assert schema.field("big").type == pa.bool_()


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
        "SELECT * FROM source; SET enable_external_access = true",
    ],
)
def test_the_query_cannot_load_extensions_or_unlock_the_sandbox(query: str, tmp_path: Path) -> None:
    _assert_refused(query.format(dir=tmp_path))


def test_a_failed_unlock_leaves_the_sandbox_closed_for_later_batches(secrets: Path) -> None:
    step = SqlStep("t", "SET enable_external_access = true")
    try:
        with pytest.raises(SynclineError):
            step.apply(BATCH)
        step.query = f"SELECT * FROM read_csv('{secrets}/token.csv')"
        with pytest.raises(SynclineError) as refused:
            step.apply(BATCH)
        assert refused.value.code == 2206
        step.query = "SELECT count(*) AS n FROM source"
        assert step.apply(BATCH).to_pydict() == {"n": [4]}
    finally:
        step.close()


def _assert_refused(query: str) -> None:
    """Refused with 2206 QueryInvalid when planned and when run; the canary never shows."""
    attempts: dict[str, Callable[[SqlStep], object]] = {
        "plan": lambda step: step.output_schema(BATCH.schema),
        "run": lambda step: step.apply(BATCH),
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

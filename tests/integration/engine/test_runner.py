"""Run semantics against real PostgreSQL: counts, validation, row errors, limits."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from syncline.api.run import RunResult
from syncline.devcluster.databases import DatabaseAccess
from syncline.engine.connectors.postgres import PostgresConnector
from syncline.engine.runner import run_project
from tests.integration.engine.harness import Harness, mysql_harness, postgres_harness
from tests.integration.engine.projects import project, small_batches, task
from tests.integration.engine.test_plan import destination_snapshot

pytestmark = pytest.mark.integration

PEOPLE = pa.table(
    {
        "id": pa.array([1, 2, 3, 4], pa.int64()),
        "name": pa.array([" Ada ", "bob", "cy", "dee"], pa.string()),
        "amount": pa.array(["10", "20", "x", "40"], pa.string()),
    }
)


@pytest.fixture
def pg(pg_db: DatabaseAccess) -> Harness:
    return postgres_harness(pg_db)


def _target(pg: Harness, **kw: object) -> None:
    pg.execute("CREATE TABLE dst_table (id bigint PRIMARY KEY, name text, amount bigint)")


def test_a_run_inserts_then_leaves_identical_data_alone(pg: Harness) -> None:
    pg.create("src_table", PEOPLE.drop_columns(["amount"]), keys=["id"])
    pg.execute("CREATE TABLE dst_table (id bigint PRIMARY KEY, name text)")
    p = project(pg, pg, [task()])
    first = run_project(p)
    assert first.result is RunResult.COMPLETED, first.message()
    assert (first.totals.read, first.totals.inserted) == (4, 4)
    second = run_project(p)
    assert (second.totals.unchanged, second.totals.inserted, second.totals.updated) == (4, 0, 0)
    pg.execute("UPDATE src_table SET name = 'BOB' WHERE id = 2")
    third = run_project(p)
    assert (third.totals.updated, third.totals.unchanged) == (1, 3)
    assert [r["name"] for r in pg.content("dst_table")] == [" Ada ", "BOB", "cy", "dee"]
    status = third.to_status()
    assert status.upserts == 1
    assert status.tasks[0].result is RunResult.COMPLETED


def test_validation_fails_fast_naming_the_field_and_writes_nothing(pg: Harness) -> None:
    pg.create("src_table", PEOPLE, keys=["id"])
    _target(pg)
    good = task("good")
    bad = task(
        "bad",
        mappings=[{"destination": "id", "source": "id"}, {"destination": "name", "source": "nmae"}],
    )
    report = run_project(project(pg, pg, [good, bad]))
    assert report.result is RunResult.ERROR
    assert report.error is not None
    assert report.error.code == 2200
    assert "nmae" in str(report.error)
    assert "bad" in str(report.error)
    assert pg.content("dst_table") == []
    assert report.to_status().error_code == 2200


def test_unknown_destination_field_and_missing_key_are_reported(pg: Harness) -> None:
    pg.create("src_table", PEOPLE, keys=["id"])
    _target(pg)
    t = task(keys=["code"], mappings=[{"destination": "nope", "source": "name"}])
    report = run_project(project(pg, pg, [t]))
    codes = [report.tasks[0].error.code] if report.tasks[0].error else []
    codes += [int(w.split()[0]) for w in report.tasks[0].warnings]
    assert codes == [2201, 2203]


def test_no_unique_index_on_the_keys_is_an_error_not_duplicates(pg: Harness) -> None:
    pg.create("src_table", PEOPLE, keys=["id"])
    pg.execute("CREATE TABLE dst_table (id bigint, name text, amount text)")
    report = run_project(project(pg, pg, [task()]))
    assert report.error is not None
    assert report.error.code == 2204
    assert pg.content("dst_table") == []


def test_poison_rows_become_row_errors_and_the_rest_is_written(pg: Harness) -> None:
    pg.create("src_table", PEOPLE, keys=["id"])
    pg.execute(
        "CREATE TABLE dst_table (id bigint PRIMARY KEY, name varchar(3) NOT NULL, amount bigint)"
    )
    t = task(
        mappings=[
            {"destination": "id", "source": "id"},
            {"destination": "name", "source": "name"},
            {
                "destination": "amount",
                "source": "amount",
                "transforms": [{"type": "cast", "to": "integer"}],
            },
        ]
    )
    report = run_project(project(pg, pg, [t]))
    assert report.result is RunResult.WARNING, report.message()
    c = report.totals
    assert (c.read, c.inserted, c.failed) == (4, 2, 2)
    errors = {e.key: e.code for e in report.row_errors}
    assert errors == {"id=3": 2300, "id=1": 2303}  # 'x' is no integer; ' Ada ' is too long
    assert [r["id"] for r in pg.content("dst_table")] == [2, 4]
    rejects = pg.execute("SELECT key, code FROM _syncline_rejects ORDER BY key")
    assert rejects == [("id=1", 2303), ("id=3", 2300)]


def test_duplicate_keys_in_a_batch_last_one_wins_with_a_warning(pg: Harness) -> None:
    dupes = pa.table(
        {
            "n": pa.array([1, 2, 3], pa.int64()),
            "id": pa.array([7, 7, 8], pa.int64()),
            "name": pa.array(["old", "new", "other"], pa.string()),
        }
    )
    pg.create("src_table", dupes, keys=["n"])
    pg.execute("CREATE TABLE dst_table (id bigint PRIMARY KEY, name text)")
    t = task(
        mappings=[{"destination": "id", "source": "id"}, {"destination": "name", "source": "name"}]
    )
    report = run_project(project(pg, pg, [t]))
    assert report.result is RunResult.WARNING
    assert report.totals.filtered == 1
    assert report.tasks[0].warnings[0].startswith("2301 DuplicateKeyInBatch")
    assert [r["name"] for r in pg.content("dst_table")] == ["new", "other"]


def test_sql_step_filters_and_counts_stay_conserved(pg: Harness) -> None:
    pg.create("src_table", PEOPLE, keys=["id"])
    _target(pg)
    t = task(query="SELECT id, upper(trim(name)) AS name FROM source WHERE id <> 2")
    report = run_project(project(pg, pg, [t]))
    c = report.totals
    assert (c.read, c.inserted, c.filtered) == (4, 3, 1)
    assert c.conservation_gap == 0
    assert [r["name"] for r in pg.content("dst_table")] == ["ADA", "CY", "DEE"]


def test_a_query_reading_a_local_file_fails_the_task_and_writes_nothing(
    pg: Harness, tmp_path: Path
) -> None:
    canary = "canary-5e1d-service-account-token"
    (tmp_path / "token").write_text(canary)
    pg.create("src_table", PEOPLE, keys=["id"])
    _target(pg)
    query = f"SELECT s.id, t.content AS name FROM source s, read_text('{tmp_path}/token') t"
    report = run_project(project(pg, pg, [task(query=query)]))
    assert report.tasks[0].error is not None
    assert report.tasks[0].error.code == 2206
    assert canary not in report.to_json()
    assert pg.content("dst_table") == []


@pytest.mark.parametrize("query", [None, "SELECT id, name FROM source"], ids=["plain", "sql"])
def test_max_rows_per_run_stops_the_task(pg: Harness, query: str | None) -> None:
    """Nothing is committed, not even the first task, which is within the limit (in
    batches of 2 both would have committed a batch before the third row was read)."""
    pg.create("src_table", PEOPLE, keys=["id"])
    pg.create("small_table", PEOPLE.slice(0, 2), keys=["id"])
    _target(pg)
    src = small_batches(pg, 2)
    over = task("big", query=query) if query else task("big")
    tasks = [task("small", source="small_table"), over]
    before = destination_snapshot(pg)

    report = run_project(project(src, pg, tasks, max_rows_per_run=3))

    assert report.error is not None
    assert report.error.code == 2500
    assert [t.result for t in report.tasks] == [RunResult.PENDING, RunResult.ERROR]
    assert str(report.tasks[1].error).startswith("2500 ")
    assert destination_snapshot(pg) == before
    assert run_project(project(src, pg, tasks, max_rows_per_run=4)).result is not RunResult.ERROR


def test_max_error_rate_ends_the_run_in_error(pg: Harness) -> None:
    pg.create("src_table", PEOPLE, keys=["id"])
    _target(pg)
    t = task(
        mappings=[
            {"destination": "id", "source": "id"},
            {
                "destination": "amount",
                "source": "amount",
                "transforms": [{"type": "cast", "to": "integer"}],
            },
        ]
    )
    report = run_project(project(pg, pg, [t], max_error_rate=0.1))
    assert report.error is not None
    assert report.error.code == 2501
    assert report.totals.failed == 1


def test_a_conservation_gap_is_an_error(pg: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    pg.create("src_table", PEOPLE, keys=["id"])
    _target(pg)
    real_merge = PostgresConnector.merge

    def miscounting(self: PostgresConnector, *args: object, **kw: object) -> object:
        counts = real_merge(self, *args, **kw)  # type: ignore[arg-type]
        counts.unchanged += 1
        return counts

    monkeypatch.setattr(PostgresConnector, "merge", miscounting)
    report = run_project(project(pg, pg, [task(query="SELECT id, name FROM source")]))
    assert report.error is not None
    assert report.error.code == 2404


def test_incremental_runs_read_only_newer_records(pg: Harness) -> None:
    rows = pa.table(
        {
            "id": pa.array([1, 2, 3], pa.int64()),
            "name": pa.array(["a", "b", "c"], pa.string()),
            "seq": pa.array([10, 20, 30], pa.int64()),
        }
    )
    pg.create("src_table", rows, keys=["id"])
    pg.execute("CREATE TABLE dst_table (id bigint PRIMARY KEY, name text, seq bigint)")
    t = task(source_extra={"incremental": {"cursorField": "seq"}})
    p = project(pg, pg, [t])
    assert run_project(p).totals.read == 3
    pg.execute("UPDATE src_table SET name = 'B', seq = 40 WHERE id = 2")
    second = run_project(p)  # past the watermark 20: seq 30 again, and 40
    assert (second.totals.read, second.totals.updated) == (2, 1)
    assert second.tasks[0].watermark == "30"  # below the largest value, whose rows are read again
    nothing_new = run_project(p)
    assert nothing_new.result is RunResult.COMPLETED, nothing_new.message()
    assert (nothing_new.totals.read, nothing_new.totals.unchanged) == (1, 1)
    assert run_project(p, full_refresh=True).totals.read == 3


def test_missing_connection_alias_and_empty_project(pg: Harness) -> None:
    t = task()
    t["source"]["connection"] = "elsewhere"
    report = run_project(project(pg, pg, [t]))
    assert report.error is not None
    assert report.error.code == 2008
    empty = run_project(project(pg, pg, []))
    assert empty.error is not None
    assert empty.error.code == 2212


def test_mariadb_poison_rows_and_missing_unique_index(mariadb_db: DatabaseAccess) -> None:
    db = mysql_harness(mariadb_db)
    db.create("src_table", PEOPLE, keys=["id"])
    db.execute(
        "CREATE TABLE dst_table (id bigint PRIMARY KEY, name varchar(3) NOT NULL, amount bigint)"
    )
    db.execute("CREATE TABLE loose (id bigint, name text)")
    report = run_project(project(db, db, [task()]))
    assert report.result is RunResult.WARNING, report.message()
    assert (report.totals.inserted, report.totals.failed) == (2, 2)
    assert {e.key: e.code for e in report.row_errors} == {"id=1": 2303, "id=3": 2303}
    assert [r["id"] for r in db.content("dst_table")] == [2, 4]
    loose = run_project(project(db, db, [task(destination="loose")]))
    assert loose.error is not None
    assert loose.error.code == 2204

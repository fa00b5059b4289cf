"""Plan mode: real counts and sample diffs, and nothing written (SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pyarrow as pa
import pytest

from syncline.api.run import RunResult
from syncline.engine.plan import plan_project
from syncline.engine.runner import run_project
from tests.integration.engine.conftest import make_harness
from tests.integration.engine.harness import Harness
from tests.integration.engine.projects import project, task

pytestmark = pytest.mark.integration

ROWS = pa.table({"id": pa.array([1, 2], pa.int64()), "name": pa.array(["ada", "bob"])})


@pytest.mark.parametrize("kind", ["sqlite", "postgresql", "mysql", "csv"])
def test_plan_shows_updates_and_inserts_and_writes_nothing(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    (tmp_path / "src").mkdir()
    src = make_harness("sqlite", request, tmp_path / "src")
    src.create("src_table", ROWS, keys=["id"])
    dst = make_harness(kind, request, tmp_path)
    dst.create("dst_table", ROWS.slice(0, 1), keys=["id"])
    src.execute("UPDATE src_table SET name = 'ADA' WHERE id = 1")
    p = project(src, dst, [task(source_extra={"incremental": {"cursorField": "id"}})])
    before = dst.content("dst_table")

    plan = plan_project(p)

    assert plan.report.result is RunResult.COMPLETED, plan.report.message()
    c = plan.report.totals
    assert (c.read, c.inserted, c.updated) == (2, 1, 1)
    diffs = {d.key: (d.change, d.fields) for d in plan.samples["copy"]}
    assert diffs["id=1"] == ("update", {"name": ("ada", "ADA")})
    assert diffs["id=2"][0] == "insert"
    assert dst.content("dst_table") == before
    assert run_project(p).totals.read == 2  # the plan committed no watermark either


def test_report_serialises_like_the_run_status(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    src = make_harness("sqlite", request, tmp_path)
    src.create("src_table", ROWS, keys=["id"])
    src.create("dst_table", ROWS.slice(0, 0), keys=["id"])
    report = run_project(project(src, src, [task()]))
    status = report.to_status()
    assert (status.read, status.inserted, status.upserts) == (2, 2, 2)
    assert status.tasks[0].name == "copy"
    wire = json.loads(report.to_json())
    assert wire["result"] == "Completed"
    assert wire["tasks"][0]["durationSeconds"] >= 0
    assert wire["project"] == "demo"


@pytest.mark.parametrize("ran_before", [False, True], ids=["fresh", "after-a-run"])
@pytest.mark.parametrize("kind", ["sqlite", "postgresql", "mysql"])
def test_plan_leaves_the_destination_exactly_as_it_was(
    kind: str, ran_before: bool, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Tables (state and rejects included) and every row are the same after a plan."""
    (tmp_path / "src").mkdir()
    src = make_harness("sqlite", request, tmp_path / "src")
    src.create("src_table", ROWS, keys=["id"])
    dst = make_harness(kind, request, tmp_path)
    dst.create("dst_table", ROWS.slice(0, 1), keys=["id"])
    p = project(src, dst, [task(source_extra={"incremental": {"cursorField": "id"}})])
    if ran_before:
        assert run_project(p).result is RunResult.COMPLETED
        src.execute("INSERT INTO src_table (id, name) VALUES (3, 'cy')")
    tables, content = destination_snapshot(dst)
    assert ("_syncline_state" in {t[1] for t in tables}) is ran_before

    plan = plan_project(p)

    assert plan.report.result is RunResult.COMPLETED, plan.report.message()
    c = plan.report.totals
    # after a run: row 3, and row 2 again (the largest cursor value is always read again)
    assert (c.read, c.inserted, c.updated) == (2, 1, 0)
    assert destination_snapshot(dst) == (tables, content)


_PG_USER_SCHEMAS = (  # a session's temp tables go with the session: not the destination
    "table_schema NOT IN ('pg_catalog', 'information_schema') "
    "AND table_schema NOT LIKE 'pg\\_temp\\_%'"
)
_CATALOG = {
    "sqlite": "SELECT 'main', name, type, coalesce(sql, '') FROM sqlite_master ORDER BY name",
    "postgresql": "SELECT table_schema, table_name, table_type, '' FROM information_schema.tables "
    f"WHERE {_PG_USER_SCHEMAS} ORDER BY 1, 2",
    "mysql": "SELECT table_schema, table_name, table_type, '' FROM information_schema.tables "
    "WHERE table_schema = DATABASE() ORDER BY 1, 2",
}
_COLUMNS = {
    "postgresql": "SELECT table_schema, table_name, column_name, data_type, is_nullable, "
    f"column_default FROM information_schema.columns WHERE {_PG_USER_SCHEMAS} "
    "ORDER BY 1, 2, ordinal_position",
    "mysql": "SELECT table_name, column_name, column_type, is_nullable, column_default "
    "FROM information_schema.columns WHERE table_schema = DATABASE() "
    "ORDER BY 1, ordinal_position",
}


def destination_snapshot(dst: Harness) -> tuple[list[tuple[str, ...]], str]:
    """Every table of the destination, and a hash of its columns and of every row.

    SQLite's hash covers the database file byte for byte (its header counts commits).
    """
    tables = [tuple(r) for r in dst.execute(_CATALOG[dst.kind])]
    digest = hashlib.sha256()
    if dst.kind == "sqlite":
        assert dst.spec.endpoint.path
        digest.update(Path(dst.spec.endpoint.path).read_bytes())
    else:
        digest.update(repr(dst.execute(_COLUMNS[dst.kind])).encode())
    for schema, name, kind, _ in tables:
        if kind in ("table", "BASE TABLE"):
            rows = dst.execute(f"SELECT * FROM {dst._q(schema)}.{dst._q(name)}")
            digest.update(f"{schema}.{name}: {sorted(map(repr, rows))}\n".encode())
    return tables, digest.hexdigest()

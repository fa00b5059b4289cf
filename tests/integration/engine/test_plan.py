"""Plan mode: real counts and sample diffs, and nothing written (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest

from syncline.api.run import RunResult
from syncline.engine.plan import plan_project
from syncline.engine.runner import run_project
from tests.integration.engine.conftest import make_harness
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

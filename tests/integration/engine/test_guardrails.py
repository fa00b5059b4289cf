"""Guardrails in the engine: a run that trips one writes nothing at all (real systems).

Each test takes a snapshot of the destination (every table, the state and rejects tables
included, and every row; SQLite's file byte for byte; a file destination's bytes) before
the run that trips, and finds it identical afterwards.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from syncline.api.run import RunResult
from syncline.engine.plan import plan_project
from syncline.engine.report import RunReport, TaskReport
from syncline.engine.runner import run_project
from tests.integration.engine.conftest import make_harness
from tests.integration.engine.harness import Harness
from tests.integration.engine.projects import project, small_batches, task
from tests.integration.engine.test_plan import destination_snapshot

pytestmark = pytest.mark.integration

TEN = pa.table(
    {
        "id": pa.array(range(1, 11), pa.int64()),
        "name": pa.array([f"n{i}" for i in range(1, 11)], pa.string()),
    }
)
INCREMENTAL = {"incremental": {"cursorField": "id"}}


def _code(report: RunReport | TaskReport) -> int | None:
    return report.error.code if report.error else None


def _snapshot(dst: Harness) -> Any:
    """What a run must not change: the database as a whole, or a directory's files."""
    if dst.kind == "file":
        assert dst.directory is not None
        return {p.name: p.read_bytes() for p in sorted(dst.directory.iterdir()) if p.is_file()}
    return destination_snapshot(dst)


def _systems(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Harness, Harness]:
    """A SQLite source (read in batches of 3) and a destination of ``kind``."""
    (tmp_path / "src").mkdir()
    (tmp_path / "dst").mkdir()
    src = small_batches(make_harness("sqlite", request, tmp_path / "src"), 3)
    return src, make_harness(kind, request, tmp_path / "dst")


@pytest.mark.parametrize("kind", ["postgresql", "mysql", "sqlite", "csv"])
def test_max_rows_per_run_over_the_limit_in_a_later_task_writes_nothing(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    src, dst = _systems(kind, request, tmp_path)
    src.create("few", TEN.slice(0, 4), keys=["id"])
    src.create("many", TEN, keys=["id"])
    dst.create("dst_table", TEN.slice(0, 2), keys=["id"])
    dst.create("other", TEN.slice(0, 0), keys=["id"])
    few = task("few", source="few", source_extra=INCREMENTAL)  # no state table yet either
    tasks = [few, task("many", source="many", destination="other")]
    before = _snapshot(dst)

    report = run_project(project(src, dst, tasks, max_rows_per_run=5))

    assert _code(report) == 2500, report.message()
    assert _code(report.tasks[1]) == 2500
    assert report.totals.read == report.totals.inserted == 0
    assert _snapshot(dst) == before


@pytest.mark.parametrize("kind", ["postgresql", "mysql", "sqlite", "csv"])
def test_an_empty_source_over_a_filled_destination_trips_and_writes_nothing(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    src, dst = _systems(kind, request, tmp_path)
    src.create("src_table", TEN.slice(0, 0), keys=["id"])
    dst.create("dst_table", TEN.slice(0, 3), keys=["id"])
    guarded = {"emptySourceProtection": True}
    before = _snapshot(dst)

    report = run_project(project(src, dst, [task()], guardrails=guarded))

    assert report.result is RunResult.ERROR
    assert _code(report) == 2503, report.message()
    assert "the destination's dst_table has 3; nothing was written" in str(report.error)
    assert _snapshot(dst) == before
    unguarded = run_project(project(src, dst, [task()]))
    assert unguarded.result is RunResult.COMPLETED, unguarded.message()


def test_empty_source_protection_looks_at_full_reads_only(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """An incremental run past its watermark may well find nothing new; its full refresh
    may not find nothing at all (the SQL step would commit a watermark for an empty
    result: that is a write too). An empty destination has nothing to protect."""
    src, dst = _systems("postgresql", request, tmp_path)
    src.create("src_table", TEN.slice(0, 3), keys=["id"])
    dst.create("dst_table", TEN.slice(0, 0), keys=["id"])
    guarded = {"emptySourceProtection": True}
    t = task(source_extra=INCREMENTAL, query="SELECT * FROM source")
    p = project(src, dst, [t], guardrails=guarded)
    src.execute("DELETE FROM src_table")
    assert run_project(p).result is RunResult.COMPLETED  # an empty destination: exempt
    src.create("more", TEN.slice(0, 3), keys=["id"])
    src.execute("INSERT INTO src_table SELECT * FROM more")
    assert run_project(p).totals.inserted == 3
    src.execute("DELETE FROM src_table WHERE id > 2")
    assert run_project(p).result is RunResult.COMPLETED  # past the watermark: not a full read
    src.execute("DELETE FROM src_table")
    before = _snapshot(dst)

    refresh = run_project(p, full_refresh=True)

    assert _code(refresh) == 2503, refresh.message()
    assert _snapshot(dst) == before


@pytest.mark.parametrize("kind", ["postgresql", "mysql", "sqlite", "csv"])
def test_a_run_changing_too_large_a_share_trips_and_writes_nothing(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    src, dst = _systems(kind, request, tmp_path)
    src.create("src_table", TEN, keys=["id"])
    dst.create("dst_table", TEN, keys=["id"])
    src.execute("UPDATE src_table SET name = 'changed' WHERE id <= 4")  # 4 of 10 rows
    before = _snapshot(dst)

    report = run_project(project(src, dst, [task()], guardrails={"maxChangedShare": 0.3}))

    assert _code(report) == 2504, report.message()
    assert "4 of the 10 rows" in str(report.error), str(report.error)
    assert (report.totals.read, report.totals.updated) == (0, 0)  # the real pass never ran
    assert _snapshot(dst) == before
    within = run_project(project(src, dst, [task()], guardrails={"maxChangedShare": 0.4}))
    assert within.result is RunResult.COMPLETED, within.message()
    assert within.totals.updated == 4


def test_the_changed_share_exempts_an_initial_load_and_counts_inserts(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    src, dst = _systems("sqlite", request, tmp_path)
    src.create("src_table", TEN.slice(0, 8), keys=["id"])
    dst.create("dst_table", TEN.slice(0, 0), keys=["id"])
    guarded = {"maxChangedShare": 0.5}
    first = run_project(project(src, dst, [task()], guardrails=guarded))
    assert first.result is RunResult.COMPLETED
    assert first.totals.inserted == 8
    src.create("more", TEN.slice(8, 2), keys=["id"])
    src.execute("INSERT INTO src_table SELECT * FROM more")
    src.execute("UPDATE src_table SET name = 'x' WHERE id <= 3")
    before = _snapshot(dst)

    report = run_project(project(src, dst, [task()], guardrails={"maxChangedShare": 0.6}))
    assert _code(report) == 2504  # 2 inserts + 3 updates > 4.8
    plan = plan_project(project(src, dst, [task()], guardrails={"maxChangedShare": 0.6}))
    assert _code(plan.report) == 2504
    assert _snapshot(dst) == before

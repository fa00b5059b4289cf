"""A whole run from every source kind and into every sink kind, against the real systems."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from syncline.api.run import RunResult
from syncline.engine.runner import run_project
from tests.integration.engine.conftest import make_harness
from tests.integration.engine.harness import Harness
from tests.integration.engine.projects import project, task

pytestmark = pytest.mark.integration

ROWS = pa.table(
    {
        "id": pa.array([1, 2, 3], pa.int64()),
        "name": pa.array(["ada", "bob", None], pa.string()),
        "score": pa.array([1.5, None, 3.0], pa.float64()),
    }
)
MAPPINGS = [
    {"destination": "id", "source": "id"},
    {
        "destination": "name",
        "source": "name",
        "transforms": [{"type": "default", "value": "n/a"}, {"type": "upper"}],
    },
    {"destination": "score", "source": "score"},
]


def _check(report_result: RunResult, destination: Harness) -> None:
    assert report_result is RunResult.COMPLETED
    rows = destination.content("dst_table")
    assert [r["name"] for r in rows] == ["ADA", "BOB", "N/A"]
    assert [r["score"] for r in rows] == [1.5, None, 3.0]


def test_every_source_feeds_postgresql(
    source_system: Harness, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    source_system.create("src_table", ROWS, keys=["id"])
    dst = make_harness("postgresql", request, tmp_path)
    dst.create("dst_table", ROWS.slice(0, 0), keys=["id"])
    p = project(source_system, dst, [task(mappings=MAPPINGS)])
    report = run_project(p)
    assert report.totals.inserted == 3, report.message()
    _check(report.result, dst)
    assert run_project(p).totals.unchanged == 3


def test_sqlite_feeds_every_sink(
    sink_system: Harness, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    (tmp_path / "src").mkdir()
    src = make_harness("sqlite", request, tmp_path / "src")
    src.create("src_table", ROWS, keys=["id"])
    sink_system.create("dst_table", ROWS.slice(0, 0), keys=["id"])
    p = project(src, sink_system, [task(mappings=MAPPINGS)])
    report = run_project(p)
    assert report.totals.inserted == 3, report.message()
    _check(report.result, sink_system)
    again = run_project(p)
    assert again.totals.unchanged == 3, again.message()

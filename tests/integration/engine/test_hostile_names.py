"""Column and key names are data, never SQL: hostile names merge and round-trip exactly.

Every sink builds SQL (DuckDB's for files) from names users choose and files carry, so
each name here would break, or rewrite, a statement that pasted it in unquoted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from syncline.api.run import RunResult
from syncline.engine.connectors import open_sink
from syncline.engine.connectors.base import MergeCounts
from syncline.engine.plan import plan_project
from syncline.engine.runner import run_project
from tests.integration.engine.conftest import make_harness
from tests.integration.engine.harness import Harness
from tests.integration.engine.projects import project, task

pytestmark = pytest.mark.integration

QUOTE = 'a"b'
INJECTION = "x; DROP TABLE t; --"
KEYS = [INJECTION, QUOTE]
SINKS = ["csv", "parquet", "sqlite", "postgresql", "mysql"]


def _table(rows: list[tuple[str, int, float, str, str]]) -> pa.Table:
    names = [INJECTION, QUOTE, "naïve", "日本", "with space"]
    types = [pa.string(), pa.int64(), pa.float64(), pa.string(), pa.string()]
    columns = zip(*rows, strict=True)
    arrays = [pa.array(list(c), t) for c, t in zip(columns, types, strict=True)]
    return pa.Table.from_arrays(arrays, names=names)


FIRST = _table(
    [
        ("k1", 1, 1.5, "日本語", 'he said "hi", then; left'),
        ("k2", 2, 2.5, "ünïcode", "two words"),
    ]
)
BATCH = _table(
    [
        ("k1", 1, 1.5, "日本語", 'he said "hi", then; left'),  # unchanged
        ("k2", 2, 2.5, "changed", "two words"),  # updated
        ("k3", 3, -0.25, "新", "x'); DROP TABLE t; --"),  # inserted
    ]
)


@pytest.mark.parametrize("kind", SINKS)
def test_a_sink_merges_by_hostile_keys_and_columns(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    dst = make_harness(kind, request, tmp_path)
    dst.create("target", FIRST, keys=KEYS)
    sink = open_sink(dst.spec, dst.credentials, timeout_seconds=5)
    try:
        with sink.transaction():
            counts = sink.merge("target", BATCH.to_batches()[0], KEYS)
            again = sink.merge("target", BATCH.to_batches()[0], KEYS)
    finally:
        sink.close()
    assert counts == MergeCounts(inserted=1, updated=1, unchanged=1)
    assert again == MergeCounts(unchanged=3)
    assert _content(dst) == BATCH.to_pylist()


@pytest.mark.parametrize("kind", SINKS)
def test_a_run_copies_hostile_names_exactly_and_plans_them(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    (tmp_path / "src").mkdir()
    src = make_harness("sqlite", request, tmp_path / "src")
    src.create("src_table", BATCH, keys=KEYS)
    dst = make_harness(kind, request, tmp_path)
    dst.create("dst_table", FIRST, keys=KEYS)
    incremental = {"incremental": {"cursorField": QUOTE}}
    p = project(src, dst, [task(keys=KEYS, source_extra=incremental)])

    plan = plan_project(p)
    first = run_project(p)
    again = run_project(p, full_refresh=True)

    assert first.result is RunResult.COMPLETED, first.message()
    for report in (plan.report, first):
        c = report.totals
        assert (c.inserted, c.updated, c.unchanged) == (1, 1, 1), report.message()
    diffs = {d.key: d for d in plan.samples["copy"]}
    assert diffs[f"{INJECTION}=k2,{QUOTE}=2"].fields == {"日本": ("ünïcode", "changed")}
    assert again.totals.unchanged == 3, again.message()
    assert _content(dst, "dst_table") == BATCH.to_pylist()


def _content(dst: Harness, entity: str = "target") -> list[dict[str, Any]]:
    rows = dst.content(entity, order_by=QUOTE)
    if dst.kind == "sqlite":
        return [{**r, "naïve": float(r["naïve"])} for r in rows]  # REAL keeps 1.5 as 1.5
    return rows

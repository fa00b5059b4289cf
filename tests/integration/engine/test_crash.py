"""SIGKILL mid-run, run again: the destination ends exactly as after an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from syncline.devcluster.databases import DatabaseAccess
from syncline.engine.runner import run_project
from tests.integration.engine.crash_child import build
from tests.integration.engine.harness import Harness, postgres_harness

pytestmark = pytest.mark.integration

ROWS = 3000
REPO = Path(__file__).resolve().parents[3]


def _content_hash(pg: Harness, table: str) -> str:
    [(digest, count)] = pg.execute(
        f"SELECT md5(string_agg(t::text, '|' ORDER BY id)), count(*) FROM {table} t"
    )
    return f"{digest}/{count}"


def _args(
    pg: Harness, project: str, destination: str, delay: float = 0, query: str | None = None
) -> dict[str, object]:
    spec = pg.spec.model_copy(deep=True)
    spec.options.batch_size = 100
    return {
        "spec": spec.model_dump(mode="json", by_alias=True),
        "credentials": pg.credentials,
        "project": project,
        "destination": destination,
        "delay": delay,
        "query": query,
    }


def _source(pg: Harness) -> None:
    # many rows share a cursor value, so batch boundaries fall inside runs of equal values
    pg.execute(
        f"CREATE TABLE src AS SELECT g AS id, g / 7 AS seq, md5(g::text) AS payload "
        f"FROM generate_series(1, {ROWS}) g"
    )
    pg.execute("ALTER TABLE src ADD PRIMARY KEY (id)")
    for table in ("reference", "crashed"):
        pg.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, seq int, payload text)")


def _kill_mid_run(pg: Harness, tmp: Path, query: str | None = None) -> int:
    """Start the crash project in a child, SIGKILL it a third of the way; rows written.

    The child's temporary directory is ``tmp``: a killed run cannot remove what it
    created there (the SQL step's spill directory; in a pod, /tmp goes with the pod)."""
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.integration.engine.crash_child",
            json.dumps(_args(pg, "crash", "crashed", delay=0.05, query=query)),
        ],
        cwd=REPO,
        env={**os.environ, "TMPDIR": str(tmp)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            [(written,)] = pg.execute("SELECT count(*) FROM crashed")
            if written >= ROWS // 3:
                break
            time.sleep(0.02)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    [(written,)] = pg.execute("SELECT count(*) FROM crashed")
    assert 0 < written < ROWS, "the kill must land mid-run"
    return int(written)


def test_sigkill_mid_run_then_rerun_matches_an_uninterrupted_run(
    pg_db: DatabaseAccess, tmp_path: Path
) -> None:
    pg = postgres_harness(pg_db)
    _source(pg)

    assert run_project(build(_args(pg, "ref", "reference"))).totals.inserted == ROWS

    _kill_mid_run(pg, tmp_path)
    [(mark,)] = pg.execute("SELECT watermark FROM _syncline_state WHERE scope = 'test/crash/copy'")

    rerun = run_project(build(_args(pg, "crash", "crashed")))
    assert rerun.result.value == "Completed", rerun.message()
    assert rerun.totals.read < ROWS  # resumed from the committed watermark
    assert int(mark) < ROWS // 7
    assert _content_hash(pg, "crashed") == _content_hash(pg, "reference")
    [(final,)] = pg.execute("SELECT watermark FROM _syncline_state WHERE scope = 'test/crash/copy'")
    assert final == str(ROWS // 7 - 1)  # below the last value: its rows are read again


def test_sigkill_mid_sql_run_then_rerun_matches_an_uninterrupted_run(
    pg_db: DatabaseAccess, tmp_path: Path
) -> None:
    """With a SQL step the watermark commits with the whole result, so the re-run re-reads
    everything the killed run had read and converges by upserting it again."""
    pg = postgres_harness(pg_db)
    _source(pg)
    query = "SELECT id, seq, upper(payload) AS payload FROM source WHERE id % 5 <> 0"
    expected = ROWS - ROWS // 5
    reference = run_project(build(_args(pg, "ref", "reference", query=query)))
    assert reference.totals.inserted == expected, reference.message()

    written = _kill_mid_run(pg, tmp_path, query)
    scope = "SELECT count(*) FROM _syncline_state WHERE scope = 'test/crash/copy'"
    assert pg.execute("SELECT to_regclass('_syncline_state')") == [(None,)] or pg.execute(
        scope
    ) == [(0,)], "no watermark before the whole result is written"

    rerun = run_project(build(_args(pg, "crash", "crashed", query=query)))
    assert rerun.result.value == "Completed", rerun.message()
    assert rerun.totals.read == ROWS
    assert (rerun.totals.unchanged, rerun.totals.inserted) == (written, expected - written)
    assert _content_hash(pg, "crashed") == _content_hash(pg, "reference")
    [(final,)] = pg.execute("SELECT watermark FROM _syncline_state WHERE scope = 'test/crash/copy'")
    assert final == str(ROWS // 7 - 1)

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


def _args(pg: Harness, project: str, destination: str, delay: float = 0) -> dict[str, object]:
    spec = pg.spec.model_copy(deep=True)
    spec.options.batch_size = 100
    return {
        "spec": spec.model_dump(mode="json", by_alias=True),
        "credentials": pg.credentials,
        "project": project,
        "destination": destination,
        "delay": delay,
    }


def test_sigkill_mid_run_then_rerun_matches_an_uninterrupted_run(pg_db: DatabaseAccess) -> None:
    pg = postgres_harness(pg_db)
    # many rows share a cursor value, so batch boundaries fall inside runs of equal values
    pg.execute(
        f"CREATE TABLE src AS SELECT g AS id, g / 7 AS seq, md5(g::text) AS payload "
        f"FROM generate_series(1, {ROWS}) g"
    )
    pg.execute("ALTER TABLE src ADD PRIMARY KEY (id)")
    for table in ("reference", "crashed"):
        pg.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, seq int, payload text)")

    assert run_project(build(_args(pg, "ref", "reference"))).totals.inserted == ROWS

    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.integration.engine.crash_child",
            json.dumps(_args(pg, "crash", "crashed", delay=0.05)),
        ],
        cwd=REPO,
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
    [(mark,)] = pg.execute("SELECT watermark FROM _syncline_state WHERE scope = 'test/crash/copy'")

    rerun = run_project(build(_args(pg, "crash", "crashed")))
    assert rerun.result.value == "Completed", rerun.message()
    assert rerun.totals.read < ROWS  # resumed from the committed watermark
    assert int(mark) < ROWS // 7
    assert _content_hash(pg, "crashed") == _content_hash(pg, "reference")
    [(final,)] = pg.execute("SELECT watermark FROM _syncline_state WHERE scope = 'test/crash/copy'")
    assert final == str(ROWS // 7)

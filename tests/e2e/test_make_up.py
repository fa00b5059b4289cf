"""`make up`'s main job: a fresh control plane, the quickstart, one Completed run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

SYNCLINE = str(Path(sys.executable).with_name("syncline"))


def test_quickstart_ends_with_a_completed_run_with_real_counts(tmp_path: Path) -> None:
    state = tmp_path / "dev"
    try:
        up = subprocess.run(
            [SYNCLINE, "dev", "up", "--quickstart", "--state-dir", str(state)],
            capture_output=True,
            text=True,
            timeout=420,
            check=False,
            env={k: v for k, v in os.environ.items() if "KUBECONFIG" not in k},
        )
        assert up.returncode == 0, up.stderr[-3000:]
        runs = subprocess.run(
            ["kubectl", "--kubeconfig", str(state / "kubeconfig"), "get", "integrationruns"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert "Completed" in runs
        assert " 1500 " in runs  # 1000 accounts + 500 products read
        assert " 1475 " in runs  # upserted: 25 retired products are filtered by the SQL step
        assert "metrics: http://127.0.0.1:9464/metrics" in up.stderr
    finally:
        down = subprocess.run(
            [SYNCLINE, "dev", "down", "--state-dir", str(state)], capture_output=True, text=True
        )
        assert down.returncode == 0, down.stderr

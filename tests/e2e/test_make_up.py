"""`make up`'s main job: a fresh cluster, Syncline installed from manifests/, the quickstart,
one Completed run in a real container, and the operator's metrics through its Service."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import urllib.request
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
        metrics = re.search(r"metrics: (http://127\.0\.0\.1:\d+/metrics)", up.stderr)
        assert metrics, up.stderr[-2000:]
        text = urllib.request.urlopen(metrics.group(1), timeout=5).read().decode()
        assert 'syncline_runs_total{namespace="default",project="crm-to-sales"' in text
    finally:
        down = subprocess.run(
            [SYNCLINE, "dev", "down", "--state-dir", str(state)], capture_output=True, text=True
        )
        assert down.returncode == 0, down.stderr

"""`syncline dev up/status/down` as a developer uses them, in a private state directory."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

SYNCLINE = str(Path(sys.executable).parent / "syncline")


def _syncline(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SYNCLINE, "dev", *args], capture_output=True, text=True, timeout=180)


@pytest.fixture
def state_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="syncline-devcli-"))
    try:
        yield path
    finally:
        _syncline("down", "--state-dir", str(path))
        shutil.rmtree(path, ignore_errors=True)


def test_up_prints_kubeconfig_status_reports_and_down_stops_every_process(
    state_dir: Path,
) -> None:
    up = _syncline("up", "--state-dir", str(state_dir))
    assert up.returncode == 0, up.stderr
    assert up.stdout.strip() == f"export KUBECONFIG={state_dir / 'kubeconfig'}"
    assert "control plane ready in" in up.stderr

    nodes = subprocess.run(
        ["kubectl", "get", "nodes", "-o", "jsonpath={.items[*].metadata.name}"],
        env={**os.environ, "KUBECONFIG": str(state_dir / "kubeconfig")},
        capture_output=True,
        text=True,
        check=True,
    )
    assert nodes.stdout == "syncline-dev"
    status = _syncline("status", "--state-dir", str(state_dir))
    assert status.returncode == 0
    for component in ("etcd", "kube-apiserver", "kube-controller-manager", "node-agent"):
        assert f"{component} " in status.stdout

    pids = [c["pid"] for c in json.loads((state_dir / "state.json").read_text())["components"]]
    assert len(pids) == 4
    down = _syncline("down", "--state-dir", str(state_dir))
    assert down.returncode == 0
    assert (
        down.stdout.strip() == "stopped: node-agent, kube-controller-manager, kube-apiserver, etcd"
    )
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert _syncline("status", "--state-dir", str(state_dir)).returncode == 1
    assert not (state_dir / "etcd").exists()

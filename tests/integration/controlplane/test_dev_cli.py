"""`syncline dev up/status/down` as a developer uses them, in a private state directory."""

from __future__ import annotations

import contextlib
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
COMPONENTS = (
    "etcd",
    "forward-apiserver",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "containerd",
    "kubelet",
    "kube-proxy",
)


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
    assert "cluster ready in" in up.stderr
    netns = json.loads((state_dir / "state.json").read_text())["info"]["netns"]
    assert Path("/run/netns", netns).exists()

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
    for component in COMPONENTS:
        assert f"{component} " in status.stdout

    pids = [c["pid"] for c in json.loads((state_dir / "state.json").read_text())["components"]]
    assert len(pids) == len(COMPONENTS)
    down = _syncline("down", "--state-dir", str(state_dir))
    assert down.returncode == 0
    assert down.stdout.strip() == "stopped: " + ", ".join(reversed(COMPONENTS))
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert _syncline("status", "--state-dir", str(state_dir)).returncode == 1
    assert not (state_dir / "etcd").exists()
    # Nothing left behind: namespace, mounts, cgroups, containers.
    assert not Path("/run/netns", netns).exists()
    assert str(state_dir.resolve()) not in Path("/proc/self/mountinfo").read_text()
    assert not list(Path("/sys/fs/cgroup").glob(f"*/{netns}"))
    assert str(state_dir.resolve()).encode() not in _all_command_lines()


def _all_command_lines() -> bytes:
    lines = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            with contextlib.suppress(OSError):
                lines.append((proc / "cmdline").read_bytes())
    return b"\n".join(lines)

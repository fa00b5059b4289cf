"""The dev node's cgroup root: one subtree per cluster in every hierarchy.

The kubelet (cgroupfs driver) puts every pod under ``cgroupRoot``, which must exist
in each cgroup v1 hierarchy before it starts; cpuset children start empty and must
inherit ``cpus``/``mems`` or no task can join them. Removing the subtree (deepest
first, after its processes are gone) is how ``dev down`` leaves no cgroup behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

CGROUP_MOUNT = Path("/sys/fs/cgroup")


def _hierarchies() -> list[Path]:
    """Each mounted hierarchy (v1 controllers, named ones, and the unified v2 tree)."""
    if not CGROUP_MOUNT.is_dir():
        return []
    return sorted(p for p in CGROUP_MOUNT.iterdir() if p.is_dir() and not p.is_symlink())


def create_root(name: str) -> None:
    """``/<name>`` in every hierarchy, with cpuset's cpus and mems copied from the top."""
    for hierarchy in _hierarchies():
        directory = hierarchy / name
        directory.mkdir(exist_ok=True)
        if hierarchy.name == "cpuset":
            for knob in ("cpuset.cpus", "cpuset.mems"):
                (directory / knob).write_text((hierarchy / knob).read_text())


def pids(name: str) -> set[int]:
    """Every process anywhere under the subtree."""
    found: set[int] = set()
    for hierarchy in _hierarchies():
        for procs in (hierarchy / name).rglob("cgroup.procs"):
            with contextlib.suppress(OSError, ValueError):
                found.update(int(line) for line in procs.read_text().split())
    return found


def kill_all(name: str, timeout: float = 10.0) -> None:
    """SIGKILL every process in the subtree until none is left."""
    deadline = time.monotonic() + timeout
    while (remaining := pids(name)) and time.monotonic() < deadline:
        for pid in remaining:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.1)


def remove_root(name: str) -> None:
    """rmdir the subtree in every hierarchy, children before parents."""
    for hierarchy in _hierarchies():
        top = hierarchy / name
        if not top.is_dir():
            continue
        directories = sorted((p for p in top.rglob("*") if p.is_dir()), key=_depth, reverse=True)
        for directory in [*directories, top]:
            for _ in range(50):  # a cgroup stays busy for a moment after its last task exits
                try:
                    directory.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.1)


def _depth(path: Path) -> int:
    return len(path.parts)

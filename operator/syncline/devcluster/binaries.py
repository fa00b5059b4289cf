"""Where the control-plane binaries are: built from the Go module proxy and cached.

``tools/k8s/build.sh`` owns the build and the cache key; it prints the cache
directory and returns instantly when the binaries exist. ``SYNCLINE_K8S_BIN_DIR``
points at prebuilt binaries instead (e.g. a developer's own build).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

BINARIES = ("etcd", "kube-apiserver", "kube-controller-manager")


def repo_root() -> Path:
    """The Syncline checkout: SYNCLINE_REPO, else the one this package is installed from."""
    configured = os.environ.get("SYNCLINE_REPO")
    root = Path(configured) if configured else Path(__file__).resolve().parents[3]
    if not (root / "tools" / "k8s" / "build.sh").is_file():
        raise FileNotFoundError(
            f"no tools/k8s/build.sh under {root}; set SYNCLINE_REPO to the Syncline checkout"
        )
    return root


def k8s_bin_dir() -> Path:
    """A directory holding etcd, kube-apiserver and kube-controller-manager.

    Builds them on first use, which takes 15-25 minutes on two cores.
    """
    configured = os.environ.get("SYNCLINE_K8S_BIN_DIR")
    if configured:
        directory = Path(configured)
    else:
        script = repo_root() / "tools" / "k8s" / "build.sh"
        result = subprocess.run(
            ["bash", str(script)], check=True, stdout=subprocess.PIPE, text=True
        )
        directory = Path(result.stdout.strip().splitlines()[-1])
    missing = [name for name in BINARIES if not (directory / name).is_file()]
    if missing:
        raise FileNotFoundError(f"{directory} lacks {', '.join(missing)}")
    return directory

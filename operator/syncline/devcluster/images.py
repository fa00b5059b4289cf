"""The images the dev node runs: Syncline's own and the pod sandbox's pause image.

``tools/image/build.sh`` (``make image``) owns the build and its cache key; it prints
one JSON object naming both images and their OCI archives, and returns at once when
the sources have not changed. The node imports the archives into containerd.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from syncline.devcluster.binaries import repo_root


@dataclass(frozen=True)
class Images:
    """Image references and the OCI archives that hold them."""

    image_ref: str
    image_archive: Path
    pause_ref: str
    pause_archive: Path
    size_bytes: int

    @classmethod
    def from_json(cls, text: str) -> Images:
        data = json.loads(text)
        return cls(
            image_ref=data["image"],
            image_archive=Path(data["image_archive"]),
            pause_ref=data["pause_image"],
            pause_archive=Path(data["pause_archive"]),
            size_bytes=int(data["image_size_bytes"]),
        )


def build_images() -> Images:
    """Build (or find cached) images; the first build takes a few minutes."""
    script = repo_root() / "tools" / "image" / "build.sh"
    done = subprocess.run(["bash", str(script)], check=True, stdout=subprocess.PIPE, text=True)
    return Images.from_json(done.stdout.strip().splitlines()[-1])

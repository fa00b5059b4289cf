"""Load the manifests in examples/ and the invalid cases in tests/data/invalid/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
INVALID = REPO / "tests" / "data" / "invalid"


def syncline_objects(root: Path = EXAMPLES) -> Iterator[tuple[str, dict[str, Any]]]:
    """(file:index, object) for every syncline.dev object under ``root``."""
    for path in sorted(root.rglob("*.yaml")):
        for index, obj in enumerate(yaml.safe_load_all(path.read_text())):
            if obj and str(obj.get("apiVersion", "")).startswith("syncline.dev/"):
                yield f"{path.relative_to(REPO)}:{index}", obj


def invalid_cases() -> Iterator[tuple[str, dict[str, Any], str]]:
    """(file, object, expected field path) for every invalid example."""
    for path in sorted(INVALID.glob("*.yaml")):
        text = path.read_text()
        expect = next(
            line.split(":", 1)[1].strip() for line in text.splitlines() if "# expect:" in line
        )
        yield path.name, yaml.safe_load(text), expect

"""The webhook body schemas as docs/notifications.md publishes them (the doc is the source)."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

DOC = Path(__file__).resolve().parents[2] / "docs" / "notifications.md"

_BLOCK = re.compile(r"<!-- schema: (\w+) -->\s*```json\n(.*?)\n```", re.DOTALL)


@cache
def documented_schemas() -> dict[str, dict[str, Any]]:
    """``{"generic": schema, "slack": schema, "teams": schema}`` from the doc."""
    text = DOC.read_text()
    return {name: json.loads(body) for name, body in _BLOCK.findall(text)}


def schema_errors(format: str, body: Any) -> list[str]:
    """Every way ``body`` departs from the documented schema of ``format`` (none: it fits)."""
    validator = Draft202012Validator(
        documented_schemas()[format], format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(body)
    ]

"""The `syncline` command's generated-artefact commands and help."""

from __future__ import annotations

import json
import subprocess
import sys

from syncline.cli.main import COMMANDS


def _syncline(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from syncline.cli.main import main; main()", *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_help_lists_every_command() -> None:
    out = _syncline("--help")
    assert out.returncode == 0
    for name in COMMANDS:
        assert name in out.stdout


def test_crds_check_passes_on_the_committed_crds() -> None:
    out = _syncline("crds", "--check")
    assert out.returncode == 0, out.stderr


def test_errors_json_lists_the_catalog() -> None:
    out = _syncline("errors", "--json")
    rows = json.loads(out.stdout)
    assert {"code": 1600, "name": "InvalidCron"}.items() <= rows[
        [r["code"] for r in rows].index(1600)
    ].items()

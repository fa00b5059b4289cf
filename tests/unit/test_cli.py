"""The `syncline` command's generated-artefact commands and help."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from click.testing import CliRunner

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


def test_run_now_full_refresh_asks_for_one(monkeypatch: pytest.MonkeyPatch) -> None:
    from syncline.cli import runs
    from syncline.kube import manual

    asked: list[dict[str, Any]] = []

    def start_run(*args: Any, **kwargs: Any) -> manual.StartedRun:
        asked.append(kwargs)
        return manual.StartedRun(job="crm-manual-1", run="crm-manual-1")

    monkeypatch.setattr(runs, "kube_context", lambda namespace: (None, "team-a"))
    monkeypatch.setattr(manual, "start_run", start_run)
    out = CliRunner().invoke(runs.run_now, ["crm", "--full-refresh"])
    assert out.exit_code == 0, out.output
    assert out.output == "started full refresh crm-manual-1 (job crm-manual-1)\n"
    assert asked == [{"full_refresh": True}]
    CliRunner().invoke(runs.run_now, ["crm"])
    assert asked[-1] == {"full_refresh": False}

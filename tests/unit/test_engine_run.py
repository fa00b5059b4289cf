"""A run pod's execution publishes no credential value: status, error, log, stderr.

The Kubernetes side (RunRecord, Reader) is replaced by fakes that keep what would be
sent to the API server; the engine itself runs for real (on a SQLite path that leaks).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from syncline.api.connection import ConnectionSpec, credential_env_var
from syncline.api.project import Limits
from syncline.api.run import IntegrationRunStatus, Trigger
from syncline.api.task import Task
from syncline.engine.project import ResolvedConnection, ResolvedProject
from syncline.errors import SynclineError
from syncline.kube import engine_run

SECRET = "hunter2-canary"


class FakeRecord:
    """What RunRecord would write to the API server."""

    sent: list[Any]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.uid = "uid-1"
        self.trigger = Trigger.SCHEDULE
        FakeRecord.sent = []

    def ensure(self, *args: Any) -> None: ...

    def started(self, *, first_only: bool = False) -> None: ...

    def progress(self, status: IntegrationRunStatus) -> None:
        FakeRecord.sent.append(status.model_dump_json())

    def finished(self, status: IntegrationRunStatus) -> None:
        FakeRecord.sent.append(status.model_dump_json())

    def failed(self, error: SynclineError, started: Any) -> None:
        FakeRecord.sent.append(str(error))
        FakeRecord.sent.append(json.dumps(error.params, default=str))

    def store_log(self, text: str, part: str = "run.log") -> None:
        FakeRecord.sent.append(text)


def _project(directory: Path) -> ResolvedProject:
    # The file's directory is named like the secret: the error names the path.
    leaky = ConnectionSpec.model_validate(
        {"type": "sqlite", "endpoint": {"path": str(directory / SECRET / "x.db")}}
    )
    return ResolvedProject(
        namespace="team-a",
        name="nightly",
        tasks=[
            Task.model_validate(
                {
                    "name": "copy",
                    "source": {"connection": "src", "entity": "a"},
                    "destination": {"connection": "src", "entity": "b", "keys": ["id"]},
                }
            )
        ],
        connections={"src": ResolvedConnection("src", leaky, {})},
        integration_keys=[],
        org_units=None,
        limits=Limits(),
    )


def _execute(monkeypatch: pytest.MonkeyPatch, reader: Any) -> int:
    monkeypatch.setenv(credential_env_var("dwh", "password"), SECRET)
    monkeypatch.setattr(engine_run, "RunRecord", FakeRecord)
    monkeypatch.setattr(engine_run, "Reader", lambda *a: reader)
    return engine_run.execute(
        None,  # type: ignore[arg-type]
        namespace="team-a",
        project="nightly",
        run_name="nightly-1",
        trigger=Trigger.SCHEDULE,
        full_refresh=False,
    )


class _Reader:
    def __init__(self, resolved: ResolvedProject | None = None) -> None:
        self.resolved = resolved

    def project(self, name: str) -> tuple[Any, None]:
        if self.resolved is None:
            raise SynclineError("ConnectionUnreachable", endpoint="db", detail=f"as {SECRET}")
        model = type("Model", (), {"metadata": type("Meta", (), {"uid": "p-1"})()})()
        return model, None

    def resolve(self, model: Any, env: Any) -> ResolvedProject:
        assert self.resolved is not None
        return self.resolved


def test_a_failed_run_keeps_its_code_and_loses_the_secret(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _execute(monkeypatch, _Reader(_project(tmp_path)))
    assert code == 1
    final = json.loads(FakeRecord.sent[-2])
    assert final["error_code"] == 2000
    assert final["message"].startswith("2000 ConnectionUnreachable: Cannot reach ")
    for text in [*FakeRecord.sent, *capsys.readouterr()]:
        assert SECRET not in text


def test_an_error_before_the_run_loses_the_secret_too(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _execute(monkeypatch, _Reader()) == 1
    assert FakeRecord.sent[0] == "2000 ConnectionUnreachable: Cannot reach db: as ***"
    for text in [*FakeRecord.sent, *capsys.readouterr()]:
        assert SECRET not in text

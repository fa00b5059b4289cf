"""Guardrails in the operator: a run that trips one suspends its project (CronJob paused,
Stalled with the catalog code, a Warning Event) until a resume token lifts it.

Runs are recorded the way the engine records them (``RunRecord``), without pods: what is
checked is what the operator makes of a finished run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from syncline.api.run import IntegrationRunStatus, RunResult, Trigger
from syncline.devcluster.databases import DatabaseAccess
from syncline.kube.runrecord import RunRecord
from tests.fixtures.notifications import Receiver
from tests.integration.operator.conftest import make_world, project_spec
from tests.integration.operator.harness import GROUP, VERSION, Cluster, OperatorProcess, wait_for

pytestmark = pytest.mark.integration


def _project(
    cluster: Cluster, warehouse: DatabaseAccess, guardrails: dict[str, Any], **extra: Any
) -> None:
    make_world(cluster, warehouse)
    spec = project_spec(guardrails=guardrails, **extra)
    cluster.create("integrationprojects", "sync", spec, "IntegrationProject")
    cluster.wait_ready("integrationprojects", "sync", timeout=90)
    assert _suspended(cluster) is False


def _finish(
    cluster: Cluster,
    api: client.ApiClient,
    name: str,
    result: RunResult,
    code: int | None = None,
    at: datetime | None = None,
) -> None:
    """A run of project sync that ended ``result`` (as the engine records it), folded."""
    run = RunRecord(api, cluster.namespace, name, "sync", Trigger.SCHEDULE)
    run.ensure(cluster.get("integrationprojects", "sync")["metadata"]["uid"], name)
    end = (at or datetime.now(UTC)).replace(microsecond=0)
    message = f"{code} Refused: the run was refused" if code else "3 read"
    run.finished(
        IntegrationRunStatus(
            result=result,
            error_code=code,
            message=message,
            start_time=end - timedelta(seconds=1),
            completion_time=end,
        )
    )
    wait_for(
        lambda: (_status(cluster).get("lastRun") or {}).get("name") == name,
        30,
        f"run {name} to reach its project",
    )


def _status(cluster: Cluster) -> dict[str, Any]:
    return cluster.get("integrationprojects", "sync").get("status") or {}


def _suspended(cluster: Cluster) -> bool | None:
    cronjob = cluster.cronjob("sync")
    return None if cronjob is None else bool(cronjob["spec"]["suspend"])


def _condition(cluster: Cluster, kind: str) -> dict[str, Any] | None:
    return next((c for c in _status(cluster).get("conditions", []) if c["type"] == kind), None)


def _warnings(cluster: Cluster, reason: str) -> list[str]:
    return [
        e["message"]
        for e in cluster.events()
        if e["involvedObject"]["name"] == "sync"
        and e["reason"] == reason
        and e["type"] == "Warning"
    ]


def _syncline(kubeconfig: Path, *args: str) -> str:
    done = subprocess.run(
        [str(Path(sys.executable).with_name("syncline")), *args],
        env={**os.environ, "KUBECONFIG": str(kubeconfig)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def test_a_run_refused_by_a_guardrail_suspends_the_project_until_resumed(
    cluster: Cluster,
    warehouse: DatabaseAccess,
    start_operator: Callable[..., OperatorProcess],
    kube_api: client.ApiClient,
    kubeconfig_path: Path,
    receiver: Receiver,
) -> None:
    start_operator()
    cluster.secret("hook", {"url": receiver.url("/ops")})
    hook = {"name": "ops", "urlSecretRef": {"name": "hook"}}
    _project(
        cluster, warehouse, {"emptySourceProtection": True}, notifications={"webhooks": [hook]}
    )
    before = datetime.now(UTC) - timedelta(minutes=2)
    _finish(cluster, kube_api, "sync-ok", RunResult.COMPLETED, at=before)
    assert _suspended(cluster) is False

    _finish(cluster, kube_api, "sync-empty", RunResult.ERROR, 2503, before + timedelta(minutes=1))

    ready = cluster.wait_reason("integrationprojects", "sync", "SuspendedByGuardrail")
    assert ready["status"] == "False"
    assert ready["message"].startswith("2506 SuspendedByGuardrail: Project sync is suspended")
    assert "since run sync-empty: 2503 Refused" in ready["message"]
    assert "syncline resume sync" in ready["message"]
    stalled = _condition(cluster, "Stalled")
    assert stalled is not None
    assert (stalled["status"], stalled["reason"]) == ("True", "SuspendedByGuardrail")
    assert _suspended(cluster) is True
    trip = _status(cluster)["guardrail"]
    assert (trip["code"], trip["run"]) == (2503, "sync-empty")
    assert wait_for(lambda: _warnings(cluster, "SuspendedByGuardrail"), 30, "a Warning Event")
    [sent] = wait_for(lambda: receiver.got("/ops"), 30, "the tripped run's notification")
    assert (sent.body["run"]["name"], sent.body["outcome"]) == ("sync-empty", "Error")
    assert sent.body["problems"][0]["code"] == 2503

    out = _syncline(kubeconfig_path, "resume", "sync", "-n", cluster.namespace, "--token", "t1")

    assert "resuming sync (token t1); it was suspended by run sync-empty" in out
    wait_for(lambda: _suspended(cluster) is False, 30, "the CronJob to be resumed")
    status = _status(cluster)
    assert "guardrail" not in status
    assert status["lastResumeToken"] == "t1"
    # The last run still failed: not Ready, but waiting for the next run, not Stalled.
    ready = cluster.wait_reason("integrationprojects", "sync", "RunFailed")
    assert _condition(cluster, "Stalled") is None
    _finish(
        cluster,
        kube_api,
        "sync-after",
        RunResult.COMPLETED,
        at=datetime.now(UTC) + timedelta(seconds=2),
    )
    assert cluster.wait_ready("integrationprojects", "sync")["reason"] == "Scheduled"
    again = _syncline(kubeconfig_path, "resume", "sync", "-n", cluster.namespace)
    assert "sync is not suspended by a guardrail" in again


def test_too_many_failed_runs_suspend_and_a_resume_annotation_starts_afresh(
    cluster: Cluster,
    warehouse: DatabaseAccess,
    start_operator: Callable[..., OperatorProcess],
    kube_api: client.ApiClient,
) -> None:
    start_operator()
    _project(cluster, warehouse, {"maxRunErrorRate": {"share": 0.5, "runs": 3}})  # 1 in 3
    start = datetime.now(UTC) - timedelta(minutes=10)
    _finish(cluster, kube_api, "sync-1", RunResult.ERROR, 2000, start)
    _finish(cluster, kube_api, "sync-2", RunResult.COMPLETED, None, start + timedelta(minutes=1))
    cluster.wait_reason("integrationprojects", "sync", "Scheduled")
    assert _suspended(cluster) is False

    _finish(cluster, kube_api, "sync-3", RunResult.ERROR, 2000, start + timedelta(minutes=2))

    ready = cluster.wait_reason("integrationprojects", "sync", "SuspendedByGuardrail")
    assert (
        "2505 RunErrorRateExceeded: 2 of the last 3 finished runs of project sync"
        in (ready["message"])
    )
    assert _suspended(cluster) is True
    assert _status(cluster)["guardrail"]["code"] == 2505
    assert wait_for(lambda: _warnings(cluster, "SuspendedByGuardrail"), 30, "a Warning Event")

    # GitOps: one field. Each token resumes once; the window starts afresh from it.
    _annotate(cluster, "resume-1")
    wait_for(lambda: _suspended(cluster) is False, 30, "the CronJob to be resumed")
    assert "guardrail" not in _status(cluster)
    _finish(
        cluster, kube_api, "sync-4", RunResult.ERROR, 2000, datetime.now(UTC) + timedelta(seconds=2)
    )
    cluster.wait_reason("integrationprojects", "sync", "RunFailed")
    assert _suspended(cluster) is False  # 1 Error since the resume: 1 allowed in 3
    later = datetime.now(UTC) + timedelta(seconds=3)
    _finish(cluster, kube_api, "sync-5", RunResult.ERROR, 2000, later)
    cluster.wait_reason("integrationprojects", "sync", "SuspendedByGuardrail")
    assert _suspended(cluster) is True
    # The token resume-1 is still there, already spent: the new trip holds.
    assert _status(cluster)["guardrail"]["run"] == "sync-5"


def _annotate(cluster: Cluster, token: str) -> None:
    cluster.custom.patch_namespaced_custom_object(
        GROUP,
        VERSION,
        cluster.namespace,
        "integrationprojects",
        "sync",
        {"metadata": {"annotations": {"syncline.dev/resume": token}}},
    )

"""The IntegrationRun documents everyone writes: the run itself and its Error ending.

The engine, the operator (watching Jobs) and ``syncline runs fail`` all create runs or
end them in Error; building those documents in one place keeps the three identical, so
a run looks the same whoever wrote it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from syncline.api.base import API_VERSION
from syncline.api.run import RunResult
from syncline.errors import SynclineError
from syncline.history.naming import PROJECT_LABEL, TRIGGER_LABEL


def rfc3339(moment: datetime) -> str:
    """Kubernetes' timestamp format (UTC, second precision)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def run_manifest(
    name: str,
    project: str,
    trigger: str,
    project_uid: str | None,
    job: str | None,
    *,
    full_refresh: bool = False,
) -> dict[str, Any]:
    """A new IntegrationRun, owned by its project when the project's uid is known."""
    metadata: dict[str, Any] = {
        "name": name,
        "labels": {PROJECT_LABEL: project, TRIGGER_LABEL: trigger},
    }
    if project_uid:
        metadata["ownerReferences"] = [
            {
                "apiVersion": API_VERSION,
                "kind": "IntegrationProject",
                "name": project,
                "uid": project_uid,
            }
        ]
    spec: dict[str, Any] = {"projectRef": {"name": project}, "trigger": trigger}
    if job:
        spec["jobRef"] = {"name": job}
    if full_refresh:
        spec["fullRefresh"] = True
    return {"apiVersion": API_VERSION, "kind": "IntegrationRun", "metadata": metadata, "spec": spec}


def succeeded_condition(result: RunResult, message: str, now: datetime) -> dict[str, Any]:
    """Succeeded: True when the run's data moved (Completed or Warning)."""
    holds = result in (RunResult.COMPLETED, RunResult.WARNING)
    return {
        "type": "Succeeded",
        "status": "True" if holds else "False",
        "reason": result.value,
        "message": message[:1000],
        "lastTransitionTime": rfc3339(now),
    }


def error_status(
    error: SynclineError, ended: datetime, started: datetime | None = None
) -> dict[str, Any]:
    """The status patch that ends a run in Error with a catalog code."""
    status: dict[str, Any] = {
        "result": RunResult.ERROR.value,
        "errorCode": error.code,
        "message": str(error),
        "completionTime": rfc3339(ended),
        "conditions": [succeeded_condition(RunResult.ERROR, str(error), ended)],
    }
    if started is not None:
        status["startTime"] = rfc3339(started)
        status["durationSeconds"] = (ended - started).total_seconds()
    return status

"""Manual runs, retries and stopping stuck runs, through the Kubernetes API.

A manual run is a Job made from the project's CronJob template and owned by the
CronJob, so ``concurrencyPolicy: Forbid`` also keeps the schedule from starting a
run beside it. Overlap is refused up front with 1670 PendingRunAlreadyExists. The same
start serves ``syncline run-now``, the project's run-now and full-refresh annotations and
IntegrationRuns created as run requests.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from syncline.api.run import RunResult, Trigger
from syncline.errors import SynclineError
from syncline.history.naming import PROJECT_LABEL, manual_job_name, run_name_for_job
from syncline.history.records import error_status
from syncline.kube import plain
from syncline.kube.client import StatusAddress, update_status
from syncline.scheduling.cronjob import build_job_from_cronjob, cronjob_name, project_labels

RUNS = "integrationruns"
MAX_JOB_NAME = 63
"""A Job's name is also its pods' ``job-name`` label value."""


@dataclass(frozen=True)
class StartedRun:
    job: str
    run: str


def _jobs(namespace: str, name: str | None = None) -> str:
    return plain.path("batch/v1", "jobs", namespace, name)


def active_run(api: client.ApiClient, namespace: str, project: str) -> str | None:
    """The name of a Job of this project that has not finished, if any."""
    selector = f"{PROJECT_LABEL}={project}"
    for job in plain.get(api, _jobs(namespace), labelSelector=selector)["items"]:
        meta = job.get("metadata") or {}
        if not _job_finished(job) and meta.get("deletionTimestamp") is None:
            return str(meta["name"])
    return None


def start_run(
    api: client.ApiClient,
    namespace: str,
    project: str,
    token: str | None = None,
    trigger: Trigger = Trigger.MANUAL,
    *,
    full_refresh: bool = False,
) -> StartedRun:
    """Start a run of ``project`` now; the same token never starts two runs."""
    busy = active_run(api, namespace, project)
    if busy is not None:
        raise SynclineError("PendingRunAlreadyExists", name=project, run=busy)
    name = manual_job_name(project, token or datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f"))
    try:
        _create_job(api, namespace, project, name, trigger, full_refresh)
    except ApiException as err:
        if err.status == 409:
            raise SynclineError("ActionAlreadyPerformed", action=f"run-now {token}") from err
        raise
    return StartedRun(job=name, run=run_name_for_job(name))


def start_requested_run(
    api: client.ApiClient,
    namespace: str,
    run: str,
    project: str,
    trigger: Trigger = Trigger.MANUAL,
    *,
    full_refresh: bool = False,
) -> None:
    """Start the Job of an IntegrationRun someone created to request a run.

    The Job takes the run's name, so the engine records into that very run (a run is
    named after its Job). Safe to repeat: the run's own Job is not an overlap, and finding
    it already created is success.
    """
    if len(run) > MAX_JOB_NAME:
        detail = f"a requested run's Job takes its name, at most {MAX_JOB_NAME} characters"
        raise SynclineError("ParameterInvalid", field="metadata.name", detail=detail)
    busy = active_run(api, namespace, project)
    if busy is not None and busy != run:
        raise SynclineError("PendingRunAlreadyExists", name=project, run=busy)
    try:
        _create_job(api, namespace, project, run, trigger, full_refresh)
    except ApiException as err:
        if err.status != 409:
            raise
        existing = plain.get(api, _jobs(namespace, run))
        labels = (existing.get("metadata") or {}).get("labels") or {}
        if labels.get(PROJECT_LABEL) != project_labels(project)[PROJECT_LABEL]:
            raise SynclineError("ItemAlreadyExists", kind="Job", name=run) from err


def _create_job(
    api: client.ApiClient,
    namespace: str,
    project: str,
    name: str,
    trigger: Trigger,
    full_refresh: bool,
) -> None:
    """Create Job ``name`` from the project's CronJob (1002 when it has none)."""
    where = plain.path("batch/v1", "cronjobs", namespace, cronjob_name(project))
    try:
        manifest = plain.get(api, where)
    except ApiException as err:
        if err.status == 404:
            raise SynclineError("ItemNotFound", kind="CronJob of project", name=project) from err
        raise
    job = build_job_from_cronjob(manifest, name, trigger, full_refresh=full_refresh)
    plain.create(api, _jobs(namespace), job)


def fail_run(api: client.ApiClient, namespace: str, run: str, user: str) -> None:
    """Mark a stuck Pending/Running run as Error and stop its Job (and so its pod)."""
    custom = client.CustomObjectsApi(api)
    marked = SynclineError("RunMarkedFailed", name=run, user=user)

    def unless_finished(current: dict[str, Any]) -> dict[str, Any]:
        result = (current.get("status") or {}).get("result", RunResult.PENDING.value)
        if RunResult(result).finished:  # also when the engine finished it a moment ago
            raise SynclineError("RunCannotBeCancelled", name=run, result=result)
        return error_status(marked, datetime.now(UTC))

    obj = update_status(custom, StatusAddress(RUNS, namespace, run), unless_finished)
    if obj is None:
        raise SynclineError("RunNotFound", name=run)
    job = obj.get("spec", {}).get("jobRef", {}).get("name")
    if job:
        try:
            plain.delete(api, _jobs(namespace, job), propagationPolicy="Background")
        except ApiException as err:
            if err.status != 404:
                raise


def _job_finished(job: dict[str, Any]) -> bool:
    for condition in (job.get("status") or {}).get("conditions") or []:
        if condition.get("type") in ("Complete", "Failed") and condition.get("status") == "True":
            return True
    return False

"""Runs: one IntegrationRun per Job, finished runs folded into the project, retention.

- Every Job labelled ``syncline.dev/project`` gets exactly one IntegrationRun, named
  after the Job (creating it twice is a 409, so restarts and races are harmless).
- A Job that ends Failed while its run still looks unfinished (pod killed, deadline
  exceeded, engine crashed) turns the run into Error with a code: never left Running.
- A finished run newer than the project's lastRun updates lastRun, totals, the
  LastRunSucceeded condition and the metrics, exactly once, then asks the project's
  reconciler to recompute Ready (a project whose last run failed is not healthy).
- A timer deletes runs past the project's retention; their logs go with them
  (owner references).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import kopf
from kubernetes.client.exceptions import ApiException

from syncline.api.base import GROUP, VERSION
from syncline.api.project import IntegrationProjectStatus, LastRun
from syncline.api.run import IntegrationRun, RunResult
from syncline.controllers import audit_trail, kube, starts
from syncline.controllers.dependencies import request_reconcile
from syncline.controllers.guardrails import suspend_if_tripped
from syncline.controllers.notifications import notify_after_fold, standing_fields
from syncline.controllers.status import last_run_condition
from syncline.errors import SynclineError
from syncline.history.aggregate import add_to_totals, is_newer, last_run_of, succeeded
from syncline.history.naming import PROJECT_LABEL, TRIGGER_LABEL, effective_trigger
from syncline.history.records import error_status, rfc3339, run_manifest
from syncline.history.retention import expired
from syncline.observability.events import post_run_result
from syncline.observability.metrics import RECORDER, FinishedRun
from syncline.scheduling.cronjob import KILLED_EXIT_CODE, is_full_refresh

logger = logging.getLogger(__name__)
RUNS = "integrationruns"


def _custom() -> Any:
    return kube.custom_api()


def ensure_run_for_job(job: dict[str, Any]) -> None:
    """Create the Job's IntegrationRun unless it exists (the engine may have been first)."""
    meta = job["metadata"]
    namespace, project_name = meta["namespace"], meta["labels"][PROJECT_LABEL]
    project = kube.get_object(kube.PROJECT, namespace, project_name)
    if project is None:
        return
    last = ((project.get("status") or {}).get("lastRun") or {}).get("result")
    trigger = effective_trigger(meta["labels"].get(TRIGGER_LABEL), last)
    body = run_manifest(
        meta["name"],
        project_name,
        trigger,
        project["metadata"]["uid"],
        meta["name"],
        full_refresh=is_full_refresh(job),
    )
    try:
        _custom().create_namespaced_custom_object(GROUP, VERSION, namespace, RUNS, body)
    except ApiException as err:
        if err.status != 409:
            raise


def failure_of_job(job: dict[str, Any]) -> SynclineError | None:
    """Why a Job failed, as a catalog error; None while it has not failed."""
    for condition in (job.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Failed" and condition.get("status") == "True":
            name = job["metadata"]["name"]
            reason, detail = condition.get("reason"), condition.get("message") or ""
            if reason == "DeadlineExceeded":
                seconds = job["spec"].get("activeDeadlineSeconds", "?")
                return SynclineError("RunTimedOut", name=name, seconds=seconds)
            if reason == "PodFailurePolicy" and str(KILLED_EXIT_CODE) in detail:
                why = f"exit code {KILLED_EXIT_CODE}: out of memory, or stopped by the kubelet"
                return SynclineError("RunPodKilled", name=name, detail=why)
            detail = detail or reason or "pod failed"
            return SynclineError("RunPodFailed", name=name, detail=detail)
    return None


def close_failed_run(job: dict[str, Any], error: SynclineError) -> None:
    """Record a failed Job's run as Error unless the run already finished (the engine
    may write its own result at the same moment: the write is conditional)."""
    meta = job["metadata"]

    def unless_finished(run: dict[str, Any]) -> dict[str, Any] | None:
        result = RunResult((run.get("status") or {}).get("result", RunResult.PENDING.value))
        return None if result.finished else error_status(error, datetime.now(UTC))

    if kube.update_status(kube.RUN, meta["namespace"], meta["name"], unless_finished):
        target = f"integrationruns/{meta['namespace']}/{meta['name']}"
        audit_trail.record("run.fail", target, audit_trail.failure(error))


_ALL_LAST_RUN_FIELDS: dict[str, None] = {
    f.alias or name: None for name, f in LastRun.model_fields.items()
}


def fold_into_project(run_body: dict[str, Any]) -> None:
    """Update the project's lastRun/totals/LastRunSucceeded from a newer finished run.

    Totals are a running sum and conditions a whole list, both computed from the
    project as read: the write is conditional on nothing having changed since.
    """
    run = IntegrationRun.model_validate(run_body)
    namespace = run.metadata.namespace or ""
    if run.status is None:
        return
    finished = run.status
    seen: list[dict[str, Any]] = []

    def folded(project: dict[str, Any]) -> dict[str, Any] | None:
        seen[:] = [project]
        raw_status = project.get("status") or {}
        status = IntegrationProjectStatus.model_validate(
            {k: v for k, v in raw_status.items() if k != "conditions"}
        )
        if not is_newer(run, status):
            return None
        fields: dict[str, Any] = {
            # null for every field the new run lacks: a merge patch would keep the old
            # run's errorCode under a Completed lastRun
            "lastRun": {**_ALL_LAST_RUN_FIELDS, **last_run_of(run).to_wire()},
            "totals": add_to_totals(status.totals, run).to_wire(),
            "conditions": last_run_condition(
                raw_status.get("conditions") or [],
                finished.result.value,
                finished.message or "",
                datetime.now(UTC),
            ),
        }
        if succeeded(finished.result) and finished.completion_time:
            fields["lastSuccessfulTime"] = rfc3339(finished.completion_time)
        if finished.start_time:
            fields["lastScheduleTime"] = rfc3339(finished.start_time)
        return fields | standing_fields(run, status)

    project = kube.update_status(kube.PROJECT, namespace, run.spec.project_ref.name, folded)
    if project is None:
        if seen:  # folded before: notify unless that already happened (a restart between)
            notify_after_fold(run_body, seen[0])
            suspend_if_tripped(run, seen[0])  # likewise
        return
    _record_metrics(run, namespace)
    post_run_result(project, run.metadata.name or "", finished.result.value, finished.message or "")
    suspend_if_tripped(run, project)
    request_reconcile(
        kube.PROJECT, namespace, run.spec.project_ref.name, f"run:{run.metadata.name}"
    )
    notify_after_fold(run_body, project)


def _record_metrics(run: IntegrationRun, namespace: str) -> None:
    assert run.status is not None
    s = run.status
    finished = s.completion_time or datetime.now(UTC)
    RECORDER.run_finished(
        FinishedRun(
            namespace=namespace,
            project=run.spec.project_ref.name,
            result=s.result.value,
            duration_seconds=s.duration_seconds or 0.0,
            completion_timestamp=finished.timestamp(),
            rows={
                "inserted": s.inserted,
                "updated": s.updated,
                "unchanged": s.unchanged,
                "filtered": s.filtered,
                "failed": s.failed,
            },
        )
    )


def delete_expired_runs(namespace: str, project: str, retention_days: int) -> list[str]:
    """Delete the project's finished runs older than its retention; returns their names."""
    listing = _custom().list_namespaced_custom_object(
        GROUP, VERSION, namespace, RUNS, label_selector=f"{PROJECT_LABEL}={project}"
    )
    runs = [IntegrationRun.model_validate(item) for item in listing["items"]]
    names = expired(runs, retention_days, datetime.now(UTC))
    for name in names:
        delete_run(namespace, name)
    return names


def delete_run(namespace: str, name: str) -> None:
    """Delete one run (already gone is fine)."""
    try:
        _custom().delete_namespaced_custom_object(GROUP, VERSION, namespace, RUNS, name)
    except ApiException as err:
        if err.status != 404:
            raise


@kopf.on.event("batch", "v1", "jobs", labels={PROJECT_LABEL: kopf.PRESENT})
def job_event(event: kopf.RawEvent, body: kopf.Body, **_: Any) -> None:
    """Each project Job has a run; a failed or vanished Job closes its run as Error."""
    job = dict(body)
    starts.track(job, deleted=event.get("type") == "DELETED")
    if event.get("type") == "DELETED":
        # Deleted by hand, by garbage collection or before its pod ever ran: nobody
        # else will close the run (a finished run is left as it is).
        detail = "its Job was deleted before the run finished"
        close_failed_run(
            job, SynclineError("RunPodFailed", name=job["metadata"]["name"], detail=detail)
        )
        return
    ensure_run_for_job(job)
    error = failure_of_job(job)
    if error is not None:
        close_failed_run(job, error)


@kopf.on.event(GROUP, VERSION, RUNS)
def run_event(event: kopf.RawEvent, body: kopf.Body, **_: Any) -> None:
    """A finished run updates its project (once; replays are ignored)."""
    if event.get("type") == "DELETED":
        return
    result = (body.get("status") or {}).get("result")
    if result and RunResult(result).finished:
        fold_into_project(dict(body))


@kopf.on.event(GROUP, VERSION, "integrationprojects")
async def project_gone(event: kopf.RawEvent, body: kopf.Body, **_: Any) -> None:
    """A deleted project's metric series go with it (its runs go by garbage collection)."""
    if event.get("type") == "DELETED":
        RECORDER.forget_project(body["metadata"]["namespace"], body["metadata"]["name"])

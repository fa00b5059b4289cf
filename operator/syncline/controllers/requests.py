"""Run requests: the project's run-now and full-refresh annotations, and IntegrationRuns
created by users (kubectl, Argo CD, Flux) to ask for a run.

- ``syncline.dev/run-now: <token>`` starts a run, ``syncline.dev/full-refresh: <token>``
  a run that ignores incremental watermarks; each token once (the project's status
  keeps the last token of each).
- An IntegrationRun with ``spec.projectRef`` and no ``spec.jobRef`` is a run request: the
  operator starts a Job with the run's name (so the engine records into that run), then
  labels the run, makes it owned by its project and sets ``jobRef``. Runs the operator
  or the engine create for a Job always carry ``jobRef``, so they are never mistaken for
  requests. A request that cannot start ends in Error, never left Pending: 1670 while
  another run is active; 1002 when its project (or the project's CronJob) is still
  missing 30 s later (they may have been applied together).

Starts are serialized in this process, so two requests arriving together cannot both
pass the overlap check.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import kopf
from kubernetes.client.exceptions import ApiException

from syncline.api.base import API_VERSION, GROUP, VERSION
from syncline.api.run import RunResult, Trigger
from syncline.controllers import kube
from syncline.errors import SynclineError
from syncline.history.naming import (
    FULL_REFRESH_ANNOTATION,
    PROJECT_LABEL,
    RUN_NOW_ANNOTATION,
    TRIGGER_LABEL,
)
from syncline.history.records import error_status
from syncline.kube.manual import start_requested_run, start_run

RUNS = "integrationruns"
REQUEST_GRACE = timedelta(seconds=30)
"""How long a request waits for its project and CronJob to appear (applied together)."""
SPENT = (1301, 1670)
"""Already done / overlap: a token that met these has had its answer."""

_starting = threading.Lock()
_TOKENS = (
    (RUN_NOW_ANNOTATION, "lastManualToken", False),
    (FULL_REFRESH_ANNOTATION, "lastFullRefreshToken", True),
)


def handle_run_now(body: kopf.Body) -> None:
    """Start a run for each new run-now or full-refresh token; each token runs at most once."""
    meta = body["metadata"]
    annotations = meta.get("annotations") or {}
    status = body.get("status") or {}
    for annotation, field, full_refresh in _TOKENS:
        token = annotations.get(annotation)
        if not token or token == status.get(field):
            continue
        # A full refresh token names a different Job than the same run-now token.
        job_token = f"full-refresh:{token}" if full_refresh else token
        try:
            with _starting:
                started = start_run(
                    kube.api_client(),
                    meta["namespace"],
                    meta["name"],
                    job_token,
                    full_refresh=full_refresh,
                )
            what = "full refresh" if full_refresh else "run"
            message = f"Started {what} {started.run} ({token})."
            kopf.info(body, reason="RunRequested", message=message)
        except SynclineError as err:
            if err.code not in SPENT:
                raise
            kopf.warn(body, reason=err.name, message=str(err))
        kube.patch_status(kube.PROJECT, meta["namespace"], meta["name"], {field: token})


@kopf.on.event(GROUP, VERSION, "integrationprojects")
async def run_now_requested(event: kopf.RawEvent, body: kopf.Body, **_: Any) -> None:
    """`kubectl annotate integrationproject X syncline.dev/run-now=<token>` starts a run
    (``syncline.dev/full-refresh=<token>`` a full refresh).

    Async: every project event passes here; only a new token has work (in a thread)."""
    if event.get("type") != "DELETED" and has_new_token(body):
        await asyncio.to_thread(handle_run_now, body)


def has_new_token(body: Any) -> bool:
    """Whether a run-now or full-refresh token differs from the last one handled."""
    annotations = (body.get("metadata") or {}).get("annotations") or {}
    status = body.get("status") or {}
    return any(
        annotations.get(annotation) and annotations.get(annotation) != status.get(field)
        for annotation, field, _ in _TOKENS
    )


def is_run_request(body: Any) -> bool:
    """An IntegrationRun nobody has started: no Job, not finished, not being deleted."""
    spec, meta = body.get("spec") or {}, body.get("metadata") or {}
    result = (body.get("status") or {}).get("result") or RunResult.PENDING.value
    return (
        not spec.get("jobRef")
        and result == RunResult.PENDING.value
        and not meta.get("deletionTimestamp")
    )


def _when_requested(body: kopf.Body, **_: Any) -> bool:
    return is_run_request(body)


@kopf.on.create(GROUP, VERSION, RUNS, backoff=5, when=_when_requested)
def run_requested(body: kopf.Body, runtime: timedelta, **_: Any) -> None:
    """Start the Job of a requested run, or end the run in Error saying why it cannot run.

    Only requests are selected (kopf keeps no state on any other run); failures of the
    API itself are retried by kopf, and the steps are safe to repeat."""
    meta, spec = body["metadata"], body.get("spec") or {}
    namespace, name = meta["namespace"], meta["name"]
    project_name = spec["projectRef"]["name"]
    project = kube.get_object(kube.PROJECT, namespace, project_name)
    try:
        if project is None:
            raise SynclineError("ItemNotFound", kind="IntegrationProject", name=project_name)
        with _starting:
            start_requested_run(
                kube.api_client(),
                namespace,
                name,
                project_name,
                Trigger(spec.get("trigger") or Trigger.MANUAL.value),
                full_refresh=bool(spec.get("fullRefresh")),
            )
    except SynclineError as err:
        if err.code == 1002 and runtime < REQUEST_GRACE:  # applied with its project
            raise kopf.TemporaryError(str(err), delay=5) from err
        _claim(body, project, job=None)
        _refuse(body, err)
        return
    _claim(body, project, job=name)


def _claim(body: kopf.Body, project: dict[str, Any] | None, job: str | None) -> None:
    """Make a request look like every other run: labelled with its project and trigger,
    owned by the project (deleted with it, kept for its retention) and naming its Job."""
    meta, spec = body["metadata"], body.get("spec") or {}
    project_name = spec["projectRef"]["name"]
    trigger = spec.get("trigger") or Trigger.MANUAL.value
    patch: dict[str, Any] = {
        "metadata": {"labels": {PROJECT_LABEL: project_name, TRIGGER_LABEL: trigger}}
    }
    if project is not None:
        owners = list(meta.get("ownerReferences") or [])
        uid = project["metadata"]["uid"]
        if not any(o.get("uid") == uid for o in owners):
            owners.append(
                {
                    "apiVersion": API_VERSION,
                    "kind": "IntegrationProject",
                    "name": project_name,
                    "uid": uid,
                }
            )
        patch["metadata"]["ownerReferences"] = owners
    if job is not None:
        patch["spec"] = {"jobRef": {"name": job}}
    try:
        kube.custom_api().patch_namespaced_custom_object(
            GROUP, VERSION, meta["namespace"], RUNS, meta["name"], patch
        )
    except ApiException as err:
        if err.status != 404:  # deleted meanwhile: nothing to record
            raise


def _refuse(body: kopf.Body, error: SynclineError) -> None:
    """End a request in Error with the code that says why it did not run."""
    meta = body["metadata"]

    def unless_finished(run: dict[str, Any]) -> dict[str, Any] | None:
        result = RunResult((run.get("status") or {}).get("result", RunResult.PENDING.value))
        return None if result.finished else error_status(error, datetime.now(UTC))

    kube.update_status(kube.RUN, meta["namespace"], meta["name"], unless_finished)
    kopf.warn(body, reason=error.name, message=str(error))

"""Guardrails in the operator: a run that trips one suspends its project until resumed.

- After a finished run is folded into its project (``runs.fold_into_project``), the
  project's ``status.guardrail`` records the trip (``history.guardrails`` decides), under
  optimistic concurrency, and the project is reconciled.
- The reconcile keeps the CronJob but suspended, and the project Ready=False / Stalled
  with 2506 SuspendedByGuardrail (why, and how to resume): the summarizer posts the
  Warning Event of that transition. The run itself ended in Error with its own code, so
  its Event and notifications say what it was refused for.
- ``syncline.dev/resume: <token>`` on the project (``syncline resume`` sets one) clears
  the trip once per token (``status.lastResumeToken``) and the reconcile unsuspends.
  Manual runs stay possible while suspended (to try a fix); they do not resume it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from syncline.api.base import GROUP, VERSION
from syncline.api.project import Guardrails, GuardrailTrip
from syncline.api.run import IntegrationRun, RunResult
from syncline.controllers import audit_trail, kube
from syncline.controllers.dependencies import request_reconcile
from syncline.errors import SynclineError
from syncline.history.guardrails import (
    RESUME_ANNOTATION,
    finished_after,
    suspension,
    trip_of,
)
from syncline.history.naming import PROJECT_LABEL
from syncline.history.records import rfc3339
from syncline.observability.events import announce

logger = logging.getLogger(__name__)


def suspend_if_tripped(run: IntegrationRun, project: Mapping[str, Any]) -> None:
    """Record the guardrail ``run`` trips, if any, and have the project reconciled.

    ``project`` is the project as folded; called again for a run folded before (an
    operator restart between the fold and this), it decides the same way once."""
    meta, status = project["metadata"], project.get("status") or {}
    if run.status is None or run.status.result is not RunResult.ERROR:
        return
    if (status.get("lastRun") or {}).get("name") != run.metadata.name or status.get("guardrail"):
        return
    guardrails = _guardrails(project)
    resumed = _time(status.get("lastResumeTime"))
    recent = _runs(meta["namespace"], meta["name"]) if guardrails.max_run_error_rate else []
    trip = trip_of(run, recent, guardrails, resumed, datetime.now(UTC).replace(microsecond=0))
    if trip is None:
        return

    def suspended(current: dict[str, Any]) -> dict[str, Any] | None:
        now = current.get("status") or {}
        fresh = not now.get("guardrail") and (now.get("lastRun") or {}).get("name") == trip.run
        return {"guardrail": trip.to_wire()} if fresh and _after_resume(run, now) else None

    if kube.update_status(kube.PROJECT, meta["namespace"], meta["name"], suspended) is None:
        return
    logger.warning("project %s/%s suspended: %s", meta["namespace"], meta["name"], trip.message)
    audit_trail.record(
        "project.suspend",
        f"integrationprojects/{meta['namespace']}/{meta['name']}",
        details={"run": trip.run, "guardrail": trip.to_wire()},
    )
    request_reconcile(kube.PROJECT, meta["namespace"], meta["name"], f"guardrail:{trip.run}")


def guardrail_hold(body: Mapping[str, Any]) -> SynclineError | None:
    """The 2506 holding the project's schedule, or None; a new resume token lifts it."""
    meta, status = body["metadata"], body.get("status") or {}
    token = (meta.get("annotations") or {}).get(RESUME_ANNOTATION)
    if token and token != status.get("lastResumeToken"):
        _resume(body, token)
        return None
    if not status.get("guardrail"):
        return None
    try:
        trip = GuardrailTrip.model_validate(status["guardrail"])
    except ValidationError:
        return None  # not ours to read (hand-edited): nothing to hold on
    return suspension(meta["name"], trip)


def _resume(body: Mapping[str, Any], token: str) -> None:
    """Clear the trip and remember the token and the time (the error-rate window starts
    afresh from it); a token already acted on does nothing."""
    meta = body["metadata"]
    lifted: list[str] = []

    def resumed(current: dict[str, Any]) -> dict[str, Any] | None:
        now = current.get("status") or {}
        if now.get("lastResumeToken") == token:
            return None
        lifted[:] = [str((now.get("guardrail") or {}).get("message") or "")]
        stamp = rfc3339(datetime.now(UTC))
        return {"guardrail": None, "lastResumeToken": token, "lastResumeTime": stamp}

    kube.update_status(kube.PROJECT, meta["namespace"], meta["name"], resumed)
    if lifted and lifted[0]:
        message = f"Resumed by {RESUME_ANNOTATION}={token}; it was suspended: {lifted[0]}"
        announce(body, ready=True, reason="ResumedAfterGuardrail", message=message[:1000])


def _after_resume(run: IntegrationRun, status: Mapping[str, Any]) -> bool:
    return finished_after(run, _time(status.get("lastResumeTime")))


def _guardrails(project: Mapping[str, Any]) -> Guardrails:
    try:
        return Guardrails.model_validate((project.get("spec") or {}).get("guardrails") or {})
    except ValidationError:
        return Guardrails()  # the reconcile reports an invalid spec


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _runs(namespace: str, project: str) -> list[IntegrationRun]:
    """The project's runs (for the error rate over its last ones)."""
    listing = kube.custom_api().list_namespaced_custom_object(
        GROUP, VERSION, namespace, "integrationruns", label_selector=f"{PROJECT_LABEL}={project}"
    )
    runs = []
    for item in listing["items"]:
        try:
            run = IntegrationRun.model_validate(item)
        except ValidationError:
            continue
        if run.spec.project_ref.name == project:
            runs.append(run)
    return runs

"""IntegrationProject: validate -> build -> apply -> summarize.

The CronJob runs while the project is valid and within the namespace quota. What
happens otherwise depends on whether the problem can clear by itself:

- transient (a database briefly unreachable, a Secret not there yet: the codes in
  ``status.TRANSIENT_CODES``): the CronJob is kept but suspended, so no new scheduled
  run starts while a run in flight goes on undisturbed;
- needs the user (an invalid spec, a missing table): the CronJob is removed, so the
  project never runs a stale configuration; its Jobs are orphaned, not deleted, so a
  run in flight still finishes and records its result.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import kopf
from kubernetes.client.exceptions import ApiException
from pydantic import ValidationError

from syncline.api.base import GROUP, VERSION
from syncline.api.project import IntegrationProjectSpec
from syncline.controllers import audit_trail, drift, followers, kube, watched
from syncline.controllers.applied import ENGINE_IDENTITIES
from syncline.controllers.cadence import observe_project
from syncline.controllers.connection import describe_live
from syncline.controllers.dependencies import (
    counts_towards_quota,
    quota_rank,
    request_reconcile,
)
from syncline.controllers.guardrails import guardrail_hold
from syncline.controllers.notifications import notification_notes
from syncline.controllers.publish import publish
from syncline.controllers.settings import OperatorSettings, current
from syncline.controllers.status import Verdict, failed, succeeded
from syncline.controllers.validation import ProjectInputs, ProjectPlan, plan_project
from syncline.errors import SynclineError
from syncline.observability.metrics import timed
from syncline.scheduling.cronjob import ProjectIdentity, build_cronjob, cronjob_name
from syncline.scheduling.engine_identity import engine_identity

logger = logging.getLogger(__name__)
MANUAL = "manual"


def read_inputs(
    namespace: str, name: str, spec: IntegrationProjectSpec, *, cached: bool = False
) -> ProjectInputs:
    """Fetch the set, the template and the set's member Connections; entities beyond a
    truncated catalog are described live (``connection.describe_live``) when needed.

    ``cached``: the set and its Connections as their watches last showed them
    (controllers/watched.py), falling back to a read for any not seen yet."""

    set_name = spec.connection_set_ref.name
    set_obj, copies = followers.read_copies(namespace, name, set_name) if cached else (None, {})
    read_now = set_obj is None
    if set_obj is None:
        set_obj = kube.get_object(kube.CONNECTION_SET, namespace, set_name)
    template = None
    if spec.template_ref is not None:
        kind = kube.KINDS[spec.template_ref.kind]
        home = namespace if kind.namespaced else None
        template = kube.get_object(kind, home, spec.template_ref.name)
    by_name: dict[str, dict[str, Any] | None] = {}
    for member in ((set_obj or {}).get("spec") or {}).get("connections") or []:
        ref = member["connectionRef"]["name"]
        by_name[ref] = copies.get(ref)
        if by_name[ref] is None:
            by_name[ref] = kube.get_object(kube.CONNECTION, namespace, ref)
            read_now = True
    if read_now:
        followers.note_read(namespace, name, set_name, set_obj, by_name)
    members = ((set_obj or {}).get("spec") or {}).get("connections") or []
    connections = {m["name"]: by_name[m["connectionRef"]["name"]] for m in members}
    return ProjectInputs(name, spec, set_obj, template, connections, describe=describe_live)


def plan_from_watch(body: Mapping[str, Any], spec: IntegrationProjectSpec) -> ProjectPlan:
    """The plan from the watched copies of the set and its Connections when they can be
    trusted to be Ready and current; otherwise (any error, or copies older than the
    set's last nudge) from a fresh read, so a lagging watch never decides the outcome."""
    meta = body["metadata"]
    namespace, name = meta["namespace"], meta["name"]
    inputs = read_inputs(namespace, name, spec, cached=True)
    if inputs.connection_set is not None and watched.fresh_enough(
        body, inputs.connection_set, inputs.connections
    ):
        plan = plan_project(inputs)
        if not plan.errors:
            return plan
    return plan_project(read_inputs(namespace, name, spec))


def quota_error(
    namespace: str, name: str, meta: Mapping[str, Any], index: Any
) -> SynclineError | None:
    """2502 when older scheduled projects already fill the namespace's slots."""
    limit = current().scheduled_project_quota
    me = (str(meta.get("creationTimestamp") or ""), name)
    if quota_rank(index, namespace, me) >= limit:
        return SynclineError("ScheduledProjectQuotaExceeded", namespace=namespace, limit=limit)
    return None


def apply_schedule(
    project: ProjectIdentity,
    spec: IntegrationProjectSpec,
    plan: ProjectPlan,
    hold: SynclineError | None = None,
) -> tuple[Verdict, dict[str, Any]]:
    """Build and server-side apply the CronJob; the verdict and status fields that follow.

    ``hold`` (a guardrail's suspension) keeps the CronJob suspended and the project Stalled.
    """
    name = cronjob_name(project.name)
    known = drift.live_owned(project.namespace, name, project.uid)
    if known is None:  # not seen as ours: read it (absent, someone else's, or watch lag)
        existing = kube.get_cronjob(project.namespace, name)
        if existing is not None and not kube.is_controlled_by(existing, project.uid):
            taken = SynclineError("ItemAlreadyExists", kind="CronJob", name=name)
            return failed([taken]), {"cronJobRef": None, "nextRunTime": None}
        known = None if existing is None else str(existing["metadata"].get("uid"))
    settings = current()
    if settings.manage_engine_identity:  # before the CronJob: its first pod needs it
        _prepare_engine_identity(project.namespace, settings)
    manifest = build_cronjob(
        project, spec, plan.schedule, plan.credentials, settings.engine, suspend=hold is not None
    )
    drift.remember(manifest)  # before applying: the watch event must not see a stale wish
    applied = kube.apply_cronjob(manifest)
    if known != applied["metadata"].get("uid"):  # new, or re-created after a deletion
        audit_trail.record("cronjob.create", f"cronjobs/{project.namespace}/{name}")
    fields: dict[str, Any] = {
        "cronJobRef": {"name": name},
        "schedule": plan.schedule.describe() if plan.schedule else MANUAL,
        "nextRunTime": None,
    }
    if hold is not None:
        return failed([hold]), fields
    if plan.schedule is None:
        return succeeded("ManualOnly", "No schedule: runs start only on request."), fields
    if spec.suspend:
        return succeeded("Suspended", "Scheduled runs are suspended (spec.suspend)."), fields
    upcoming = plan.schedule.next_run(datetime.now(UTC))
    if len(plan.schedule.fires) > 1:
        message = f"Runs at every fire time of {plan.schedule.describe()}, started by the operator."
    elif plan.schedule.driven:
        message = (
            f"Runs {plan.schedule.describe()} ({plan.schedule.time_zone}), started by the "
            "operator: cron cannot express it exactly."
        )
    else:
        message = f"Runs at '{plan.schedule.cron}' ({plan.schedule.time_zone})."
    fields["nextRunTime"] = upcoming.strftime("%Y-%m-%dT%H:%M:%SZ") if upcoming else None
    return succeeded("Scheduled", message), fields


def _prepare_engine_identity(namespace: str, settings: OperatorSettings) -> None:
    """The namespace's engine ServiceAccount and RoleBinding. A failure (RBAC that does not
    allow it, a same-named binding to another role) does not block the project: a run
    whose pod is then refused ends 2409 saying why."""
    manifests = engine_identity(
        namespace, settings.engine_service_account, settings.engine_cluster_role
    )
    if ENGINE_IDENTITIES.fresh(manifests):  # identical content applied moments ago
        return
    try:
        kube.apply_engine_identity(manifests)
    except ApiException as err:
        logger.warning(
            "engine identity not prepared in %s: %s %s", namespace, err.status, err.reason
        )
    else:
        ENGINE_IDENTITIES.mark(manifests)


@timed("IntegrationProject")
def reconcile_project(body: Mapping[str, Any], indexes: Mapping[str, Any]) -> None:
    """One pass over a project; safe to repeat and to interrupt at any point."""
    meta = body["metadata"]
    namespace, name = meta["namespace"], meta["name"]
    project = ProjectIdentity(name=name, namespace=namespace, uid=meta["uid"])
    try:
        spec = IntegrationProjectSpec.model_validate(body.get("spec") or {})
    except ValidationError as err:
        detail = str(err.errors()[0].get("msg"))
        _block(project, body, [SynclineError("ParameterInvalid", field="spec", detail=detail)])
        return
    observe_project(namespace, name, spec, body.get("status") or {})
    hold = guardrail_hold(body)  # a new resume token is acted on whatever else holds
    plan = plan_from_watch(body, spec)
    if not plan.errors and counts_towards_quota(body.get("spec") or {}):
        over = quota_error(namespace, name, meta, indexes["scheduled_projects"])
        plan.errors += [over] if over else []
    if plan.errors:
        verdict = failed(plan.errors)
        if verdict.transient:
            _hold(project, body, verdict)
        else:
            _block(project, body, plan.errors)
        return
    verdict, fields = apply_schedule(project, spec, plan, hold)
    verdict = with_last_run(with_notes(verdict, plan.notes), body)
    publish(kube.PROJECT, body, with_notes(verdict, notification_notes(body, spec)), fields)
    if not counts_towards_quota(body.get("spec") or {}):
        release_quota(namespace, indexes, f"IntegrationProject/{name}@{meta.get('generation')}")


def with_notes(verdict: Verdict, notes: list[str]) -> Verdict:
    """Ready's message also says what validation left to the run start (and why)."""
    if not notes:
        return verdict
    return Verdict(verdict.reason, " ".join([verdict.message, *notes]), verdict.errors)


def with_last_run(verdict: Verdict, body: Mapping[str, Any]) -> Verdict:
    """Ready tells the truth about data: a project whose last run failed is not healthy.

    The CronJob stays in place (the next scheduled run is the retry), so the failure is
    transient: Reconciling, not Stalled.
    """
    last = (body.get("status") or {}).get("lastRun") or {}
    if not verdict.ready or last.get("result") != "Error":
        return verdict
    code = last.get("errorCode")
    detail = f"it ended in Error{f' (code {code})' if code else ''}; the next run retries"
    return failed([SynclineError("RunFailed", name=last.get("name", "?"), detail=detail)])


def _hold(project: ProjectIdentity, body: Mapping[str, Any], verdict: Verdict) -> None:
    """Transiently not Ready: keep the CronJob and its running Jobs, start nothing new."""
    name = cronjob_name(project.name)
    live = kube.get_cronjob(project.namespace, name)
    if live is None or not kube.is_controlled_by(live, project.uid):
        publish(kube.PROJECT, body, verdict, {"cronJobRef": None, "nextRunTime": None})
        return
    wanted = drift.desired(project.namespace, name)
    if wanted is not None:
        held = copy.deepcopy(wanted)
        held["spec"]["suspend"] = True
        drift.remember(held)  # the drift watch must not resume what we paused
        kube.apply_cronjob(held)
    else:  # after a restart nothing is remembered: pause the live one as it is
        kube.suspend_cronjob(project.namespace, name)
    paused = Verdict(
        reason=verdict.reason,
        message=f"{verdict.message} (scheduled runs are paused until this clears)",
        errors=verdict.errors,
    )
    publish(kube.PROJECT, body, paused, {"cronJobRef": {"name": name}, "nextRunTime": None})


def _block(project: ProjectIdentity, body: Mapping[str, Any], errors: list[SynclineError]) -> None:
    """Not Ready until the user acts: make sure nothing new runs, then say why."""
    if kube.delete_cronjob(project.namespace, cronjob_name(project.name), project.uid):
        target = f"cronjobs/{project.namespace}/{cronjob_name(project.name)}"
        why = {"errors": [audit_trail.failure(e) for e in errors]}
        audit_trail.record("cronjob.delete", target, details=why)
    drift.forget(project.namespace, cronjob_name(project.name))
    fields = {"cronJobRef": None, "nextRunTime": None, "schedule": None}
    publish(kube.PROJECT, body, failed(errors), fields)


def release_quota(namespace: str, indexes: Mapping[str, Any], cause: str) -> None:
    """A slot may have opened: let projects waiting on the quota try again."""
    limit = current().scheduled_project_quota
    waiting = sorted({tuple(v) for v in indexes["scheduled_projects"].get(namespace, [])})
    for _, project in waiting[max(limit - 1, 0) :]:
        request_reconcile(kube.PROJECT, namespace, project, f"quota:{cause}")


@kopf.on.resume(GROUP, VERSION, "integrationprojects", backoff=5)
@kopf.on.create(GROUP, VERSION, "integrationprojects", backoff=5)
@kopf.on.update(GROUP, VERSION, "integrationprojects", backoff=5)
async def project_changed(body: kopf.Body, **kwargs: Any) -> None:
    """Spec or an upstream changed (kwargs carries kopf's indexes by name).

    A new generation's first plan waits (without a thread) until its set has decided,
    so a project applied together with its set is reconciled once, not three times."""
    await followers.wait_until_decided(body)
    await asyncio.to_thread(reconcile_project, body, kwargs)


@kopf.on.event(GROUP, VERSION, "integrationprojects")
async def project_event(event: kopf.RawEvent, body: kopf.Body, **kwargs: Any) -> None:
    """A deleted scheduled project frees a quota slot; its CronJob goes by garbage collection.

    Async: every project event passes here, and only a deletion has work (in a thread)."""
    if event.get("type") == "DELETED":
        await asyncio.to_thread(_project_deleted, body, kwargs)


def _project_deleted(body: kopf.Body, kwargs: Mapping[str, Any]) -> None:
    meta = body["metadata"]
    drift.forget(meta["namespace"], cronjob_name(meta["name"]))
    followers.forget(meta["namespace"], meta["name"])
    if counts_towards_quota(body.get("spec") or {}):
        release_quota(meta["namespace"], kwargs, f"deleted:{meta['name']}:{meta.get('uid')}")

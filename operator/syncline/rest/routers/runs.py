"""Runs: list with filters and paging, details, log download, mark a stuck run failed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from syncline.api.base import GROUP, VERSION
from syncline.api.run import RunResult, Trigger
from syncline.errors import SynclineError
from syncline.history.naming import log_config_map_name, run_log
from syncline.kube.manual import fail_run
from syncline.rest import paging
from syncline.rest.auth import Access
from syncline.rest.deps import SUCCESS, CallerDep, NamePath, NamespacePath, ServicesDep
from syncline.rest.errors import responses
from syncline.rest.models import Outcome, RunDetails, RunPage
from syncline.rest.runs_view import RunFilter, details, summary

RUNS = "integrationruns"
LOG_CHUNK = 64 * 1024
router = APIRouter(tags=["runs"])

Limit = Annotated[int, Query(ge=1, le=500, description="At most this many runs.")]
Continue = Annotated[
    str | None,
    Query(alias="continue", max_length=4096, description="Token from the previous page."),
]
ProjectQ = Annotated[str | None, Query(max_length=63, pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")]
ResultQ = Annotated[RunResult | None, Query(description="Only runs with this result.")]
TriggerQ = Annotated[Trigger | None, Query(description="Only runs started this way.")]
Since = Annotated[datetime | None, Query(description="Runs started at or after (RFC 3339).")]
Until = Annotated[datetime | None, Query(description="Runs started before (RFC 3339).")]


def _filter(
    project: str | None,
    result: RunResult | None,
    trigger: Trigger | None,
    since: datetime | None,
    until: datetime | None,
) -> RunFilter:
    for name, moment in (("since", since), ("until", until)):
        if moment is not None and moment.tzinfo is None:
            raise SynclineError("ParameterInvalid", field=name, detail="needs a time zone")
    return RunFilter(project, result, trigger, since, until)


def chunk_reader(api: client.ApiClient, namespace: str | None, selector: str) -> paging.Fetch:
    """Reads chunks of IntegrationRuns from the API server (one namespace or all)."""
    custom: Any = client.CustomObjectsApi(api)

    def fetch(cursor: paging.Cursor, limit: int) -> paging.Chunk:
        kwargs: dict[str, Any] = {"limit": limit, "label_selector": selector}
        if cursor.kube_continue:
            kwargs["_continue"] = cursor.kube_continue
        elif cursor.resource_version:
            kwargs["resource_version"] = cursor.resource_version
            kwargs["resource_version_match"] = "Exact"
        if namespace is None:
            listing = custom.list_cluster_custom_object(GROUP, VERSION, RUNS, **kwargs)
        else:
            listing = custom.list_namespaced_custom_object(
                GROUP, VERSION, namespace, RUNS, **kwargs
            )
        meta = listing.get("metadata") or {}
        return paging.Chunk(
            listing.get("items") or [], meta.get("continue") or "", meta.get("resourceVersion", "")
        )

    return fetch


def list_page(
    api: client.ApiClient,
    namespace: str | None,
    wanted: RunFilter,
    limit: int,
    token: str | None,
    namespace_allowed: Callable[[str], bool] | None = None,
) -> RunPage:
    """One page of runs matching ``wanted`` (in namespaces the caller may list)."""
    fingerprint = paging.fingerprint({"ns": namespace, **wanted.fingerprint_fields()})
    cursor = paging.decode(token, fingerprint)

    def keep(obj: dict[str, Any]) -> bool:
        if namespace_allowed and not namespace_allowed(obj["metadata"].get("namespace", "")):
            return False
        return wanted.keeps(obj)

    fetch = chunk_reader(api, namespace, wanted.label_selector())
    found, after = paging.scan(fetch, keep, limit, cursor)
    return RunPage(
        items=[summary(o) for o in found],
        continue_=paging.encode(after) if after else None,
    )


@router.get(
    "/api/v1/namespaces/{namespace}/runs",
    response_model=RunPage,
    response_model_exclude_none=True,
    responses=responses(410),
    summary="List runs in a namespace",
)
def list_runs(
    namespace: NamespacePath,
    caller: CallerDep,
    svc: ServicesDep,
    project: ProjectQ = None,
    result: ResultQ = None,
    trigger: TriggerQ = None,
    since: Since = None,
    until: Until = None,
    limit: Limit = 50,
    continue_: Continue = None,
) -> RunPage:
    """Runs of the namespace, filtered, one page at a time (needs `list integrationruns`)."""
    svc.authorizer.require(caller, Access("list", RUNS, namespace))
    wanted = _filter(project, result, trigger, since, until)
    return list_page(svc.api, namespace, wanted, limit, continue_)


@router.get(
    "/api/v1/runs",
    response_model=RunPage,
    response_model_exclude_none=True,
    responses=responses(410),
    summary="List runs in every namespace the caller may list runs in",
)
def list_all_runs(
    caller: CallerDep,
    svc: ServicesDep,
    project: ProjectQ = None,
    result: ResultQ = None,
    trigger: TriggerQ = None,
    since: Since = None,
    until: Until = None,
    limit: Limit = 50,
    continue_: Continue = None,
) -> RunPage:
    """Runs of all namespaces where the caller has `list integrationruns`, and no others."""
    allowed = svc.namespace_filter(caller, "list", RUNS)
    wanted = _filter(project, result, trigger, since, until)
    return list_page(svc.api, None, wanted, limit, continue_, allowed)


def read_run(api: client.ApiClient, namespace: str, name: str) -> dict[str, Any]:
    custom: Any = client.CustomObjectsApi(api)
    try:
        found: dict[str, Any] = custom.get_namespaced_custom_object(
            GROUP, VERSION, namespace, RUNS, name
        )
    except ApiException as err:
        if err.status == 404:
            raise SynclineError("RunNotFound", name=name) from err
        raise
    return found


@router.get(
    "/api/v1/namespaces/{namespace}/runs/{name}",
    response_model=RunDetails,
    response_model_exclude_none=True,
    summary="Get a run with per-task results and a sample of row errors",
)
def get_run(
    namespace: NamespacePath, name: NamePath, caller: CallerDep, svc: ServicesDep
) -> RunDetails:
    svc.authorizer.require(caller, Access("get", RUNS, namespace, name))
    return details(read_run(svc.api, namespace, name))


@router.get(
    "/api/v1/namespaces/{namespace}/runs/{name}/logs",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/plain": {"schema": {"type": "string"}}}, "description": "Log"},
        **responses(404),
    },
    summary="Download the full log of a run (JSON lines)",
)
def run_logs(
    namespace: NamespacePath, name: NamePath, caller: CallerDep, svc: ServicesDep
) -> StreamingResponse:
    """The run's log, kept in a ConfigMap owned by the run (1650 once it is gone)."""
    svc.authorizer.require(caller, Access("get", RUNS, namespace, name))
    read_run(svc.api, namespace, name)
    try:
        cm = client.CoreV1Api(svc.api).read_namespaced_config_map(
            log_config_map_name(name), namespace
        )
    except ApiException as err:
        if err.status == 404:
            raise SynclineError("LogUnavailable", name=name) from err
        raise
    labels = (cm.metadata.labels if cm.metadata else None) or {}
    if labels.get("syncline.dev/run") != name:  # a ConfigMap that only looks like it
        raise SynclineError("LogUnavailable", name=name)
    text = run_log(cm.data or {})  # each pod's too, for a task split over pods

    def chunks() -> Iterator[bytes]:
        data = text.encode()
        for start in range(0, len(data), LOG_CHUNK):
            yield data[start : start + LOG_CHUNK]

    headers = {"Content-Disposition": f'attachment; filename="{name}.log"'}
    return StreamingResponse(chunks(), media_type="text/plain; charset=utf-8", headers=headers)


@router.post(
    "/api/v1/namespaces/{namespace}/runs/{name}/fail",
    response_model=Outcome,
    responses=responses(409),
    summary="Mark a stuck Pending or Running run failed and stop its Job",
)
def fail(namespace: NamespacePath, name: NamePath, caller: CallerDep, svc: ServicesDep) -> Outcome:
    """Ends the run in Error with 2403 naming the user; 1658 for a run that has finished.
    Needs `patch integrationruns/status`."""
    svc.authorizer.require(caller, Access("patch", RUNS, namespace, name, "status"))
    target = f"{namespace}/integrationruns/{name}"
    try:
        fail_run(svc.api, namespace, name, user=caller.username)
    except SynclineError as err:
        svc.record(caller, "run.fail", target, f"{err.code} {err.name}")
        raise
    done = SynclineError("RunMarkedFailed", name=name, user=caller.username)
    svc.record(caller, "run.fail", target, SUCCESS)
    return Outcome(**done.as_dict())

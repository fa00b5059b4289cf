"""Projects: list, get, run now, save as an IntegrationTemplate."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from syncline.api.base import API_VERSION, GROUP, VERSION
from syncline.api.merge import effective_tasks
from syncline.api.project import IntegrationProject
from syncline.api.task import Task
from syncline.errors import SynclineError
from syncline.history.naming import RUN_NOW_ANNOTATION, manual_job_name, run_name_for_job
from syncline.kube.manual import active_run
from syncline.rest.auth import Access
from syncline.rest.deps import SUCCESS, CallerDep, NamePath, NamespacePath, ServicesDep
from syncline.rest.errors import responses
from syncline.rest.models import (
    ProjectList,
    ProjectSummary,
    RunStarted,
    SaveTemplate,
    TemplateSaved,
)

PROJECTS = "integrationprojects"
TEMPLATES = "integrationtemplates"
router = APIRouter(tags=["projects"])


def project_summary(obj: dict[str, Any]) -> ProjectSummary:
    project = IntegrationProject.model_validate(obj)
    status = project.status
    ready = next((c for c in (status.conditions if status else []) if c.type == "Ready"), None)
    return ProjectSummary(
        namespace=project.metadata.namespace or "",
        name=project.metadata.name or "",
        ready=ready.status if ready else None,
        reason=ready.reason if ready else None,
        schedule=status.schedule if status else None,
        suspended=project.spec.suspend or bool(status and status.guardrail),
        next_run_time=status.next_run_time if status else None,
        last_successful_time=status.last_successful_time if status else None,
        last_run=status.last_run if status else None,
    )


def list_projects_in(api: client.ApiClient, namespace: str | None) -> list[dict[str, Any]]:
    """Every project (projects are few; no paging needed)."""
    custom: Any = client.CustomObjectsApi(api)
    if namespace is None:
        listing = custom.list_cluster_custom_object(GROUP, VERSION, PROJECTS)
    else:
        listing = custom.list_namespaced_custom_object(GROUP, VERSION, namespace, PROJECTS)
    items: list[dict[str, Any]] = listing.get("items") or []
    return items


def read_project(api: client.ApiClient, namespace: str, name: str) -> dict[str, Any]:
    custom: Any = client.CustomObjectsApi(api)
    try:
        found: dict[str, Any] = custom.get_namespaced_custom_object(
            GROUP, VERSION, namespace, PROJECTS, name
        )
    except ApiException as err:
        if err.status == 404:
            raise SynclineError("ItemNotFound", kind="IntegrationProject", name=name) from err
        raise
    return found


@router.get(
    "/api/v1/namespaces/{namespace}/projects",
    response_model=ProjectList,
    response_model_exclude_none=True,
    summary="List projects in a namespace",
)
def list_projects(namespace: NamespacePath, caller: CallerDep, svc: ServicesDep) -> ProjectList:
    svc.authorizer.require(caller, Access("list", PROJECTS, namespace))
    items = list_projects_in(svc.api, namespace)
    return ProjectList(items=[project_summary(o) for o in items])


@router.get(
    "/api/v1/projects",
    response_model=ProjectList,
    response_model_exclude_none=True,
    summary="List projects in every namespace the caller may list projects in",
)
def list_all_projects(caller: CallerDep, svc: ServicesDep) -> ProjectList:
    allowed = svc.namespace_filter(caller, "list", PROJECTS)
    items = [o for o in list_projects_in(svc.api, None) if allowed(o["metadata"]["namespace"])]
    return ProjectList(items=[project_summary(o) for o in items])


@router.get(
    "/api/v1/namespaces/{namespace}/projects/{name}",
    response_model=ProjectSummary,
    response_model_exclude_none=True,
    summary="Get a project",
)
def get_project(
    namespace: NamespacePath, name: NamePath, caller: CallerDep, svc: ServicesDep
) -> ProjectSummary:
    svc.authorizer.require(caller, Access("get", PROJECTS, namespace, name))
    return project_summary(read_project(svc.api, namespace, name))


@router.post(
    "/api/v1/namespaces/{namespace}/projects/{name}/run",
    response_model=RunStarted,
    status_code=202,
    responses=responses(409),
    summary="Run a project now (1670 while a run is active)",
)
def run_now(
    namespace: NamespacePath, name: NamePath, caller: CallerDep, svc: ServicesDep
) -> RunStarted:
    """Sets the project's run-now annotation to a new token, exactly what
    `kubectl annotate` would do, so it needs `patch integrationprojects`; the operator
    starts the run, named after the token (returned here)."""
    svc.authorizer.require(caller, Access("patch", PROJECTS, namespace, name))
    target = f"{namespace}/integrationprojects/{name}"
    read_project(svc.api, namespace, name)
    busy = active_run(svc.api, namespace, name)
    if busy is not None:
        err = SynclineError("PendingRunAlreadyExists", name=name, run=busy)
        svc.record(caller, "project.run", target, f"{err.code} {err.name}")
        raise err
    token = f"api-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(4)}"
    patch = {"metadata": {"annotations": {RUN_NOW_ANNOTATION: token}}}
    custom: Any = client.CustomObjectsApi(svc.api)
    custom.patch_namespaced_custom_object(GROUP, VERSION, namespace, PROJECTS, name, patch)
    run = run_name_for_job(manual_job_name(name, token))
    svc.record(caller, "project.run", target, SUCCESS, run=run)
    return RunStarted(namespace=namespace, project=name, run=run, token=token)


def _template_tasks(
    api: client.ApiClient, namespace: str, project: IntegrationProject
) -> list[Task]:
    ref = project.spec.template_ref
    if ref is None:
        return []
    custom: Any = client.CustomObjectsApi(api)
    try:
        if ref.kind == "ClusterIntegrationTemplate":
            obj = custom.get_cluster_custom_object(
                GROUP, VERSION, "clusterintegrationtemplates", ref.name
            )
        else:
            obj = custom.get_namespaced_custom_object(
                GROUP, VERSION, namespace, TEMPLATES, ref.name
            )
    except ApiException as err:
        if err.status == 404:
            raise SynclineError("TemplateNotFound", kind=ref.kind, name=ref.name) from err
        raise
    return [Task.model_validate(t) for t in (obj.get("spec") or {}).get("tasks") or []]


@router.post(
    "/api/v1/namespaces/{namespace}/projects/{name}/template",
    response_model=TemplateSaved,
    status_code=201,
    responses=responses(409),
    summary="Save a project's effective tasks as an IntegrationTemplate",
)
def save_as_template(
    namespace: NamespacePath,
    name: NamePath,
    body: SaveTemplate,
    caller: CallerDep,
    svc: ServicesDep,
) -> TemplateSaved:
    """Needs `get integrationprojects` and `create integrationtemplates`; 1004 when a
    template of that name exists (it is never overwritten)."""
    svc.authorizer.require(caller, Access("get", PROJECTS, namespace, name))
    svc.authorizer.require(caller, Access("create", TEMPLATES, namespace))
    project = IntegrationProject.model_validate(read_project(svc.api, namespace, name))
    tasks = effective_tasks(project.spec, _template_tasks(svc.api, namespace, project))
    spec: dict[str, Any] = {
        "tasks": [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tasks]
    }
    if body.description:
        spec["description"] = body.description
    manifest = {
        "apiVersion": API_VERSION,
        "kind": "IntegrationTemplate",
        "metadata": {"name": body.name, "labels": {"syncline.dev/saved-from": name}},
        "spec": spec,
    }
    target = f"{namespace}/integrationtemplates/{body.name}"
    custom: Any = client.CustomObjectsApi(svc.api)
    try:
        custom.create_namespaced_custom_object(GROUP, VERSION, namespace, TEMPLATES, manifest)
    except ApiException as err:
        if err.status == 409:
            svc.record(caller, "template.save", target, "1004 ItemAlreadyExists")
            raise SynclineError(
                "ItemAlreadyExists", kind="IntegrationTemplate", name=body.name
            ) from err
        raise
    svc.record(caller, "template.save", target, SUCCESS, project=name)
    return TemplateSaved(namespace=namespace, name=body.name, tasks=len(tasks))

"""Reports: protected / unprotected projects, top error codes, freshness.

Namespaced reports need `list` on integrationprojects and integrationruns there; the
cluster-wide ones cover exactly the namespaces where the caller has both.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from syncline.rest import paging, reports
from syncline.rest.auth import Access, Caller
from syncline.rest.deps import CallerDep, NamespacePath, Services, ServicesDep
from syncline.rest.models import ErrorCodesReport, FreshnessReport, ProtectionReport
from syncline.rest.routers.projects import PROJECTS, list_projects_in
from syncline.rest.routers.runs import RUNS, chunk_reader

router = APIRouter(tags=["reports"])
Days = Annotated[int, Query(ge=1, le=366, description="The window, in days back from now.")]
Top = Annotated[int, Query(ge=1, le=100, description="How many codes.")]


def all_runs(svc: Services, namespace: str | None) -> list[dict[str, Any]]:
    fetch = chunk_reader(svc.api, namespace, "")
    found, cursor = [], paging.Cursor()
    while True:
        chunk = fetch(cursor, paging.CHUNK)
        found += chunk.items
        if not chunk.kube_continue:
            return found
        cursor = paging.Cursor(chunk.kube_continue)


Scope = tuple[list[dict[str, Any]], list[dict[str, Any]]]


def _scope(svc: Services, caller: Caller, namespace: str | None) -> Scope:
    """Projects and runs the caller may list, in one namespace or all."""
    if namespace is not None:
        svc.authorizer.require(caller, Access("list", PROJECTS, namespace))
        svc.authorizer.require(caller, Access("list", RUNS, namespace))
        return list_projects_in(svc.api, namespace), all_runs(svc, namespace)
    projects_ok = svc.namespace_filter(caller, "list", PROJECTS)
    runs_ok = svc.namespace_filter(caller, "list", RUNS)

    def allowed(obj: dict[str, Any]) -> bool:
        ns = obj["metadata"].get("namespace", "")
        return projects_ok(ns) and runs_ok(ns)

    projects = [p for p in list_projects_in(svc.api, None) if allowed(p)]
    return projects, [r for r in all_runs(svc, None) if allowed(r)]


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@router.get(
    "/api/v1/namespaces/{namespace}/reports/protection",
    response_model=ProtectionReport,
    response_model_exclude_none=True,
    summary="Projects with and without a successful run in the last N days",
)
def protection(
    namespace: NamespacePath, caller: CallerDep, svc: ServicesDep, days: Days = 7
) -> ProtectionReport:
    projects, runs = _scope(svc, caller, namespace)
    return reports.protection(projects, runs, _now(), days)


@router.get(
    "/api/v1/reports/protection",
    response_model=ProtectionReport,
    response_model_exclude_none=True,
    summary="Projects with and without a successful run, in every namespace the caller may list",
)
def protection_all(caller: CallerDep, svc: ServicesDep, days: Days = 7) -> ProtectionReport:
    projects, runs = _scope(svc, caller, None)
    return reports.protection(projects, runs, _now(), days)


@router.get(
    "/api/v1/namespaces/{namespace}/reports/error-codes",
    response_model=ErrorCodesReport,
    summary="The error codes most runs met in the last N days",
)
def error_codes(
    namespace: NamespacePath, caller: CallerDep, svc: ServicesDep, days: Days = 7, top: Top = 10
) -> ErrorCodesReport:
    _, runs = _scope(svc, caller, namespace)
    return reports.error_codes(runs, _now(), days, top)


@router.get(
    "/api/v1/reports/error-codes",
    response_model=ErrorCodesReport,
    summary="The error codes most runs met, in every namespace the caller may list",
)
def error_codes_all(
    caller: CallerDep, svc: ServicesDep, days: Days = 7, top: Top = 10
) -> ErrorCodesReport:
    _, runs = _scope(svc, caller, None)
    return reports.error_codes(runs, _now(), days, top)


@router.get(
    "/api/v1/namespaces/{namespace}/reports/freshness",
    response_model=FreshnessReport,
    response_model_exclude_none=True,
    summary="Time since each project's last successful run",
)
def freshness(namespace: NamespacePath, caller: CallerDep, svc: ServicesDep) -> FreshnessReport:
    projects, runs = _scope(svc, caller, namespace)
    return reports.freshness(projects, runs, _now())


@router.get(
    "/api/v1/reports/freshness",
    response_model=FreshnessReport,
    response_model_exclude_none=True,
    summary="Time since each project's last successful run, in every namespace the caller may list",
)
def freshness_all(caller: CallerDep, svc: ServicesDep) -> FreshnessReport:
    projects, runs = _scope(svc, caller, None)
    return reports.freshness(projects, runs, _now())

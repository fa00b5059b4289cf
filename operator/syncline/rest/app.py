"""The application factory: ``create_app(api_client)`` builds the whole REST API."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from kubernetes import client

from syncline import __version__
from syncline.rest import docs_ui, errors
from syncline.rest.auth import DECISION_TTL_SECONDS, Authenticator, Authorizer
from syncline.rest.deps import AuditHook, Services
from syncline.rest.routers import audit as audit_routes
from syncline.rest.routers import catalog, projects, reports, runs, schedules

DESCRIPTION = """Syncline's REST API: projects, runs, reports and the error catalog.

Authenticate with a Kubernetes bearer token (`Authorization: Bearer <token>`, e.g. from
`kubectl create token`). Each request is authorized with a SubjectAccessReview for the
verb and resource it touches, so the API allows exactly what your RBAC allows. Every
error is `{code, name, message}` from the catalog (`GET /api/v1/errors`)."""


def create_app(
    api: client.ApiClient,
    *,
    audit: AuditHook | None = None,
    decision_ttl: float = DECISION_TTL_SECONDS,
    system_namespace: str | None = None,
) -> FastAPI:
    """The REST API acting with ``api`` (the API's own ServiceAccount or kubeconfig)."""
    app = FastAPI(
        title="Syncline API",
        version=__version__,
        description=DESCRIPTION,
        openapi_url=docs_ui.OPENAPI,
        docs_url=None,
        redoc_url=None,
        responses=errors.COMMON_RESPONSES,
    )
    svc = Services(api, Authenticator(api, decision_ttl), Authorizer(api, decision_ttl))
    if audit is not None:
        svc.audit = audit
    svc.system_namespace = system_namespace
    app.state.services = svc
    errors.install(app)
    for module in (projects, runs, reports, schedules, audit_routes, catalog):
        app.include_router(module.router)
    docs_ui.install(app)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        """Liveness and readiness: the process serves (no token needed, nothing read)."""
        return {"status": "ok"}

    _without_fastapi_422(app)
    return app


def _without_fastapi_422(app: FastAPI) -> None:
    """FastAPI documents a 422 body for every route; this API answers validation errors
    with catalog 400s instead, so the document says so."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                operation.get("responses", {}).pop("422", None)
        components = schema.get("components", {}).get("schemas", {})
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]

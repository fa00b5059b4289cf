"""Every error the API returns is a catalog entry: ``{code, name, message}`` with its status.

FastAPI's own answers (422 validation errors, 404 for unknown routes, 405) and the
Kubernetes client's exceptions are translated here, so a client never has to parse
two error formats, and nothing from an unexpected exception (which might carry a
server-side detail) reaches the caller: it gets 1021 with a reference to the log line.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from kubernetes.client.exceptions import ApiException
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from syncline.errors import SynclineError

log = logging.getLogger(__name__)


class ErrorBody(BaseModel):
    """An error from the catalog (GET /api/v1/errors lists them all)."""

    code: int = Field(description="Stable catalog code.", examples=[2801])
    name: str = Field(description="The code's CamelCase name.", examples=["Forbidden"])
    message: str = Field(description='"<code> <Name>: <what happened>".')


def _described(what: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": what}


COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _described("Invalid request (1000, 1009, 1014, 1015, 1019)."),
    401: _described("No or invalid bearer token (2800)."),
    403: _described("RBAC does not allow it (2801)."),
    404: _described("Not found (1002)."),
    405: _described("Method not allowed (1018)."),
    500: _described("Internal error (1021)."),
    502: _described("The Kubernetes API failed (1022)."),
    503: _described("Token or access review unavailable (2810, 2811)."),
}
"""Statuses any route may answer; each route adds its own (409, 410, ...)."""


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI response entries for route-specific error statuses."""
    return {s: {"model": ErrorBody, "description": "Catalog error."} for s in statuses}


def error_response(err: SynclineError) -> JSONResponse:
    return JSONResponse(err.as_dict(), status_code=err.spec.http_status)


def _field(location: Sequence[Any]) -> str:
    parts = [str(p) for p in location if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def from_validation(exc: RequestValidationError) -> SynclineError:
    """A FastAPI validation failure as 1014 (missing) or 1015 (invalid), naming the field."""
    errors = exc.errors()
    if not errors:
        return SynclineError("InvalidRequest", detail="the request could not be read")
    first = errors[0]
    field = _field(first.get("loc", ()))
    if first.get("type") == "missing":
        return SynclineError("ParameterMissing", field=field)
    if first.get("type") in ("json_invalid", "model_attributes_type", "dict_type"):
        return SynclineError("InvalidRequest", detail=f"{field}: {first.get('msg', '')}")
    return SynclineError("ParameterInvalid", field=field, detail=str(first.get("msg", ""))[:200])


def from_http(exc: HTTPException, request: Request) -> SynclineError:
    if exc.status_code == 404:
        return SynclineError("ItemNotFound", kind="Route", name=request.url.path[:200])
    if exc.status_code == 405:
        return SynclineError("MethodNotAllowed", method=request.method, path=request.url.path)
    return SynclineError("InvalidRequest", detail=str(exc.detail)[:200])


def from_kubernetes(exc: ApiException) -> SynclineError:
    """What the API server said, without its body (it may echo request content)."""
    if exc.status == 404:
        return SynclineError("ItemNotFound", kind="Object", name="requested")
    if exc.status == 409:
        return SynclineError("ServerConflict", kind="Object", name="requested")
    if exc.status == 410:
        return SynclineError("ContinueTokenExpired")
    return SynclineError("KubernetesApiFailed", status=exc.status)


def install(app: FastAPI) -> None:
    """Register the translators on ``app``."""

    async def on_syncline(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, SynclineError)
        return error_response(exc)

    async def on_validation(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return error_response(from_validation(exc))

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        return error_response(from_http(exc, request))

    async def on_kubernetes(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiException)
        log.warning("Kubernetes API error", extra={"status": exc.status, "reason": exc.reason})
        return error_response(from_kubernetes(exc))

    async def on_anything(_: Request, exc: Exception) -> JSONResponse:
        reference = uuid.uuid4().hex[:12]
        log.error("unhandled error %s", reference, exc_info=exc)
        return error_response(SynclineError("InternalError", reference=reference))

    app.add_exception_handler(SynclineError, on_syncline)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(ApiException, on_kubernetes)
    app.add_exception_handler(Exception, on_anything)

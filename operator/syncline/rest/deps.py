"""What every route depends on: the services, and the authenticated caller."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from kubernetes import client

from syncline.rest.auth import Access, Authenticator, Authorizer, Caller

SUCCESS = "Success"
"""The audit result of a change that was made (a failure: "<code> <Name>")."""
AuditHook = Callable[[Caller, str, str, str, dict[str, Any]], None]
"""(caller, action, target, result, details) -> None: records a change in the audit log."""


def _no_audit(*_: Any) -> None:
    """Without an audit log, changes are still authorized, just not recorded."""


@dataclass
class Services:
    """The API's own Kubernetes client and the checks made with it."""

    api: client.ApiClient
    authenticator: Authenticator
    authorizer: Authorizer
    audit: AuditHook = field(default=_no_audit)
    system_namespace: str | None = None
    """Where the audit log and built-in schedules live (None: Syncline's own namespace)."""

    def record(self, caller: Caller, action: str, target: str, result: str, **details: Any) -> None:
        """Record a change made through the API (who = the authenticated user)."""
        self.audit(caller, action, target, result, details)

    def namespace_filter(self, caller: Caller, verb: str, resource: str) -> Callable[[str], bool]:
        """For a cluster-wide list: which namespaces the caller may ``verb`` ``resource`` in.

        One review when RBAC allows it cluster-wide; otherwise one (cached) per namespace
        met, so a cluster-wide list never shows a namespace the caller could not list.
        """
        if self.authorizer.allowed(caller, Access(verb, resource)):
            return lambda _: True
        return lambda ns: self.authorizer.allowed(caller, Access(verb, resource, ns))


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


_bearer = HTTPBearer(auto_error=False, description="A Kubernetes bearer token (TokenReview).")


def authenticated(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    """The caller, or 2800 Unauthenticated."""
    svc = services(request)
    return svc.authenticator.authenticate(credentials.credentials if credentials else None)


DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
NAME = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"

CallerDep = Annotated[Caller, Depends(authenticated)]
ServicesDep = Annotated[Services, Depends(services)]
NamespacePath = Annotated[
    str, Path(min_length=1, max_length=63, pattern=DNS_LABEL, description="Namespace.")
]
NamePath = Annotated[
    str, Path(min_length=1, max_length=253, pattern=NAME, description="Object name.")
]

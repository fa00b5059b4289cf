"""Resuming a project a guardrail suspended, through the Kubernetes API.

The CLI sets the project's ``syncline.dev/resume`` annotation to a new token, exactly
what a GitOps edit of that one field does; the operator clears the trip and unsuspends
the schedule (``controllers.guardrails``). Whoever may annotate a project may resume it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from syncline.api.base import GROUP, VERSION
from syncline.errors import SynclineError
from syncline.history.guardrails import RESUME_ANNOTATION

PROJECTS = "integrationprojects"


def request_resume(
    api: client.ApiClient, namespace: str, project: str, token: str | None = None
) -> tuple[str, dict[str, Any] | None]:
    """Set a new resume token on ``project``; the token, and the trip it lifts (None when
    no guardrail holds the project: the token is then simply spent)."""
    custom = client.CustomObjectsApi(api)
    try:
        current: Any = custom.get_namespaced_custom_object(
            GROUP, VERSION, namespace, PROJECTS, project
        )
    except ApiException as err:
        if err.status == 404:
            raise SynclineError("ItemNotFound", kind="IntegrationProject", name=project) from err
        raise
    token = token or datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    patch = {"metadata": {"annotations": {RESUME_ANNOTATION: token}}}
    custom.patch_namespaced_custom_object(GROUP, VERSION, namespace, PROJECTS, project, patch)
    trip: dict[str, Any] | None = (current.get("status") or {}).get("guardrail")
    return token, trip

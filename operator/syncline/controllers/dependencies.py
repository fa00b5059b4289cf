"""Who uses whom: kopf indexes from references, and a nudge that re-reconciles users.

A ConnectionSet's readiness depends on its Connections, a project's on its set, its
template and the connections' catalogs. When an upstream object's outcome changes, its
users get the annotation ``syncline.dev/upstream-change`` set to a value naming the
change; kopf sees a changed object and runs their reconcile. The same value written
twice is a no-op, so an unchanged upstream never causes churn.

The index functions are ``async`` although they never wait: kopf runs a sync handler
in its thread pool, and with a thousand projects every watch event then queued behind
the reconciles for three thread hops of pure dictionary work (see docs/operator.md).
"""

from __future__ import annotations

import logging
from typing import Any

import kopf

from syncline.api.base import GROUP, VERSION
from syncline.controllers import kube

logger = logging.getLogger(__name__)

UPSTREAM_ANNOTATION = f"{GROUP}/upstream-change"
SET_ANNOTATION = f"{GROUP}/upstream-set"
"""A project's set writes here, not to :data:`UPSTREAM_ANNOTATION`: so the latest thing the
set said is still there after other nudges (quota, CronJob), and a reconcile can tell
whether the watch has already shown it that state (controllers/watched.py)."""


@kopf.index(GROUP, VERSION, "connectionsets")
async def sets_by_connection(
    namespace: str | None, name: str, spec: kopf.Spec, **_: Any
) -> dict[tuple[str, str], str]:
    """(namespace, connection) -> sets naming it."""
    members = spec.get("connections") or []
    return {(namespace or "", m["connectionRef"]["name"]): name for m in members}


@kopf.index(GROUP, VERSION, "integrationprojects")
async def projects_by_set(
    namespace: str | None, name: str, spec: kopf.Spec, **_: Any
) -> dict[tuple[str, str], str]:
    """(namespace, connection set) -> projects using it."""
    ref = spec.get("connectionSetRef") or {}
    return {(namespace or "", ref["name"]): name} if ref.get("name") else {}


@kopf.index(GROUP, VERSION, "integrationprojects")
async def projects_by_template(
    namespace: str | None, name: str, spec: kopf.Spec, **_: Any
) -> dict[tuple[str, str, str], tuple[str, str]]:
    """(template kind, template namespace or "", template name) -> (namespace, project)."""
    ref = spec.get("templateRef") or {}
    if not ref.get("name"):
        return {}
    kind = ref.get("kind") or "IntegrationTemplate"
    home = namespace or "" if kind == "IntegrationTemplate" else ""
    return {(kind, home, ref["name"]): (namespace or "", name)}


@kopf.index(GROUP, VERSION, "integrationprojects")
async def scheduled_projects(
    namespace: str | None, name: str, spec: kopf.Spec, meta: kopf.Meta, **_: Any
) -> dict[str, tuple[str, str]]:
    """namespace -> (creationTimestamp, name) of projects that take a scheduling slot."""
    if not counts_towards_quota(spec):
        return {}
    return {namespace or "": (str(meta.get("creationTimestamp") or ""), name)}


def counts_towards_quota(spec: Any) -> bool:
    """Projects with a schedule that is not suspended use one of the namespace's slots."""
    scheduled = bool(spec.get("schedule")) or bool(spec.get("schedules"))
    return scheduled and not spec.get("suspend", False)


def quota_rank(index: Any, namespace: str, me: tuple[str, str]) -> int:
    """How many scheduled projects in ``namespace`` came before ``me`` (oldest first)."""
    others = {tuple(v) for v in index.get(namespace, [])}
    return sum(1 for other in others if other < me)


def request_reconcile(
    kind: kube.Kind,
    namespace: str | None,
    name: str,
    cause: str,
    annotation: str = UPSTREAM_ANNOTATION,
) -> None:
    """Make kopf reconcile ``name`` again because ``cause`` changed upstream."""
    logger.debug("requesting reconcile of %s %s/%s: %s", kind.kind, namespace, name, cause)
    kube.annotate(kind, namespace, name, {annotation: cause[:250]})


def users_of_connection(
    namespace: str, name: str, sets: Any, projects: Any
) -> list[tuple[kube.Kind, str]]:
    """The sets naming the connection and the projects using those sets."""
    found: list[tuple[kube.Kind, str]] = []
    for set_name in sorted(set(sets.get((namespace, name), []))):
        found.append((kube.CONNECTION_SET, set_name))
        found += [(kube.PROJECT, p) for p in sorted(set(projects.get((namespace, set_name), [])))]
    return found

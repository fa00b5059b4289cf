"""The operator's few calls to the Kubernetes API, with the official (blocking) client.

Handlers are sync ``def`` functions, which kopf runs in a thread pool, so blocking here
is fine. Every call names one object: the operator never lists Secrets, and it reads a
Secret only when a Connection references it.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import kubernetes
from kubernetes.client.exceptions import ApiException

from syncline.api.base import GROUP, VERSION
from syncline.errors import SynclineError
from syncline.kube import client as kube_client
from syncline.kube import plain

FIELD_MANAGER = "syncline"
CONNECTION_POOL_SIZE = 32
"""Kept-alive connections to the API server: at least one per handler thread (kopf's 16
workers, the probe pool, housekeeping); with the client's default of 10, every call
beyond that opened a fresh TLS connection and threw it away afterwards."""
_lock = threading.Lock()
_client: list[Any] = []


@dataclass(frozen=True, slots=True)
class Kind:
    """A Syncline resource type as the custom-objects API addresses it."""

    kind: str
    plural: str
    namespaced: bool = True


CONNECTION = Kind("Connection", "connections")
CONNECTION_SET = Kind("ConnectionSet", "connectionsets")
TEMPLATE = Kind("IntegrationTemplate", "integrationtemplates")
CLUSTER_TEMPLATE = Kind("ClusterIntegrationTemplate", "clusterintegrationtemplates", False)
PROJECT = Kind("IntegrationProject", "integrationprojects")
RUN = Kind("IntegrationRun", "integrationruns")
KINDS = {k.kind: k for k in (CONNECTION, CONNECTION_SET, TEMPLATE, CLUSTER_TEMPLATE, PROJECT)}


def api_client() -> Any:
    """One shared ApiClient: in-cluster credentials in a pod, else the kubeconfig."""
    with _lock:
        if not _client:
            try:
                kubernetes.config.load_incluster_config()  # type: ignore[no-untyped-call]
            except kubernetes.config.ConfigException:
                kubernetes.config.load_kube_config()  # type: ignore[no-untyped-call]
            configuration = kubernetes.client.Configuration.get_default_copy()
            configuration.connection_pool_maxsize = CONNECTION_POOL_SIZE
            _client.append(kubernetes.client.ApiClient(configuration))
        return _client[0]


def reset_client() -> None:
    """Forget the client (tests point the operator at a fresh control plane)."""
    with _lock:
        _client.clear()


def custom_api() -> Any:
    """The CustomObjectsApi on the shared client."""
    return kubernetes.client.CustomObjectsApi(api_client())


_custom = custom_api


def get_object(kind: Kind, namespace: str | None, name: str) -> dict[str, Any] | None:
    """The object, or None when it does not exist."""
    api = _custom()
    try:
        if kind.namespaced:
            obj = api.get_namespaced_custom_object(GROUP, VERSION, namespace, kind.plural, name)
        else:
            obj = api.get_cluster_custom_object(GROUP, VERSION, kind.plural, name)
    except ApiException as err:
        if err.status == 404:
            return None
        raise
    result: dict[str, Any] = obj
    return result


def patch_status(kind: Kind, namespace: str | None, name: str, status: dict[str, Any]) -> None:
    """Merge-patch the status subresource (lists such as conditions are replaced whole)."""
    api = _custom()
    body = {"status": status}
    if kind.namespaced:
        api.patch_namespaced_custom_object_status(
            GROUP, VERSION, namespace, kind.plural, name, body
        )
    else:
        api.patch_cluster_custom_object_status(GROUP, VERSION, kind.plural, name, body)


def update_status(
    kind: Kind,
    namespace: str | None,
    name: str,
    decide: Callable[[dict[str, Any]], dict[str, Any] | None],
) -> dict[str, Any] | None:
    """Read-decide-write under optimistic concurrency (see syncline.kube.client):
    for status computed from what is there (conditions lists, totals, "still open?")."""
    where = kube_client.StatusAddress(kind.plural, namespace if kind.namespaced else None, name)
    return kube_client.update_status(_custom(), where, decide)


def annotate(kind: Kind, namespace: str | None, name: str, annotations: dict[str, str]) -> None:
    """Set annotations; a changed annotation makes kopf run the object's update handler."""
    api = _custom()
    body = {"metadata": {"annotations": annotations}}
    try:
        if kind.namespaced:
            api.patch_namespaced_custom_object(GROUP, VERSION, namespace, kind.plural, name, body)
        else:
            api.patch_cluster_custom_object(GROUP, VERSION, kind.plural, name, body)
    except ApiException as err:
        if err.status != 404:  # gone meanwhile: nothing left to reconcile
            raise


def read_secret(namespace: str, name: str) -> dict[str, str] | None:
    """The decoded data of one Secret, None if it does not exist; 2102 when forbidden.

    The values are returned to the caller only to hand them to the connection check;
    nothing here logs them, and exceptions carry names, never data.
    """
    try:
        secret = plain.get(api_client(), plain.path("v1", "secrets", namespace, name))
    except ApiException as err:
        if err.status == 404:
            return None
        if err.status == 403:
            raise SynclineError("SecretForbidden", name=name) from None
        raise
    data = secret.get("data") or {}
    return {k: base64.b64decode(v).decode("utf-8", "replace") for k, v in data.items()}


def _cronjobs(namespace: str, name: str | None = None) -> str:
    return plain.path("batch/v1", "cronjobs", namespace, name)


def _jobs(namespace: str, name: str | None = None) -> str:
    return plain.path("batch/v1", "jobs", namespace, name)


def get_cronjob(namespace: str, name: str) -> dict[str, Any] | None:
    """The CronJob as a plain dict, or None."""
    try:
        found: dict[str, Any] = plain.get(api_client(), _cronjobs(namespace, name))
    except ApiException as err:
        if err.status == 404:
            return None
        raise
    return found


def apply_cronjob(manifest: dict[str, Any]) -> dict[str, Any]:
    """Server-side apply with force: the fields we set are ours, hand edits are reverted."""
    return _server_side_apply("batch/v1", "cronjobs", manifest)


def _server_side_apply(group_version: str, plural: str, manifest: dict[str, Any]) -> dict[str, Any]:
    """A forced server-side apply of a namespaced object; the object as stored."""
    meta = manifest["metadata"]
    where = plain.path(group_version, plural, meta["namespace"], meta["name"])
    applied: dict[str, Any] = plain.patch(
        api_client(), where, manifest, plain.APPLY, fieldManager=FIELD_MANAGER, force="true"
    )
    return applied


def apply_engine_identity(manifests: list[dict[str, Any]]) -> None:
    """Server-side apply the namespace's engine ServiceAccount and RoleBinding (forced:
    the names are Syncline's, and manifests/tenant applies the same objects)."""
    for manifest in manifests:
        if manifest["kind"] == "ServiceAccount":
            _server_side_apply("v1", "serviceaccounts", manifest)
        else:
            _server_side_apply("rbac.authorization.k8s.io/v1", "rolebindings", manifest)


def _events(namespace: str, selector: str) -> list[dict[str, Any]]:
    where = plain.path("v1", "events", namespace)
    items: list[dict[str, Any]] = plain.get(api_client(), where, fieldSelector=selector)["items"]
    return items


def failed_create_events(namespace: str, job: str) -> list[dict[str, Any]]:
    """The Job controller's FailedCreate events for a Job (why its pod was refused)."""
    return _events(
        namespace, f"involvedObject.kind=Job,involvedObject.name={job},reason=FailedCreate"
    )


def pod_failure_events(namespace: str, job: str) -> list[dict[str, Any]]:
    """The kubelet's Failed events for a Job's pods (why a created pod cannot start).

    Pods are named after their Job plus a suffix; events are filtered by that name, so
    the operator needs no access to Pods themselves."""
    events = _events(namespace, "involvedObject.kind=Pod,reason=Failed")
    prefix = f"{job}-"
    return [e for e in events if str(e["involvedObject"].get("name", "")).startswith(prefix)]


def delete_job(namespace: str, name: str) -> None:
    """Delete a Job and its pods (if any); a Job already gone is fine."""
    try:
        plain.delete(api_client(), _jobs(namespace, name), propagationPolicy="Background")
    except ApiException as err:
        if err.status != 404:
            raise


def job_exists(namespace: str, name: str) -> bool:
    try:
        plain.get(api_client(), _jobs(namespace, name))
    except ApiException as err:
        if err.status == 404:
            return False
        raise
    return True


def create_job(manifest: dict[str, Any]) -> bool:
    """Create a Job; False when one of that name exists (a repeated create is a no-op)."""
    try:
        plain.create(api_client(), _jobs(manifest["metadata"]["namespace"]), manifest)
    except ApiException as err:
        if err.status == 409:
            return False
        raise
    return True


def suspend_cronjob(namespace: str, name: str) -> None:
    """Stop a CronJob from starting Jobs; the ones it started go on."""
    plain.patch(api_client(), _cronjobs(namespace, name), {"spec": {"suspend": True}})


def delete_cronjob(namespace: str, name: str, owner_uid: str) -> bool:
    """Delete the CronJob if (and only if) the given project owns it; True if deleted.

    Its Jobs are orphaned, not deleted: a run in flight finishes and records its result
    (the run watch follows Jobs by label, owner or not; their TTL removes them later).
    """
    existing = get_cronjob(namespace, name)
    if existing is None or not is_controlled_by(existing, owner_uid):
        return False
    try:
        plain.delete(api_client(), _cronjobs(namespace, name), propagationPolicy="Orphan")
    except ApiException as err:
        if err.status != 404:
            raise
    return True


def is_controlled_by(obj: dict[str, Any], owner_uid: str) -> bool:
    """Whether ``obj`` has a controller ownerReference to ``owner_uid``."""
    refs = obj.get("metadata", {}).get("ownerReferences") or []
    return any(r.get("controller") and r.get("uid") == owner_uid for r in refs)

"""Read a project and everything it refers to from the API into a ResolvedProject.

Credentials never come from the API here: the pod receives them as environment
variables (``secretKeyRef``) named by ``credential_env_var``, so the engine's
ServiceAccount needs no access to Secrets at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from syncline.api import GROUP, VERSION
from syncline.api.connection import Connection, credential_env_var, required_secret_keys
from syncline.api.connectionset import ConnectionSet
from syncline.api.project import IntegrationProject
from syncline.api.task import Task
from syncline.api.template import ClusterIntegrationTemplate, IntegrationTemplate
from syncline.engine.project import ResolvedConnection, ResolvedProject, assemble
from syncline.errors import SynclineError


class Reader:
    """Gets Syncline objects of one namespace as API models; 404 becomes 1002 ItemNotFound."""

    def __init__(self, api: client.ApiClient, namespace: str) -> None:
        self.custom = client.CustomObjectsApi(api)
        self.namespace = namespace

    def get(self, kind: str, plural: str, name: str, *, cluster: bool = False) -> dict[str, Any]:
        try:
            if cluster:
                obj = self.custom.get_cluster_custom_object(GROUP, VERSION, plural, name)
            else:
                obj = self.custom.get_namespaced_custom_object(
                    GROUP, VERSION, self.namespace, plural, name
                )
        except ApiException as err:
            if err.status == 404:
                raise SynclineError("ItemNotFound", kind=kind, name=name) from err
            raise
        assert isinstance(obj, dict)
        return obj

    def project(self, name: str) -> tuple[IntegrationProject, str | None]:
        """The project's desired state, and how its last finished run ended (if any)."""
        obj = self.get("IntegrationProject", "integrationprojects", name)
        last = ((obj.get("status") or {}).get("lastRun") or {}).get("result")
        return IntegrationProject.model_validate(_spec_only(obj)), last

    def resolve(self, project: IntegrationProject, env: Mapping[str, str]) -> ResolvedProject:
        spec = project.spec
        cset = ConnectionSet.model_validate(
            _spec_only(self.get("ConnectionSet", "connectionsets", spec.connection_set_ref.name))
        )
        connections = {
            m.name: Connection.model_validate(
                _spec_only(self.get("Connection", "connections", m.connection_ref.name))
            )
            for m in cset.spec.connections
        }
        return resolve_objects(project, cset, connections, self._template_tasks(project), env)

    def _template_tasks(self, project: IntegrationProject) -> list[Task]:
        ref = project.spec.template_ref
        if ref is None:
            return []
        if ref.kind == "ClusterIntegrationTemplate":
            obj = self.get(ref.kind, "clusterintegrationtemplates", ref.name, cluster=True)
            return ClusterIntegrationTemplate.model_validate(_spec_only(obj)).spec.tasks
        obj = self.get(ref.kind, "integrationtemplates", ref.name)
        return IntegrationTemplate.model_validate(_spec_only(obj)).spec.tasks


def resolve_objects(
    project: IntegrationProject,
    cset: ConnectionSet,
    connections: Mapping[str, Connection],
    template_tasks: list[Task],
    env: Mapping[str, str],
) -> ResolvedProject:
    """Combine already-read objects and the credential environment into a ResolvedProject."""
    resolved = {
        alias: ResolvedConnection(alias, conn.spec, _credentials(alias, conn, env))
        for alias, conn in connections.items()
    }
    return assemble(project, cset, resolved, template_tasks)


def _credentials(alias: str, conn: Connection, env: Mapping[str, str]) -> dict[str, str]:
    if conn.spec.credentials is None:
        return {}
    values = {}
    for key in required_secret_keys(conn.spec):
        variable = credential_env_var(alias, key)
        if variable not in env:
            raise SynclineError("CredentialMissing", key=key, connection=alias)
        values[key] = env[variable]
    return values


def _spec_only(obj: dict[str, Any]) -> dict[str, Any]:
    """The object without status: the engine acts on desired state only."""
    meta = obj.get("metadata", {})
    return {
        "apiVersion": obj["apiVersion"],
        "kind": obj["kind"],
        "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "generation") if k in meta},
        "spec": obj.get("spec", {}),
    }

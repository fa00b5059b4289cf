"""The confused deputy, closed at the API server: only someone who may read a Secret may
point a Connection at it (the admission policy of syncline.api.admission)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from syncline.api import GROUP, VERSION
from syncline.devcluster.databases import DatabaseAccess
from tests.integration.operator.harness import Cluster

pytestmark = pytest.mark.integration
WRITER = "alice@example.test"


@pytest.fixture
def as_writer(kube_api: client.ApiClient, cluster: Cluster) -> Iterator[client.CustomObjectsApi]:
    """A user who may write Connections and read Secret ``readable``, not ``hidden``."""
    rbac = client.RbacAuthorizationV1Api(kube_api)
    role = {
        "metadata": {"name": "connection-writer"},
        "rules": [
            {
                "apiGroups": [GROUP],
                "resources": ["connections"],
                "verbs": ["create", "get", "update", "patch"],
            },
            {
                "apiGroups": [""],
                "resources": ["secrets"],
                "verbs": ["get"],
                "resourceNames": ["readable"],
            },
        ],
    }
    rbac.create_namespaced_role(cluster.namespace, role)
    binding = {
        "metadata": {"name": "connection-writer"},
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "Role",
            "name": "connection-writer",
        },
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": WRITER}],
    }
    rbac.create_namespaced_role_binding(cluster.namespace, binding)
    for name in ("readable", "hidden"):
        cluster.secret(name, {"username": "u", "password": f"{name}-value"})
    impersonating = client.ApiClient(kube_api.configuration)
    impersonating.set_default_header("Impersonate-User", WRITER)
    with impersonating:
        yield client.CustomObjectsApi(impersonating)


def _connection(name: str, secret: str, host: str = "db.example.test") -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Connection",
        "metadata": {"name": name},
        "spec": {
            "type": "postgresql",
            "endpoint": {"host": host, "port": 5432, "database": "app"},
            "credentials": {"secretRef": {"name": secret}},
        },
    }


def _refused(call: Any) -> str:
    with pytest.raises(ApiException) as caught:
        call()
    assert caught.value.status in (403, 422), caught.value
    message: str = json.loads(caught.value.body)["message"]
    return message


def test_a_writer_who_cannot_read_the_secret_cannot_reference_it(
    as_writer: client.CustomObjectsApi, cluster: Cluster
) -> None:
    ns = cluster.namespace

    def create(body: dict[str, Any]) -> Any:
        return as_writer.create_namespaced_custom_object(GROUP, VERSION, ns, "connections", body)

    message = _refused(lambda: create(_connection("steal", "hidden", host="evil.example.test")))
    assert "2104 SecretNotReadableByWriter" in message
    assert f"{WRITER} may not read Secret hidden in {ns}" in message
    assert "hidden-value" not in message

    create(_connection("mine", "readable"))
    # Re-pointing an allowed Connection at the unreadable Secret is the same theft.
    swap = {"spec": {"credentials": {"secretRef": {"name": "hidden"}}}}
    message = _refused(
        lambda: as_writer.patch_namespaced_custom_object(
            GROUP, VERSION, ns, "connections", "mine", swap
        )
    )
    assert "2104" in message
    # Moving a Connection whose Secret the writer may read is theirs to do.
    move = {"spec": {"endpoint": {"host": "db2.example.test"}}}
    as_writer.patch_namespaced_custom_object(GROUP, VERSION, ns, "connections", "mine", move)


def test_spec_writes_are_checked_and_everything_else_is_not(
    as_writer: client.CustomObjectsApi, cluster: Cluster, pg_db: DatabaseAccess
) -> None:
    ns = cluster.namespace
    # An administrator's Connection to the hidden Secret: the writer may still ask for a
    # re-check (an annotation), but may not redirect it.
    cluster.custom.create_namespaced_custom_object(
        GROUP, VERSION, ns, "connections", _connection("admins", "hidden", host=pg_db.host)
    )
    refresh = {"metadata": {"annotations": {"syncline.dev/refresh": "1"}}}
    as_writer.patch_namespaced_custom_object(GROUP, VERSION, ns, "connections", "admins", refresh)
    redirect = {"spec": {"endpoint": {"host": "evil.example.test"}}}
    message = _refused(
        lambda: as_writer.patch_namespaced_custom_object(
            GROUP, VERSION, ns, "connections", "admins", redirect
        )
    )
    assert "2104" in message
    # A Connection without credentials references no Secret.
    files = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Connection",
        "metadata": {"name": "files"},
        "spec": {"type": "sqlite", "endpoint": {"path": "/tmp/x.db"}},
    }
    as_writer.create_namespaced_custom_object(GROUP, VERSION, ns, "connections", files)

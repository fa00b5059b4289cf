"""The identity run pods use in a namespace: a ServiceAccount bound to syncline-engine.

The operator prepares it itself when a project appears in a namespace, so a team needs
no extra install step (``manifests/tenant`` stays for clusters where the operator is not
allowed to write RBAC). The binding grants only the shipped ``syncline-engine``
ClusterRole, and the operator's own RBAC may bind that role and no other.
"""

from __future__ import annotations

from typing import Any

MANAGED_BY = {"app.kubernetes.io/managed-by": "syncline", "app.kubernetes.io/part-of": "syncline"}


def engine_identity(
    namespace: str, service_account: str, cluster_role: str
) -> list[dict[str, Any]]:
    """The ServiceAccount and its RoleBinding, as server-side apply manifests."""
    account = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": service_account, "namespace": namespace, "labels": MANAGED_BY},
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": service_account, "namespace": namespace, "labels": MANAGED_BY},
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": cluster_role,
        },
        "subjects": [{"kind": "ServiceAccount", "name": service_account, "namespace": namespace}],
    }
    return [account, binding]

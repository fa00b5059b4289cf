"""Built-in schedules in the cluster: ConfigMap ``syncline-builtin-schedules``.

``data`` maps a work's name to its cron (only changed ones need be there); the operator
records when it last ran each work in annotations ``syncline.dev/last-run.<name>``. Both
are merge patches of their own keys, so a user changing a cron and the operator noting a
run never overwrite each other.
"""

from __future__ import annotations

from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

CONFIGMAP = "syncline-builtin-schedules"
LAST_RUN_PREFIX = "syncline.dev/last-run."
LABELS = {"app.kubernetes.io/part-of": "syncline"}


def read(api: client.ApiClient, namespace: str) -> tuple[dict[str, str], dict[str, str]]:
    """(stored crons, last run times by name); both empty when nothing was stored."""
    v1: Any = client.CoreV1Api(api)
    try:
        configmap = v1.read_namespaced_config_map(CONFIGMAP, namespace)
    except ApiException as err:
        if err.status == 404:
            return {}, {}
        raise
    annotations = configmap.metadata.annotations or {}
    last_runs = {
        k.removeprefix(LAST_RUN_PREFIX): v
        for k, v in annotations.items()
        if k.startswith(LAST_RUN_PREFIX)
    }
    return dict(configmap.data or {}), last_runs


def patch(
    api: client.ApiClient,
    namespace: str,
    data: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
) -> None:
    """Merge ``data`` and ``annotations`` into the ConfigMap, creating it if needed."""
    v1: Any = client.CoreV1Api(api)
    metadata: dict[str, Any] = {"annotations": annotations or {}}
    body = {"metadata": metadata, "data": data or {}}
    for _ in range(5):
        try:
            v1.patch_namespaced_config_map(CONFIGMAP, namespace, body)
            return
        except ApiException as err:
            if err.status != 404:
                raise
        try:
            create = {**body, "metadata": {**metadata, "name": CONFIGMAP, "labels": LABELS}}
            v1.create_namespaced_config_map(namespace, create)
            return
        except ApiException as err:
            if err.status != 409:
                raise

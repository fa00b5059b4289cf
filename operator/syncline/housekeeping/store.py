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

from syncline.kube import plain

CONFIGMAP = "syncline-builtin-schedules"
LAST_RUN_PREFIX = "syncline.dev/last-run."
LABELS = {"app.kubernetes.io/part-of": "syncline"}


def _where(namespace: str, name: str | None = None) -> str:
    return plain.path("v1", "configmaps", namespace, name)


def read(api: client.ApiClient, namespace: str) -> tuple[dict[str, str], dict[str, str]]:
    """(stored crons, last run times by name); both empty when nothing was stored."""
    try:
        configmap = plain.get(api, _where(namespace, CONFIGMAP))
    except ApiException as err:
        if err.status == 404:
            return {}, {}
        raise
    annotations = configmap["metadata"].get("annotations") or {}
    last_runs = {
        k.removeprefix(LAST_RUN_PREFIX): v
        for k, v in annotations.items()
        if k.startswith(LAST_RUN_PREFIX)
    }
    return dict(configmap.get("data") or {}), last_runs


def patch(
    api: client.ApiClient,
    namespace: str,
    data: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
) -> None:
    """Merge ``data`` and ``annotations`` into the ConfigMap, creating it if needed."""
    metadata: dict[str, Any] = {"annotations": annotations or {}}
    body = {"metadata": metadata, "data": data or {}}
    for _ in range(5):
        try:
            plain.patch(api, _where(namespace, CONFIGMAP), body)
            return
        except ApiException as err:
            if err.status != 404:
                raise
        try:
            create = {**body, "metadata": {**metadata, "name": CONFIGMAP, "labels": LABELS}}
            plain.create(api, _where(namespace), create)
            return
        except ApiException as err:
            if err.status != 409:
                raise

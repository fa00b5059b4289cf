"""An API client for wherever Syncline runs: a pod or a laptop."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from kubernetes import client, config
from kubernetes.config.incluster_config import InClusterConfigLoader

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")


def api_client() -> client.ApiClient:
    """In-cluster credentials when running in a pod, else the kubeconfig.

    The in-cluster loader re-reads the projected token as the kubelet rotates it.
    """
    configuration = client.Configuration()
    token = SERVICE_ACCOUNT_DIR / "token"
    if os.environ.get("KUBERNETES_SERVICE_HOST") and token.exists():
        loader = InClusterConfigLoader(  # type: ignore[no-untyped-call]
            token_filename=str(token), cert_filename=str(SERVICE_ACCOUNT_DIR / "ca.crt")
        )
        loader.load_and_set(configuration)  # type: ignore[no-untyped-call]
    else:
        config.load_kube_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    return client.ApiClient(configuration)


def loosely(api: Any) -> Any:
    """An API object whose methods take plain dict bodies.

    The client accepts JSON-shaped dicts for any body at runtime (and we build
    manifests as dicts with pure builders), but its type hints name only the
    generated model classes.
    """
    return api

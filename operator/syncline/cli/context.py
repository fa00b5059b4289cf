"""What every cluster-facing command shares: the ``-n/--namespace`` option and the API
client with the namespace it defaults to (the kubeconfig's current context's)."""

from __future__ import annotations

from typing import Any

import click

NAMESPACE = click.option(
    "-n", "--namespace", default=None, help="Namespace (default: the kubeconfig's)."
)


def kube_context(namespace: str | None) -> tuple[Any, str]:
    """An API client and ``namespace``, or the current context's namespace."""
    from kubernetes import config

    from syncline.kube.client import api_client

    if namespace is None:
        _, active = config.list_kube_config_contexts()  # type: ignore[no-untyped-call]
        namespace = active.get("context", {}).get("namespace", "default")
    return api_client(), namespace

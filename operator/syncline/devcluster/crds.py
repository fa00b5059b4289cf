"""Install the generated CRDs from ``crds/`` and wait until the API serves them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client

from syncline.api import GROUP
from syncline.devcluster.process import wait_until

ESTABLISH_TIMEOUT = 60.0


def install_crds(api: client.ApiClient, directory: Path) -> list[str]:
    """Create or replace every CRD in directory; return their names once all are Established."""
    # Typed as Any: the client accepts plain dicts although its stubs name model classes.
    extensions: Any = client.ApiextensionsV1Api(api)
    names: list[str] = []
    for path in sorted(directory.glob(f"{GROUP}_*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if document and document.get("kind") == "CustomResourceDefinition":
                _apply(extensions, document)
                names.append(document["metadata"]["name"])
    for name in names:
        wait_until(_established_check(extensions, name), ESTABLISH_TIMEOUT, f"CRD {name}")
    return names


def _apply(extensions: Any, crd: dict[str, Any]) -> None:
    name = crd["metadata"]["name"]
    try:
        current = extensions.read_custom_resource_definition(name)
    except client.ApiException as err:
        if err.status != 404:
            raise
        extensions.create_custom_resource_definition(crd)
        return
    crd["metadata"]["resourceVersion"] = current.metadata.resource_version
    extensions.replace_custom_resource_definition(name, crd)


def _established_check(extensions: Any, name: str) -> Callable[[], bool]:
    def established() -> bool:
        crd = extensions.read_custom_resource_definition(name)
        conditions = crd.status.conditions if crd.status else None
        return any(c.type == "Established" and c.status == "True" for c in conditions or [])

    return established

"""Install the generated API from ``crds/`` (CRDs and the Connection admission policy)
and wait until the API serves it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client

from syncline.devcluster.process import wait_until

ESTABLISH_TIMEOUT = 60.0
FIELD_MANAGER = "kubectl"


def install_crds(api: client.ApiClient, directory: Path) -> list[str]:
    """Create or replace every CRD and admission policy in directory; return the CRD
    names once all are Established."""
    # Typed as Any: the client accepts plain dicts although its stubs name model classes.
    extensions: Any = client.ApiextensionsV1Api(api)
    admission: Any = client.AdmissionregistrationV1Api(api)
    kinds = {
        "CustomResourceDefinition": (extensions, "custom_resource_definition"),
        "ValidatingAdmissionPolicy": (admission, "validating_admission_policy"),
        "ValidatingAdmissionPolicyBinding": (admission, "validating_admission_policy_binding"),
    }
    names: list[str] = []
    for path in sorted(directory.glob("*.yaml")):  # kinds outside ``kinds`` are skipped
        for document in yaml.safe_load_all(path.read_text()):
            if document and document.get("kind") in kinds:
                _apply(*kinds[document["kind"]], document)
                if document["kind"] == "CustomResourceDefinition":
                    names.append(document["metadata"]["name"])
    for name in names:
        wait_until(_established_check(extensions, name), ESTABLISH_TIMEOUT, f"CRD {name}")
    return names


def _apply(api: Any, kind: str, document: dict[str, Any]) -> None:
    """Server-side apply as ``kubectl apply --server-side`` does (same field manager), so a
    later install from manifests/ updates these objects instead of conflicting."""
    getattr(api, f"patch_{kind}")(
        document["metadata"]["name"],
        document,
        field_manager=FIELD_MANAGER,
        force=True,
        _content_type="application/apply-patch+yaml",
    )


def _established_check(extensions: Any, name: str) -> Callable[[], bool]:
    def established() -> bool:
        crd = extensions.read_custom_resource_definition(name)
        conditions = crd.status.conditions if crd.status else None
        return any(c.type == "Established" and c.status == "True" for c in conditions or [])

    return established

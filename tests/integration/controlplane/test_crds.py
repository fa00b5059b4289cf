"""The generated CRDs on a real API server: installed, explained, and enforcing their schema."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from syncline.devcluster.binaries import repo_root
from tests.integration.controlplane.waiting import eventually

pytestmark = pytest.mark.integration

CRD_DIR = repo_root() / "crds"
INVALID_DIR = repo_root() / "tests" / "data" / "invalid"
EXAMPLE_DIR = repo_root() / "examples"


def _crds() -> list[dict[str, Any]]:
    return [
        yaml.safe_load(path.read_text()) for path in sorted(CRD_DIR.glob("syncline.dev_*.yaml"))
    ]


def _plurals() -> dict[str, str]:
    return {crd["spec"]["names"]["kind"]: crd["spec"]["names"]["plural"] for crd in _crds()}


def _create(api: client.ApiClient, namespace: str, body: dict[str, Any], dry_run: bool) -> None:
    group, version = body["apiVersion"].split("/")
    objects = client.CustomObjectsApi(api)
    plural = _plurals()[body["kind"]]
    extra = {"dry_run": "All"} if dry_run else {}
    cluster_scoped = {
        crd["spec"]["names"]["kind"] for crd in _crds() if crd["spec"]["scope"] == "Cluster"
    }
    if body["kind"] in cluster_scoped:
        objects.create_cluster_custom_object(group, version, plural, body, **extra)
    else:
        objects.create_namespaced_custom_object(group, version, namespace, plural, body, **extra)


def test_every_generated_crd_is_established(kube_api: client.ApiClient) -> None:
    extensions = client.ApiextensionsV1Api(kube_api)
    for crd in _crds():
        served = extensions.read_custom_resource_definition(crd["metadata"]["name"])
        conditions = {c.type: c.status for c in served.status.conditions}
        assert conditions.get("Established") == "True", crd["metadata"]["name"]
        assert conditions.get("NamesAccepted") == "True", crd["metadata"]["name"]


def test_kubectl_explain_prints_task_field_descriptions(kubeconfig_path: Path) -> None:
    def explain() -> str | None:
        result = subprocess.run(
            ["kubectl", "explain", "integrationproject.spec.tasks"],
            env={**os.environ, "KUBECONFIG": str(kubeconfig_path)},
            capture_output=True,
            text=True,
        )
        return result.stdout if result.returncode == 0 else None

    # The API server publishes a new CRD's OpenAPI a few seconds after it is Established.
    explained = " ".join(eventually(explain, 60, "kubectl explain to know the CRD").split())
    project = next(c for c in _crds() if c["spec"]["names"]["kind"] == "IntegrationProject")
    schema = project["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    task_fields = schema["properties"]["spec"]["properties"]["tasks"]["items"]["properties"]
    assert len(task_fields) >= 3
    for name, field in task_fields.items():
        assert name in explained
        assert " ".join(field["description"].split()) in explained, name


def _invalid_cases() -> list[Any]:
    cases = []
    for path in sorted(INVALID_DIR.glob("*.yaml")):
        text = path.read_text()
        expect = next(
            line.split(":", 1)[1].strip() for line in text.splitlines() if "# expect:" in line
        )
        cases.append(pytest.param(yaml.safe_load(text), expect, id=path.stem))
    return cases


@pytest.mark.parametrize(("body", "field_path"), _invalid_cases())
def test_api_server_rejects_invalid_object_naming_the_field(
    kube_api: client.ApiClient, namespace: str, body: dict[str, Any], field_path: str
) -> None:
    with pytest.raises(client.ApiException) as rejected:
        _create(kube_api, namespace, body, dry_run=False)
    assert rejected.value.status == 422
    assert field_path in str(rejected.value.body)


def _example_objects() -> list[Any]:
    found = []
    for path in sorted(EXAMPLE_DIR.rglob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if document and document.get("apiVersion", "").startswith("syncline.dev/"):
                label = f"{path.relative_to(EXAMPLE_DIR)}:{document['metadata']['name']}"
                found.append(pytest.param(document, id=label))
    return found


@pytest.mark.parametrize("body", _example_objects())
def test_api_server_accepts_every_example(
    kube_api: client.ApiClient, namespace: str, body: dict[str, Any]
) -> None:
    _create(kube_api, namespace, body, dry_run=True)

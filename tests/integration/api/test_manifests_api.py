"""manifests/ for the REST API: valid under Pod Security "restricted", least privilege."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from syncline.devcluster.binaries import repo_root
from tests.integration.api.conftest import apply_api_rbac, kubectl

pytestmark = pytest.mark.integration
API_SA = "system:serviceaccount:syncline-system:syncline-api"


def can_i(kubeconfig: Path, *args: str) -> bool:
    done = subprocess.run(
        ["kubectl", "--kubeconfig", str(kubeconfig), "auth", "can-i", *args, "--as", API_SA],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.stdout.strip() == "yes"


def test_the_api_deployment_is_valid_under_the_restricted_profile(kubeconfig_path: Path) -> None:
    apply_api_rbac(kubeconfig_path)
    rendered = kubectl(kubeconfig_path, "kustomize", str(repo_root() / "manifests" / "api"))
    docs = [
        d
        for d in yaml.safe_load_all(rendered)
        if d and d["metadata"]["name"] == "syncline-api" and d["kind"] in ("Deployment", "Service")
    ]
    assert {d["kind"] for d in docs} == {"Deployment", "Service"}
    dry_run = subprocess.run(
        ["kubectl", "--kubeconfig", str(kubeconfig_path), "apply", "--dry-run=server", "-f", "-"],
        input=yaml.safe_dump_all(docs),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert dry_run.returncode == 0, dry_run.stderr
    assert "PodSecurity" not in dry_run.stderr  # the namespace warns on restricted violations
    assert "deployment.apps/syncline-api" in dry_run.stdout
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    assert {"name": "tls", "secret": {"secretName": "syncline-api-tls"}} in pod["volumes"]


def test_the_api_service_account_has_least_privilege(kubeconfig_path: Path) -> None:
    apply_api_rbac(kubeconfig_path)
    allowed = [
        ("create", "tokenreviews.authentication.k8s.io"),
        ("create", "subjectaccessreviews.authorization.k8s.io"),
        ("list", "integrationruns.syncline.dev", "-A"),
        ("patch", "integrationprojects.syncline.dev", "-n", "team-a"),
        ("patch", "integrationruns.syncline.dev", "--subresource=status", "-n", "team-a"),
    ]
    denied = [
        ("list", "secrets", "-A"),
        ("get", "secrets", "-n", "team-a"),
        ("create", "pods", "-n", "team-a"),
        ("delete", "integrationprojects.syncline.dev", "-n", "team-a"),
        ("update", "integrationprojects.syncline.dev", "-n", "team-a"),
        ("patch", "integrationruns.syncline.dev", "-n", "team-a"),
        ("create", "jobs.batch", "-n", "team-a"),
        ("update", "configmaps", "-n", "team-a"),
    ]
    for check in allowed:
        assert can_i(kubeconfig_path, *check), check
    for check in denied:
        assert not can_i(kubeconfig_path, *check), check

"""manifests/: valid for the real API server, and enough RBAC for the operator, no more."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from kubernetes import client

from syncline.devcluster.binaries import repo_root
from syncline.devcluster.databases import DatabaseAccess
from tests.integration.operator.conftest import make_world, project_spec
from tests.integration.operator.harness import Cluster, OperatorProcess, wait_for

pytestmark = pytest.mark.integration
OPERATOR_SA = "system:serviceaccount:syncline-system:syncline-operator"


def kubectl(
    kubeconfig: Path, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["kubectl", "--kubeconfig", str(kubeconfig), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def apply_rbac(kubeconfig: Path) -> None:
    """Apply the base without its Deployment (the shared test cluster must not start a
    second, cluster-wide operator)."""
    rendered = kubectl(kubeconfig, "kustomize", str(repo_root() / "manifests"))
    assert rendered.returncode == 0, rendered.stderr
    docs = [d for d in yaml.safe_load_all(rendered.stdout) if d and d["kind"] != "Deployment"]
    applied = kubectl(
        kubeconfig, "apply", "--server-side", "-f", "-", stdin=yaml.safe_dump_all(docs)
    )
    assert applied.returncode == 0, applied.stderr


def test_base_is_valid_under_the_restricted_pod_security_profile(
    kubeconfig_path: Path,
) -> None:
    apply_rbac(kubeconfig_path)  # the namespace must exist for the Deployment's dry run
    manifests = str(repo_root() / "manifests")
    dry_run = kubectl(kubeconfig_path, "apply", "--dry-run=server", "-k", manifests)
    assert dry_run.returncode == 0, dry_run.stderr
    assert "PodSecurity" not in dry_run.stderr
    assert "deployment.apps/syncline-operator" in dry_run.stdout


def test_operator_cannot_list_or_watch_secrets(kubeconfig_path: Path) -> None:
    apply_rbac(kubeconfig_path)
    for verb, expected in (("get", "yes"), ("list", "no"), ("watch", "no")):
        answer = kubectl(kubeconfig_path, "auth", "can-i", verb, "secrets", "--as", OPERATOR_SA)
        assert answer.stdout.strip() == expected, (verb, answer.stdout, answer.stderr)
    pods = kubectl(kubeconfig_path, "auth", "can-i", "create", "pods", "--as", OPERATOR_SA)
    assert pods.stdout.strip() == "no"


def _service_account_kubeconfig(admin: Path, target: Path) -> Path:
    """The admin kubeconfig with its user replaced by the operator ServiceAccount's token."""
    token = kubectl(admin, "create", "token", "syncline-operator", "-n", "syncline-system")
    assert token.returncode == 0, token.stderr
    config = yaml.safe_load(admin.read_text())
    for user in config["users"]:
        user["user"] = {"token": token.stdout.strip()}
    target.write_text(yaml.safe_dump(config))
    return target


def test_operator_works_with_only_its_cluster_role(
    kubeconfig_path: Path,
    cluster: Cluster,
    warehouse: DatabaseAccess,
    start_operator: Callable[..., OperatorProcess],
    tmp_path: Path,
) -> None:
    apply_rbac(kubeconfig_path)
    limited = _service_account_kubeconfig(kubeconfig_path, tmp_path / "operator.kubeconfig")
    start_operator(KUBECONFIG=str(limited))
    make_world(cluster, warehouse)
    cluster.create("integrationprojects", "sync", project_spec(), "IntegrationProject")
    cluster.wait_ready("integrationprojects", "sync", timeout=90)
    wait_for(lambda: cluster.cronjob("sync"), what="CronJob created by the limited operator")
    assert {"Connected", "Scheduled"} <= {e["reason"] for e in cluster.events()}
    # A run request: its Job started, the run labelled, owned and pointed at the Job.
    cluster.create("integrationruns", "asked", {"projectRef": {"name": "sync"}}, "IntegrationRun")
    wait_for(
        lambda: cluster.get("integrationruns", "asked")["spec"].get("jobRef"),
        what="the limited operator to start a requested run",
    )
    assert cluster.batch.read_namespaced_job("asked", cluster.namespace)
    # The namespace's engine identity, prepared by the operator (manifests/tenant optional).
    account = cluster.core.read_namespaced_service_account("syncline-engine", cluster.namespace)
    assert account.metadata.labels["app.kubernetes.io/managed-by"] == "syncline"
    rbac = client.RbacAuthorizationV1Api(cluster.api)
    binding = rbac.read_namespaced_role_binding("syncline-engine", cluster.namespace)
    assert (binding.role_ref.kind, binding.role_ref.name) == ("ClusterRole", "syncline-engine")
    assert [(s.kind, s.name) for s in binding.subjects] == [("ServiceAccount", "syncline-engine")]
    as_engine = f"system:serviceaccount:{cluster.namespace}:syncline-engine"
    for verb, resource, expected in (
        ("create", "integrationruns.syncline.dev", "yes"),
        ("get", "secrets", "no"),
    ):
        answer = kubectl(
            kubeconfig_path,
            "auth",
            "can-i",
            verb,
            resource,
            "-n",
            cluster.namespace,
            "--as",
            as_engine,
        )
        assert answer.stdout.strip() == expected, (verb, resource, answer.stdout)


def test_the_only_role_the_operator_may_bind_is_the_engines(kubeconfig_path: Path) -> None:
    apply_rbac(kubeconfig_path)
    for role, expected in (("syncline-engine", "yes"), ("admin", "no"), ("cluster-admin", "no")):
        answer = kubectl(
            kubeconfig_path, "auth", "can-i", "bind", f"clusterroles/{role}", "--as", OPERATOR_SA
        )
        assert answer.stdout.strip() == expected, (role, answer.stdout, answer.stderr)


def test_run_pods_may_get_a_cluster_template_by_name_and_no_more(
    kubeconfig_path: Path, cluster: Cluster
) -> None:
    # A RoleBinding cannot grant a cluster-scoped kind: the engine's reading of a
    # ClusterIntegrationTemplate comes from its own ClusterRoleBinding (e2e: a real run
    # of a project built on one, tests/e2e/test_requests.py).
    apply_rbac(kubeconfig_path)
    as_engine = f"system:serviceaccount:{cluster.namespace}:syncline-engine"
    for verb, resource, expected in (
        ("get", "clusterintegrationtemplates.syncline.dev", "yes"),
        ("list", "clusterintegrationtemplates.syncline.dev", "no"),
        ("watch", "clusterintegrationtemplates.syncline.dev", "no"),
        ("update", "clusterintegrationtemplates.syncline.dev", "no"),
        ("get", "integrationtemplates.syncline.dev", "no"),  # not outside its namespace
    ):
        answer = kubectl(kubeconfig_path, "auth", "can-i", verb, resource, "--as", as_engine)
        assert answer.stdout.strip() == expected, (verb, resource, answer.stdout, answer.stderr)

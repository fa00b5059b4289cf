"""Syncline installed as a user installs it: `kubectl apply --server-side -k manifests/`.

The operator then runs as a Deployment from Syncline's image (restricted namespace,
probes, resources), a project runs in a real container and moves real rows, and
Prometheus' view, /metrics through the operator's Service, counts the run.
"""

from __future__ import annotations

import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client

from syncline.devcluster.process import free_ports
from syncline.devcluster.quickstart import install_overlay, operator_available
from syncline.kube.manual import start_run
from tests.e2e.conftest import (
    REPO,
    ROWS,
    _database,
    create_pair,
    install_engine_rbac,
    items_project,
    table_hash,
)
from tests.fixtures.cluster import ControlPlane
from tests.fixtures.databases import PostgresServer
from tests.integration.operator.harness import Cluster, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

SYSTEM = "syncline-system"


@pytest.fixture
def installed(
    control_plane: ControlPlane, kubeconfig_path: Path, namespace: str, tmp_path: Path
) -> Iterator[None]:
    """The whole of manifests/, with the local image and the test's namespace watched."""
    overlay = install_overlay(
        tmp_path / "overlay",
        REPO / "manifests",
        control_plane.image,
        env={"SYNCLINE_WATCH_NAMESPACES": namespace},
    )
    kubectl = ["kubectl", "--kubeconfig", str(kubeconfig_path)]
    subprocess.run([*kubectl, "apply", "--server-side", "-k", str(overlay)], check=True)
    try:
        yield
    finally:
        # Not `delete -k`: that would delete the CRDs other tests use.
        subprocess.run(
            [*kubectl, "delete", "deployment", "syncline-operator", "-n", SYSTEM, "--wait"],
            check=False,
        )


def test_installed_operator_runs_a_project_and_serves_metrics(
    installed: None,
    kube_api: client.ApiClient,
    namespace: str,
    kubeconfig_path: Path,
    control_plane: ControlPlane,
    postgres_server: PostgresServer,
    postgres_host_for_pods: str,
) -> None:
    wait_for(lambda: operator_available(kube_api), 180, "the operator Deployment to be Available")
    pod = client.CoreV1Api(kube_api).list_namespaced_pod(SYSTEM).items[0]
    assert pod.spec.containers[0].image == control_plane.image
    assert pod.status.container_statuses[0].ready

    suffix = namespace.replace("-", "_")[-20:]
    source = _database(postgres_server, f"isrc_{suffix}", ROWS)
    destination = _database(postgres_server, f"idst_{suffix}", 0)
    install_engine_rbac(kubeconfig_path, namespace, cluster_role=False)  # manifests/ has it
    cluster = Cluster(kube_api, namespace)
    create_pair(cluster, postgres_host_for_pods, source, destination)
    project = items_project()
    cluster.create("integrationprojects", "installed", project, "IntegrationProject")
    cluster.wait_ready("integrationprojects", "installed", 120)

    run = start_run(kube_api, namespace, "installed").run
    status = wait_for(
        lambda: (lambda s: s if s.get("result") in ("Completed", "Error") else None)(
            cluster.get("integrationruns", run).get("status") or {}
        ),
        180,
        f"run {run}",
    )
    assert status["result"] == "Completed", status
    assert (status["read"], status["inserted"]) == (ROWS, ROWS)
    assert table_hash(destination, "items") == table_hash(source, "items")

    service = client.CoreV1Api(kube_api).read_namespaced_service(
        "syncline-operator-metrics", SYSTEM
    )
    (port,) = free_ports(1)
    assert control_plane.environment is not None
    control_plane.environment.forward(
        f"installed-metrics-{port}", into=[f"127.0.0.1:{port}={service.spec.cluster_ip}:9464"]
    )
    expected = (
        f'syncline_runs_total{{namespace="{namespace}",project="installed",result="Completed"}} 1.0'
    )

    def counted() -> bool:
        try:
            text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()
        except OSError:  # kube-proxy programs a new Service's endpoints about a second later
            return False
        return expected in text.decode()

    wait_for(counted, 60, "the run in the operator's metrics")

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
from syncline.devcluster.quickstart import install_overlay
from syncline.kube.manual import start_run
from tests.e2e.conftest import REPO, ROWS, _database, install_engine_rbac, table_hash
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
    apps = client.AppsV1Api(kube_api)

    def available() -> bool:
        deployment = apps.read_namespaced_deployment("syncline-operator", SYSTEM)
        conditions = deployment.status.conditions or []
        return any(c.type == "Available" and c.status == "True" for c in conditions)

    wait_for(available, 180, "the operator Deployment to be Available")
    pod = client.CoreV1Api(kube_api).list_namespaced_pod(SYSTEM).items[0]
    assert pod.spec.containers[0].image == control_plane.image
    assert pod.status.container_statuses[0].ready

    suffix = namespace.replace("-", "_")[-20:]
    source = _database(postgres_server, f"isrc_{suffix}", ROWS)
    destination = _database(postgres_server, f"idst_{suffix}", 0)
    install_engine_rbac(kubeconfig_path, namespace, cluster_role=False)  # manifests/ has it
    cluster = Cluster(kube_api, namespace)
    for alias, db in (("src", source), ("dst", destination)):
        cluster.secret(f"{alias}-creds", {"username": db.user, "password": db.password})
        endpoint = {"host": postgres_host_for_pods, "port": db.port, "database": db.database}
        spec = {
            "type": "postgresql",
            "endpoint": endpoint,
            "credentials": {"secretRef": {"name": f"{alias}-creds"}},
        }
        cluster.create("connections", alias, spec, "Connection")
    members = [{"name": a, "connectionRef": {"name": a}} for a in ("src", "dst")]
    cluster.create("connectionsets", "pair", {"connections": members}, "ConnectionSet")
    task = {
        "name": "items",
        "source": {"connection": "src", "entity": "items"},
        "destination": {"connection": "dst", "entity": "items", "keys": ["id"]},
    }
    project = {"connectionSetRef": {"name": "pair"}, "tasks": [task]}
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

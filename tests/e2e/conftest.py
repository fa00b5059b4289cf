"""The whole loop: real cluster, operator, engine pods in real containers, PostgreSQL.

Each test gets a namespace (Pod Security "restricted" enforced) with the engine's
ServiceAccount bound to the shipped ``syncline-engine`` ClusterRole (manifests/), a
source and a destination database on the session's PostgreSQL server, which pods
reach at the node's address, and an operator process serving /metrics. The operator
runs inside the cluster's network namespace so that it reaches the databases at the
same address the run pods use; its metrics are forwarded to this machine's loopback.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
from kubernetes import client

from syncline.devcluster.databases import DatabaseAccess, PostgresServer, free_port
from tests.fixtures.cluster import ControlPlane
from tests.integration.operator.harness import Cluster, OperatorProcess

REPO = Path(__file__).resolve().parents[2]
ROWS = 200


@dataclass
class World:
    cluster: Cluster
    source: DatabaseAccess
    destination: DatabaseAccess
    operator: OperatorProcess
    metrics_url: str
    canaries: list[str] = field(default_factory=list)
    """Further secret values a test used (rotated passwords), checked like the first."""

    def project(self, name: str, **spec: Any) -> None:
        """A project copying items from the source to the destination database."""
        self.cluster.create(
            "integrationprojects", name, items_project(**spec), "IntegrationProject"
        )

    def run(self, name: str) -> dict[str, Any]:
        return self.cluster.get("integrationruns", name)

    def runs(self, project: str) -> list[dict[str, Any]]:
        listing: Any = self.cluster.custom.list_namespaced_custom_object(
            "syncline.dev",
            "v1alpha1",
            self.cluster.namespace,
            "integrationruns",
            label_selector=f"syncline.dev/project={project}",
        )
        return list(listing["items"])


def table_hash(db: DatabaseAccess, table: str) -> str:
    """A content hash of a table, independent of physical row order."""
    with psycopg.connect(db.dsn) as conn:
        rows = conn.execute(f"SELECT id, name, qty FROM {table} ORDER BY id").fetchall()
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def execute(db: DatabaseAccess, statement: str) -> None:
    with psycopg.connect(db.dsn, autocommit=True) as conn:
        conn.execute(statement)  # type: ignore[arg-type]


def _database(server: PostgresServer, name: str, rows: int) -> DatabaseAccess:
    password = canary()
    server.create_database(name, name, password)
    access = server.access(name, name, password)
    execute(access, "CREATE TABLE items (id bigint PRIMARY KEY, name text, qty int)")
    if rows:
        execute(
            access,
            f"INSERT INTO items SELECT i, 'item ' || i, i % 97 FROM generate_series(1, {rows}) i",
        )
    return access


def canary() -> str:
    """A password that must never be seen outside its Secret and its database."""
    return f"canary-{os.urandom(6).hex()}-pw"


def published_texts(world: World) -> dict[str, str]:
    """Everything Syncline publishes about the test's namespace: every Syncline object
    (status included), Events, run logs (ConfigMaps), run pods' logs, metrics and the
    operator's log."""
    cluster = world.cluster
    api = cluster.api
    ns = cluster.namespace
    texts: dict[str, str] = {"operator log": world.operator.text()}
    for plural in ("connections", "connectionsets", "integrationprojects", "integrationruns"):
        listing = cluster.custom.list_namespaced_custom_object(
            "syncline.dev", "v1alpha1", ns, plural
        )
        texts[plural] = json.dumps(listing["items"])
    for what, listing in (
        ("events", cluster.core.list_namespaced_event(ns)),
        ("configmaps", cluster.core.list_namespaced_config_map(ns)),
    ):
        texts[what] = json.dumps(api.sanitize_for_serialization(listing.items))
    for pod in cluster.core.list_namespaced_pod(ns).items:
        # A pod that never started (refused, misconfigured) has no log to read.
        with contextlib.suppress(client.ApiException):
            texts[f"pod {pod.metadata.name}"] = cluster.core.read_namespaced_pod_log(
                pod.metadata.name, ns
            )
    texts["metrics"] = urllib.request.urlopen(world.metrics_url, timeout=5).read().decode()
    return texts


def assert_canaries_unseen(world: World, *values: str) -> None:
    """The fault matrix's last row: no secret value anywhere Syncline writes."""
    seen = {
        where: value
        for where, text in published_texts(world).items()
        for value in values
        if value in text
    }
    assert not seen, f"secret values published in: {sorted(seen)}"


@pytest.fixture(scope="session")
def postgres_host_for_pods(control_plane: ControlPlane, postgres_server: PostgresServer) -> str:
    """The address at which pods (and the operator) reach the session's PostgreSQL."""
    return control_plane.serve_to_pods("postgres", postgres_server.port)


def install_engine_rbac(kubeconfig: Path, namespace: str, *, cluster_role: bool = True) -> None:
    """The shipped engine ClusterRole and the namespace's ServiceAccount (manifests/tenant)."""
    kubectl = ["kubectl", "--kubeconfig", str(kubeconfig)]
    if cluster_role:
        engine_rbac = str(REPO / "manifests/engine-rbac.yaml")
        subprocess.run([*kubectl, "apply", "--server-side", "-f", engine_rbac], check=True)
    tenant = str(REPO / "manifests/tenant")
    subprocess.run([*kubectl, "apply", "-n", namespace, "-k", tenant], check=True)


def create_pair(
    cluster: Cluster, host: str, source: DatabaseAccess, destination: DatabaseAccess
) -> None:
    """Connections ``src`` and ``dst`` (host: where pods reach them) in a set ``pair``."""
    for alias, db in (("src", source), ("dst", destination)):
        cluster.secret(f"{alias}-creds", {"username": db.user, "password": db.password})
        spec = {
            "type": "postgresql",
            "endpoint": {"host": host, "port": db.port, "database": db.database},
            "credentials": {"secretRef": {"name": f"{alias}-creds"}},
        }
        cluster.create("connections", alias, spec, "Connection")
    members = [{"name": alias, "connectionRef": {"name": alias}} for alias in ("src", "dst")]
    cluster.create("connectionsets", "pair", {"connections": members}, "ConnectionSet")


def items_project(**spec: Any) -> dict[str, Any]:
    """A project copying ``items`` from ``src`` to ``dst`` by ``id``."""
    task = {
        "name": "items",
        "source": {"connection": "src", "entity": "items"},
        "destination": {"connection": "dst", "entity": "items", "keys": ["id"]},
    }
    return {"connectionSetRef": {"name": "pair"}, "tasks": [task], **spec}


@pytest.fixture
def world(
    kube_api: client.ApiClient,
    namespace: str,
    kubeconfig_path: Path,
    control_plane: ControlPlane,
    postgres_server: PostgresServer,
    postgres_host_for_pods: str,
    tmp_path: Path,
) -> Iterator[World]:
    suffix = namespace.replace("-", "_")[-20:]
    source = _database(postgres_server, f"src_{suffix}", ROWS)
    destination = _database(postgres_server, f"dst_{suffix}", 0)
    install_engine_rbac(kubeconfig_path, namespace)
    cluster = Cluster(kube_api, namespace)
    create_pair(cluster, postgres_host_for_pods, source, destination)
    port = free_port()
    operator = OperatorProcess(
        kubeconfig_path,
        namespace,
        tmp_path / "operator.log",
        control_plane.in_cluster_network([str(Path(sys.executable).with_name("syncline"))]),
        SYNCLINE_ENGINE_IMAGE=control_plane.image,
        SYNCLINE_METRICS_ADDRESS=f"127.0.0.1:{port}",
        SYNCLINE_RETENTION_SWEEP_SECONDS="1",
    ).start()
    assert control_plane.environment is not None
    control_plane.environment.forward(
        f"metrics-{port}", into=[f"127.0.0.1:{port}=127.0.0.1:{port}"]
    )
    world = World(cluster, source, destination, operator, f"http://127.0.0.1:{port}/metrics")
    try:
        yield world
        assert_canaries_unseen(world, source.password, destination.password, *world.canaries)
    finally:
        operator.stop()
        print("--- operator log (last 60 lines)")
        print("\n".join(operator.text().splitlines()[-60:]))
        postgres_server.drop_database(source.database, source.user)
        postgres_server.drop_database(destination.database, destination.user)

"""`make up`: the whole loop on one machine, installed as a user installs Syncline.

Steps: PostgreSQL with the CRM source and the sales destination, served to the
cluster at the node's address on the port the quickstart's Connections name
(55432; the server itself listens on a free loopback port, so several dev clusters
and test sessions never clash); Syncline installed from ``manifests/`` with
``kubectl apply --server-side -k`` (image set through kustomize ``images:``); the
namespace prepared with ``manifests/tenant``; ``examples/quickstart``; then one run
started like ``syncline run-now`` and followed to its end. The database passwords
come from the quickstart's own Secret manifest, so the example and the databases
cannot disagree.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import yaml
from kubernetes import client, config

from syncline.api import GROUP, VERSION
from syncline.devcluster.databases import PostgresServer
from syncline.devcluster.environment import DevEnvironment
from syncline.devcluster.process import free_ports
from syncline.errors import SynclineError
from syncline.kube.manual import start_run

QUICKSTART_PORT = 55432
NAMESPACE = "default"
SYSTEM_NAMESPACE = "syncline-system"
METRICS_SERVICE = "syncline-operator-metrics"
UPSTREAM_IMAGE = "ghcr.io/syncline/syncline"


@dataclass(frozen=True)
class QuickstartResult:
    run: str
    result: str
    metrics_url: str


def start_quickstart(
    env: DevEnvironment, kubeconfig: Path, repo: Path, image: str, say: Callable[[str], None]
) -> QuickstartResult:
    """Databases, install, one run; returns when the run has finished."""
    examples = repo / "examples" / "quickstart"
    say(f"starting PostgreSQL with the crm and sales databases (cluster: port {QUICKSTART_PORT})")
    db_port = _start_databases(env, examples)
    env.forward("quickstart-db", out=[f"0.0.0.0:{QUICKSTART_PORT}=127.0.0.1:{db_port}"])
    kube_env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    say(f"installing Syncline from manifests/ with image {image}")
    overlay = install_overlay(env.state_dir / "install", repo / "manifests", image)
    _kubectl(kube_env, "apply", "--server-side", "-k", str(overlay))
    _kubectl(kube_env, "apply", "-n", NAMESPACE, "-k", str(repo / "manifests" / "tenant"))
    say("applying examples/quickstart")
    _kubectl(kube_env, "apply", "-n", NAMESPACE, "-f", str(examples))
    api = config.new_client_from_config(config_file=str(kubeconfig))  # type: ignore[no-untyped-call]
    with api:
        say("waiting for the operator Deployment and the project")
        _wait(lambda: operator_available(api), 180, "the operator Deployment to be Available")
        _wait(lambda: _project_ready(api), 120, "the quickstart project to become Ready")
        run = _run_once(api, say)
        result = _wait(lambda: _run_result(api, run), 300, f"run {run}")
        metrics_ip = _service_ip(api, SYSTEM_NAMESPACE, METRICS_SERVICE)
    (metrics_port,) = free_ports(1)
    env.forward("metrics", into=[f"127.0.0.1:{metrics_port}={metrics_ip}:9464"])
    return QuickstartResult(run, result, f"http://127.0.0.1:{metrics_port}/metrics")


def _run_once(api: client.ApiClient, say: Callable[[str], None]) -> str:
    """Start a run like ``syncline run-now``; if the schedule just started one, follow it."""
    try:
        started = start_run(api, NAMESPACE, "crm-to-sales", token=f"quickstart-{int(time.time())}")
    except SynclineError as err:
        if err.name != "PendingRunAlreadyExists":
            raise
        run = str(err.params["run"])
        say(f"the schedule has just started run {run}; waiting for it to finish")
        return run
    say(f"started run {started.run}; waiting for it to finish")
    return started.run


def install_overlay(
    directory: Path, manifests: Path, image: str, env: dict[str, str] | None = None
) -> Path:
    """A kustomize overlay of manifests/ that sets the image, as a user's overlay would.

    ``env`` sets operator settings (SYNCLINE_* variables) through a patch.
    """
    name, _, tag = image.rpartition(":")
    directory.mkdir(parents=True, exist_ok=True)
    overlay: dict[str, Any] = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [os.path.relpath(manifests, directory)],
        "images": [{"name": UPSTREAM_IMAGE, "newName": name, "newTag": tag}],
    }
    if env:
        container = {"name": "operator", "env": [{"name": k, "value": v} for k, v in env.items()]}
        patch = {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "syncline-operator"},
            "spec": {"template": {"spec": {"containers": [container]}}},
        }
        overlay["patches"] = [{"patch": yaml.safe_dump(patch)}]
    (directory / "kustomization.yaml").write_text(yaml.safe_dump(overlay, sort_keys=False))
    return directory


def show(kubeconfig: Path) -> str:
    """What `make up` prints at the end: projects and runs with their counts."""
    out = subprocess.run(
        ["kubectl", "get", "integrationprojects,integrationruns", "-n", NAMESPACE],
        env={**os.environ, "KUBECONFIG": str(kubeconfig)},
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout


def _start_databases(env: DevEnvironment, examples: Path) -> int:
    """The quickstart's server on a free loopback port; returns the port."""
    base = Path(tempfile.mkdtemp(prefix="syncline-quickstart-postgres-"))
    env.supervisor.set_info(postgres_dir=str(base))
    server = PostgresServer(base)
    server.start()
    secrets = _secret_values(examples / "00-secrets.yaml")
    for database, secret in (("crm", "crm-db-credentials"), ("sales", "sales-db-credentials")):
        user, password = secrets[secret]["username"], secrets[secret]["password"]
        server.create_database(database, user, password)
        access = server.access(database, user, password)
        with psycopg.connect(access.dsn, autocommit=True) as conn:
            conn.execute((examples / "data" / f"{database}.sql").read_text())
    return server.port


def _secret_values(path: Path) -> dict[str, dict[str, str]]:
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d and d.get("kind") == "Secret"]
    return {d["metadata"]["name"]: {k: str(v) for k, v in d["stringData"].items()} for d in docs}


def _kubectl(env: dict[str, str], *args: str) -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        raise RuntimeError("kubectl is needed for `make up`; install it from your distribution")
    subprocess.run([kubectl, *args], env=env, check=True, capture_output=True)


def operator_available(api: client.ApiClient) -> bool:
    """Whether the installed operator Deployment reports Available."""
    deployment = client.AppsV1Api(api).read_namespaced_deployment(
        "syncline-operator", SYSTEM_NAMESPACE
    )
    conditions = (deployment.status and deployment.status.conditions) or []
    return any(c.type == "Available" and c.status == "True" for c in conditions)


def _service_ip(api: client.ApiClient, namespace: str, name: str) -> str:
    service = client.CoreV1Api(api).read_namespaced_service(name, namespace)
    assert service.spec is not None
    return str(service.spec.cluster_ip)


def _project_ready(api: client.ApiClient) -> bool:
    obj: Any = client.CustomObjectsApi(api).get_namespaced_custom_object(
        GROUP, VERSION, NAMESPACE, "integrationprojects", "crm-to-sales"
    )
    conditions = (obj.get("status") or {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def _run_result(api: client.ApiClient, run: str) -> str | None:
    try:
        obj: Any = client.CustomObjectsApi(api).get_namespaced_custom_object(
            GROUP, VERSION, NAMESPACE, "integrationruns", run
        )
    except client.ApiException as err:
        if err.status == 404:
            return None
        raise
    result = (obj.get("status") or {}).get("result")
    return str(result) if result in ("Completed", "Warning", "Error") else None


def _wait(check: Callable[[], Any], seconds: float, what: str) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(1)
    raise TimeoutError(f"timed out after {seconds:.0f}s waiting for {what}")

"""`make up`: the whole loop on one machine, from CRDs to a finished run with real counts.

Steps: PostgreSQL on the port the quickstart's Connections name (55432) with the CRM
source and the sales destination, the engine's RBAC, ``examples/quickstart``, the
operator (as a supervised process with /metrics), then one run started like
``syncline run-now`` and followed to its end. The database passwords come from the
quickstart's own Secret manifest, so the example and the databases cannot disagree.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
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
from syncline.kube.manual import start_run

QUICKSTART_PORT = 55432
METRICS_ADDRESS = "127.0.0.1:9464"
NAMESPACE = "default"


@dataclass(frozen=True)
class QuickstartResult:
    run: str
    result: str
    metrics_url: str


def start_quickstart(
    env: DevEnvironment, kubeconfig: Path, repo: Path, say: Callable[[str], None]
) -> QuickstartResult:
    """Databases, manifests, operator, one run; returns when the run has finished."""
    examples = repo / "examples" / "quickstart"
    say(f"starting PostgreSQL on 127.0.0.1:{QUICKSTART_PORT} with the crm and sales databases")
    _start_databases(env, examples)
    kube_env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    say("applying the engine's RBAC and examples/quickstart")
    _kubectl(kube_env, "apply", "-f", str(repo / "manifests" / "engine-rbac.yaml"))
    _kubectl(kube_env, "apply", "-n", NAMESPACE, "-f", str(repo / "manifests/tenant/engine.yaml"))
    _kubectl(kube_env, "apply", "-n", NAMESPACE, "-f", str(examples))
    say("starting the operator")
    env.supervisor.launch(
        "operator",
        [str(Path(sys.executable).with_name("syncline")), "operator", "-n", NAMESPACE],
        env={**kube_env, "SYNCLINE_METRICS_ADDRESS": METRICS_ADDRESS},
    )
    api = config.new_client_from_config(config_file=str(kubeconfig))  # type: ignore[no-untyped-call]
    with api:
        _wait(lambda: _project_ready(api), 120, "the quickstart project to become Ready")
        started = start_run(api, NAMESPACE, "crm-to-sales", token=f"quickstart-{int(time.time())}")
        say(f"started run {started.run}; waiting for it to finish")
        result = _wait(lambda: _run_result(api, started.run), 300, f"run {started.run}")
    return QuickstartResult(started.run, result, f"http://{METRICS_ADDRESS}/metrics")


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


def _start_databases(env: DevEnvironment, examples: Path) -> None:
    base = Path(tempfile.mkdtemp(prefix="syncline-quickstart-postgres-"))
    env.supervisor.set_info(postgres_dir=str(base))
    server = PostgresServer(base, port=QUICKSTART_PORT)
    server.start()
    secrets = _secret_values(examples / "00-secrets.yaml")
    for database, secret in (("crm", "crm-db-credentials"), ("sales", "sales-db-credentials")):
        user, password = secrets[secret]["username"], secrets[secret]["password"]
        server.create_database(database, user, password)
        access = server.access(database, user, password)
        with psycopg.connect(access.dsn, autocommit=True) as conn:
            conn.execute((examples / "data" / f"{database}.sql").read_text())


def _secret_values(path: Path) -> dict[str, dict[str, str]]:
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d and d.get("kind") == "Secret"]
    return {d["metadata"]["name"]: {k: str(v) for k, v in d["stringData"].items()} for d in docs}


def _kubectl(env: dict[str, str], *args: str) -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        raise RuntimeError("kubectl is needed for `make up`; install it from your distribution")
    subprocess.run([kubectl, *args], env=env, check=True, capture_output=True)


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

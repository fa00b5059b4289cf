"""The REST API served for real: uvicorn on a free loopback port, acting with the
syncline-api ServiceAccount of manifests/ (so its least-privilege RBAC is what is
tested), in front of the real API server; callers are ServiceAccounts with tokens."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
import yaml
from fastapi import FastAPI
from kubernetes import client

from syncline.devcluster.binaries import repo_root
from syncline.rest import create_app
from syncline.rest.audit_hook import audit_hook
from syncline.rest.auth import Caller
from syncline.rest.deps import Services

GROUP, VERSION = "syncline.dev", "v1alpha1"
SYSTEM = "syncline-system"
AuditEntry = tuple[Caller, str, str, str, dict[str, Any]]


@dataclass
class ApiServer:
    url: str
    app: FastAPI
    audited: list[AuditEntry]

    @property
    def services(self) -> Services:
        found: Services = self.app.state.services
        return found

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)


def kubectl(kubeconfig: Path, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        ["kubectl", "--kubeconfig", str(kubeconfig), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def apply_api_rbac(kubeconfig: Path) -> None:
    """The namespace and the API's ServiceAccount and RBAC, exactly as manifests/ (the
    base) and manifests/api (the API's optional install) have them."""
    rendered = kubectl(kubeconfig, "kustomize", str(repo_root() / "manifests"))
    rendered += "\n---\n" + kubectl(kubeconfig, "kustomize", str(repo_root() / "manifests" / "api"))
    wanted = [
        d
        for d in yaml.safe_load_all(rendered)
        if d
        and (
            d["kind"] == "Namespace"
            or (d["metadata"]["name"] == "syncline-api" and d["kind"] != "Deployment")
        )
    ]
    kubectl(kubeconfig, "apply", "--server-side", "-f", "-", stdin=yaml.safe_dump_all(wanted))


def token_client(admin: client.ApiClient, token: str) -> client.ApiClient:
    """A client for the same API server that authenticates with ``token``."""
    source = admin.configuration
    configuration = client.Configuration()
    configuration.host = source.host
    configuration.ssl_ca_cert = source.ssl_ca_cert
    configuration.verify_ssl = source.verify_ssl
    configuration.api_key = {"authorization": token}
    configuration.api_key_prefix = {"authorization": "Bearer"}
    return client.ApiClient(configuration)


def service_account_token(core: client.CoreV1Api, namespace: str, name: str) -> str:
    request = client.AuthenticationV1TokenRequest(
        spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=3600)
    )
    answer = core.create_namespaced_service_account_token(name, namespace, request)
    return str(answer.status.token)


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """``app`` served by uvicorn on a free loopback port until the block ends."""
    sock = free_socket()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    host, port = sock.getsockname()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture(scope="session")
def api_identity(kube_api: client.ApiClient, kubeconfig_path: Path) -> Iterator[client.ApiClient]:
    """A client authenticated as the syncline-api ServiceAccount of manifests/."""
    apply_api_rbac(kubeconfig_path)
    core = client.CoreV1Api(kube_api)
    deadline = time.monotonic() + 30
    while True:
        try:
            token = service_account_token(core, SYSTEM, "syncline-api")
            break
        except client.ApiException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    own = token_client(kube_api, token)
    yield own
    own.close()  # type: ignore[no-untyped-call]


@pytest.fixture(scope="session")
def api_server(api_identity: client.ApiClient) -> Iterator[ApiServer]:
    """The API with a recording audit hook (the audit log itself: audited_api_server)."""
    audited: list[AuditEntry] = []
    app = create_app(api_identity, audit=lambda *entry: audited.append(entry))
    with serve(app) as url:
        yield ApiServer(url, app, audited)


@pytest.fixture
def audited_api_server(
    api_identity: client.ApiClient, kube_api: client.ApiClient, namespace: str
) -> Iterator[ApiServer]:
    """The API writing the real audit log and built-in schedules, kept in the test
    namespace (as if it were syncline-system) with the Role manifests/ gives for them."""
    rbac: Any = client.RbacAuthorizationV1Api(kube_api)
    for doc in yaml.safe_load_all((repo_root() / "manifests" / "audit-rbac.yaml").read_text()):
        doc["metadata"]["namespace"] = namespace
        if doc["kind"] == "Role":
            rbac.create_namespaced_role(namespace, doc)
        else:
            rbac.create_namespaced_role_binding(namespace, doc)
    app = create_app(
        api_identity, audit=audit_hook(api_identity, namespace), system_namespace=namespace
    )
    with serve(app) as url:
        yield ApiServer(url, app, [])


class Callers:
    """ServiceAccounts in the test namespace with exactly the RBAC a test gives them."""

    def __init__(self, api: client.ApiClient, namespace: str) -> None:
        self.api, self.namespace = api, namespace
        self.core = client.CoreV1Api(api)
        self.rbac = client.RbacAuthorizationV1Api(api)

    def make(self, name: str, rules: list[dict[str, Any]] | None = None, **by_ns: Any) -> str:
        """A token for ServiceAccount ``name``, bound to a Role with ``rules`` here (and
        Roles with other rules in other namespaces: ``by_ns={ns: rules}``)."""
        meta = {"name": name}
        self.core.create_namespaced_service_account(self.namespace, {"metadata": meta})
        grants = dict(by_ns.get("by_ns", {}))
        if rules:
            grants[self.namespace] = rules
        for namespace, granted in grants.items():
            self.rbac.create_namespaced_role(
                namespace, {"metadata": {"name": name}, "rules": granted}
            )
            binding = {
                "metadata": {"name": name},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
                "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": self.namespace}],
            }
            self.rbac.create_namespaced_role_binding(namespace, binding)
        return service_account_token(self.core, self.namespace, name)


@pytest.fixture
def callers(kube_api: client.ApiClient, namespace: str) -> Callers:
    return Callers(kube_api, namespace)


def rule(resources: list[str], verbs: list[str], group: str = GROUP) -> dict[str, Any]:
    return {"apiGroups": [group], "resources": resources, "verbs": verbs}


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def make_run(
    api: client.ApiClient,
    namespace: str,
    name: str,
    project: str,
    *,
    trigger: str = "schedule",
    status: dict[str, Any] | None = None,
) -> None:
    """An IntegrationRun as the engine leaves it (created, then its status written)."""
    custom: Any = client.CustomObjectsApi(api)
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "IntegrationRun",
        "metadata": {
            "name": name,
            "labels": {"syncline.dev/project": project, "syncline.dev/trigger": trigger},
        },
        "spec": {"projectRef": {"name": project}, "trigger": trigger, "jobRef": {"name": name}},
    }
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "integrationruns", body)
    if status is not None:
        custom.patch_namespaced_custom_object_status(
            GROUP, VERSION, namespace, "integrationruns", name, {"status": status}
        )


def make_runs(api: client.ApiClient, namespace: str, specs: list[dict[str, Any]]) -> None:
    """Many runs at once (each spec: make_run's keyword arguments)."""
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda s: make_run(api, namespace, **s), specs))


def make_project(api: client.ApiClient, namespace: str, name: str) -> dict[str, Any]:
    custom: Any = client.CustomObjectsApi(api)
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "IntegrationProject",
        "metadata": {"name": name},
        "spec": {
            "connectionSetRef": {"name": "pair"},
            "tasks": [
                {
                    "name": "orders",
                    "source": {"connection": "crm", "entity": "crm_orders"},
                    "destination": {"connection": "dwh", "entity": "dwh_orders"},
                    "mappings": [{"source": "order_no", "destination": "order_no"}],
                }
            ],
        },
    }
    created: dict[str, Any] = custom.create_namespaced_custom_object(
        GROUP, VERSION, namespace, "integrationprojects", body
    )
    return created

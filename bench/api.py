"""REST API benchmark: listing runs with filters over many runs, and the cost of authorization.

``python -m bench.api [--runs 10000] [--requests 300]`` starts a real control plane
(etcd, kube-apiserver, controller-manager; no node), creates the runs as IntegrationRun
objects with their status, serves the API in this process on a loopback port (uvicorn,
as `syncline api` does), and measures from an HTTP client with a ServiceAccount token:

- latency (p50/p95/p99) of ``GET /api/v1/namespaces/bench/runs?limit=50`` with a label
  filter (project), a status filter (result) and both plus a time range;
- the cost per request of authentication + authorization: the same request against two
  instances of the API, one caching TokenReview/SubjectAccessReview answers (the
  default, 5 s) and one with the cache off (every request reviews), side by side.

Results go to bench/results-api.json; figures and notes in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from kubernetes import client, config

from syncline.devcluster.binaries import k8s_bin_dir, repo_root
from syncline.devcluster.controlplane import ControlPlane
from syncline.devcluster.crds import install_crds
from syncline.devcluster.netns import NetworkNamespace, namespace_name
from syncline.devcluster.supervisor import Supervisor
from syncline.rest import create_app

GROUP, VERSION = "syncline.dev", "v1alpha1"
NAMESPACE = "bench"
PROJECTS = 10
RESULTS = ("Completed", "Completed", "Completed", "Warning", "Error")
OUT = Path(__file__).with_name("results-api.json")
T0 = datetime(2026, 1, 1, tzinfo=UTC)


@contextmanager
def control_plane(state: Path) -> Iterator[client.ApiClient]:
    supervisor = Supervisor(state)
    netns = NetworkNamespace(namespace_name(state))
    try:
        netns.create()
        endpoints = ControlPlane(supervisor, netns, k8s_bin_dir()).start()
        api = config.new_client_from_config(config_file=str(endpoints.kubeconfig))  # type: ignore[no-untyped-call]
        with api:
            install_crds(api, repo_root() / "crds")
            yield api
    finally:
        supervisor.stop_all()
        netns.delete()


def create_runs(api: client.ApiClient, count: int) -> float:
    custom: Any = client.CustomObjectsApi(api)

    def one(i: int) -> None:
        project = f"project-{i % PROJECTS}"
        name = f"{project}-run-{i:06d}"
        body = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "IntegrationRun",
            "metadata": {
                "name": name,
                "labels": {"syncline.dev/project": project, "syncline.dev/trigger": "schedule"},
            },
            "spec": {
                "projectRef": {"name": project},
                "trigger": "schedule",
                "jobRef": {"name": name},
            },
        }
        custom.create_namespaced_custom_object(GROUP, VERSION, NAMESPACE, "integrationruns", body)
        start = T0 + timedelta(minutes=15 * i)
        status = {
            "result": RESULTS[(i // PROJECTS) % len(RESULTS)],
            "startTime": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "completionTime": (start + timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "read": 1000,
            "inserted": 10,
        }
        custom.patch_namespaced_custom_object_status(
            GROUP, VERSION, NAMESPACE, "integrationruns", name, {"status": status}
        )

    began = time.monotonic()
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(one, range(count)))
    return time.monotonic() - began


def reader_token(api: client.ApiClient) -> str:
    core: Any = client.CoreV1Api(api)
    rbac: Any = client.RbacAuthorizationV1Api(api)
    core.create_namespaced_service_account(NAMESPACE, {"metadata": {"name": "reader"}})
    rules = [{"apiGroups": [GROUP], "resources": ["integrationruns"], "verbs": ["get", "list"]}]
    rbac.create_namespaced_role(NAMESPACE, {"metadata": {"name": "reader"}, "rules": rules})
    binding = {
        "metadata": {"name": "reader"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"},
        "subjects": [{"kind": "ServiceAccount", "name": "reader", "namespace": NAMESPACE}],
    }
    rbac.create_namespaced_role_binding(NAMESPACE, binding)
    for _ in range(100):
        try:
            answer = core.create_namespaced_service_account_token(
                "reader",
                NAMESPACE,
                client.AuthenticationV1TokenRequest(spec=client.V1TokenRequestSpec(audiences=[])),
            )
            return str(answer.status.token)
        except client.ApiException:
            time.sleep(0.1)
    raise RuntimeError("no token")


@contextmanager
def serve(api: client.ApiClient, ttl: float) -> Iterator[str]:
    app = create_app(api, decision_ttl=ttl)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
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


def latencies(http: httpx.Client, path: str, params: dict[str, Any], n: int) -> list[float]:
    timings = []
    for _ in range(n):
        began = time.perf_counter()
        response = http.get(path, params=params)
        timings.append(time.perf_counter() - began)
        assert response.status_code == 200, response.text
        assert len(response.json()["items"]) == params.get("limit", 50)
    return timings


def summary(timings: list[float]) -> dict[str, float]:
    ordered = sorted(timings)

    def pct(p: float) -> float:
        return round(1000 * ordered[min(len(ordered) - 1, int(p * len(ordered)))], 2)

    return {
        "n": len(ordered),
        "mean_ms": round(1000 * statistics.fmean(ordered), 2),
        "p50_ms": pct(0.50),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args(argv)
    state = Path(tempfile.mkdtemp(prefix="syncline-bench-api-"))
    results: dict[str, Any] = {"runs": args.runs, "requests": args.requests}
    try:
        with control_plane(state) as api:
            core: Any = client.CoreV1Api(api)
            core.create_namespace({"metadata": {"name": NAMESPACE}})
            results["create_seconds"] = round(create_runs(api, args.runs), 1)
            token = reader_token(api)
            headers = {"Authorization": f"Bearer {token}"}
            path = f"/api/v1/namespaces/{NAMESPACE}/runs"
            queries = {
                "project": {"project": "project-3", "limit": 50},
                "result": {"result": "Error", "limit": 50},
                "project+result+time": {
                    "project": "project-3",
                    "result": "Completed",
                    "since": (T0 + timedelta(days=20)).isoformat(),
                    "until": (T0 + timedelta(days=90)).isoformat(),
                    "limit": 50,
                },
            }
            with serve(api, 5.0) as cached, serve(api, 0.0) as uncached:
                with httpx.Client(base_url=cached, headers=headers, timeout=60) as http:
                    for name, params in queries.items():
                        latencies(http, path, params, 5)  # warm up
                        results[f"list 50, filter {name}"] = summary(
                            latencies(http, path, params, args.requests)
                        )
                project = {"project": "project-3", "limit": 50}
                rounds: dict[str, list[float]] = {"cached": [], "uncached": []}
                with (
                    httpx.Client(base_url=cached, headers=headers, timeout=60) as warm,
                    httpx.Client(base_url=uncached, headers=headers, timeout=60) as cold,
                ):
                    for _ in range(args.requests // 20):  # interleaved: same load on both
                        rounds["cached"] += latencies(warm, path, project, 20)
                        rounds["uncached"] += latencies(cold, path, project, 20)
                results["authz cached"] = summary(rounds["cached"])
                results["authz uncached"] = summary(rounds["uncached"])
                results["authz cost per request ms (uncached - cached, mean)"] = round(
                    results["authz uncached"]["mean_ms"] - results["authz cached"]["mean_ms"], 2
                )
    finally:
        shutil.rmtree(state, ignore_errors=True)
    OUT.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The operator at scale: N projects (with their Connections, sets, Secrets) applied at once.

``python -m bench.operator_scale [--projects 1000]`` starts a real control plane
(etcd, kube-apiserver with an audit log, controller-manager; no node: nothing runs),
a real PostgreSQL that every Connection points at, and ``syncline operator`` as a
subprocess watching the whole cluster. Then it measures:

- time until every project is Ready (for its current generation) with its CronJob;
- the operator's peak RSS (VmHWM) and idle CPU over a minute with N projects;
- API requests the operator made, by verb and resource, per project (from the API
  server's own audit log, told apart from the benchmark's requests by user agent);
- reconcile latency of one edit under that load (a project's schedule changed: until
  its CronJob and status.observedGeneration show it).

Projects are spread over namespaces of ``--per-namespace`` (default 50, the default
scheduled-project quota); each namespace has one Secret and one set (two Connections)
per ten projects, all pointing at the same PostgreSQL. Schedules are yearly cron
expressions, so no Job ever fires while measuring.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
from kubernetes import client, config

from syncline.devcluster.binaries import k8s_bin_dir, repo_root
from syncline.devcluster.controlplane import ControlPlane
from syncline.devcluster.crds import install_crds
from syncline.devcluster.databases import DatabaseAccess, PostgresServer
from syncline.devcluster.netns import NetworkNamespace, namespace_name
from syncline.devcluster.supervisor import Supervisor

GROUP, VERSION = "syncline.dev", "v1alpha1"
BENCH_AGENT = "syncline-operator-bench"
OPERATOR_AGENTS = ("kopf", "OpenAPI-Generator")
"""User agents of the operator's two clients (kopf's watches, the handlers' calls)."""
CRON, EDITED_CRON = "0 3 1 1 *", "0 4 1 1 *"
PROJECTS_PER_SET = 10
SYSTEM_NAMESPACE = "syncline-system"
RESULTS = Path(__file__).with_name("results-operator.json")
AUDIT_POLICY = """apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
  - level: Metadata
"""


@dataclass
class World:
    """What the benchmark talks to."""

    api: client.ApiClient
    audit_log: Path
    kubeconfig: Path
    db: DatabaseAccess


@contextmanager
def control_plane(state: Path) -> Iterator[tuple[Path, Path]]:
    """etcd + kube-apiserver (audit log on) + controller-manager, CRDs installed."""
    supervisor = Supervisor(state)
    netns = NetworkNamespace(namespace_name(state))
    audit_log = state / "audit.log"
    policy = state / "audit-policy.yaml"
    policy.write_text(AUDIT_POLICY)
    flags = [
        f"--audit-policy-file={policy}",
        f"--audit-log-path={audit_log}",
        "--audit-log-mode=batch",
        "--audit-log-batch-max-wait=1s",
    ]
    try:
        netns.create()
        plane = ControlPlane(supervisor, netns, k8s_bin_dir(), apiserver_flags=flags)
        endpoints = plane.start()
        api = config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=str(endpoints.kubeconfig)
        )
        with api:
            install_crds(api, repo_root() / "crds")
        yield endpoints.kubeconfig, audit_log
    finally:
        supervisor.stop_all()
        netns.delete()


@contextmanager
def postgres() -> Iterator[DatabaseAccess]:
    """One PostgreSQL database with the tables every project syncs."""
    # A directory of its own: PostgreSQL runs as nobody, who cannot enter the state dir.
    base = Path(tempfile.mkdtemp(prefix="syncline-opscale-pg-"))
    try:
        yield from _postgres(base)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _postgres(base: Path) -> Iterator[DatabaseAccess]:
    with PostgresServer(base) as server:
        password = os.urandom(8).hex()
        server.create_database("scale", "scale_user", password)
        access = server.access("scale", "scale_user", password)
        with psycopg.connect(access.dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE crm_customers (id int PRIMARY KEY, email text, name text)")
            conn.execute("CREATE TABLE dwh_customers (id int PRIMARY KEY, email text, name text)")
        yield access


class Operator:
    """`syncline operator` watching the whole cluster, its log in a file."""

    def __init__(self, kubeconfig: Path, log: Path) -> None:
        env = {
            **os.environ,
            "KUBECONFIG": str(kubeconfig),
            "SYNCLINE_ENGINE_IMAGE": "syncline:bench",
            "SYNCLINE_METRICS_ADDRESS": "",
            "MALLOC_ARENA_MAX": "2",  # as the operator's Deployment sets it
        }
        entry = str(Path(sys.executable).with_name("syncline"))
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [entry, "operator"], stdout=out, stderr=subprocess.STDOUT, env=env
            )
        self.pid = self.process.pid

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def memory_kib(self, key: str) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(f"{key}:"):
                return int(line.split()[1])
        return 0

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def objects(world: World, projects: list[str]) -> list[tuple[str, str, Any]]:
    """(plural or "secrets", name, body) of one namespace's world, upstream first."""
    db = world.db
    found: list[tuple[str, str, Any]] = [
        ("secrets", "db-creds", {"username": db.user, "password": db.password})
    ]
    endpoint = {"host": db.host, "port": db.port, "database": db.database}
    sets = (len(projects) + PROJECTS_PER_SET - 1) // PROJECTS_PER_SET
    for s in range(sets):
        for alias, env in (("crm", "production"), ("dwh", "staging")):
            spec = {
                "type": "postgresql",
                "environment": env,
                "endpoint": endpoint,
                "credentials": {"secretRef": {"name": "db-creds"}},
            }
            found.append(("connections", f"{alias}-{s}", spec))
        members = [{"name": a, "connectionRef": {"name": f"{a}-{s}"}} for a in ("crm", "dwh")]
        found.append(("connectionsets", f"set-{s}", {"connections": members}))
    for i, name in enumerate(projects):
        found.append(("integrationprojects", name, project_spec(f"set-{i // PROJECTS_PER_SET}")))
    return found


def project_spec(connection_set: str) -> dict[str, Any]:
    return {
        "connectionSetRef": {"name": connection_set},
        "schedule": {"cron": CRON, "timeZone": "UTC"},
        "tasks": [
            {
                "name": "customers",
                "source": {"connection": "crm", "entity": "crm_customers"},
                "destination": {"connection": "dwh", "entity": "dwh_customers", "keys": ["id"]},
                "mappings": [{"destination": f, "source": f} for f in ("id", "email", "name")],
            }
        ],
    }


KINDS = {
    "connections": "Connection",
    "connectionsets": "ConnectionSet",
    "integrationprojects": "IntegrationProject",
}


def create(api: client.ApiClient, namespace: str, plural: str, name: str, body: Any) -> None:
    if plural == "secrets":
        secret = client.V1Secret(metadata=client.V1ObjectMeta(name=name), string_data=body)
        client.CoreV1Api(api).create_namespaced_secret(namespace, secret)
        return
    manifest = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": KINDS[plural],
        "metadata": {"name": name},
        "spec": body,
    }
    client.CustomObjectsApi(api).create_namespaced_custom_object(
        GROUP, VERSION, namespace, plural, manifest
    )


def apply_world(world: World, layout: dict[str, list[str]], audit: bool) -> None:
    """Create every namespace, then all objects at once (8 client threads)."""
    core = client.CoreV1Api(world.api)
    system = [SYSTEM_NAMESPACE] if audit else []  # the operator's own (its audit log)
    for namespace in [*system, *layout]:
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
    work = [(ns, *obj) for ns, names in layout.items() for obj in objects(world, names)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda w: create(world.api, *w), work))


def ready_projects(api: client.ApiClient) -> tuple[int, int]:
    """(projects Ready for their generation, CronJobs of projects) right now."""
    listing: Any = client.CustomObjectsApi(api).list_cluster_custom_object(
        GROUP, VERSION, "integrationprojects"
    )
    ready = 0
    for obj in listing["items"]:
        status = obj.get("status") or {}
        if status.get("observedGeneration") != obj["metadata"].get("generation"):
            continue
        conditions = status.get("conditions") or []
        if any(c["type"] == "Ready" and c["status"] == "True" for c in conditions):
            ready += 1
    cronjobs = client.BatchV1Api(api).list_cron_job_for_all_namespaces(
        label_selector="syncline.dev/project"
    )
    return ready, len(cronjobs.items)


def wait_all_ready(api: client.ApiClient, total: int, limit: float) -> dict[str, float | None]:
    """Seconds from now until the first / half / all projects are Ready with CronJobs."""
    started = time.monotonic()
    marks: dict[str, float | None] = {"first": None, "half": None, "all": None}
    while time.monotonic() - started < limit:
        ready, cronjobs = ready_projects(api)
        done = min(ready, cronjobs)
        elapsed = round(time.monotonic() - started, 1)
        for mark, need in (("first", 1), ("half", total // 2), ("all", total)):
            if marks[mark] is None and done >= need:
                marks[mark] = elapsed
        if done >= total:
            return marks
        time.sleep(1.0)
    return marks


def edit_latency(api: client.ApiClient, namespace: str, name: str, cron: str) -> float:
    """Seconds from a schedule edit until the CronJob and observedGeneration show it."""
    custom: Any = client.CustomObjectsApi(api)
    batch = client.BatchV1Api(api)
    patched = custom.patch_namespaced_custom_object(
        GROUP, VERSION, namespace, "integrationprojects", name,
        {"spec": {"schedule": {"cron": cron, "timeZone": "UTC"}}},
    )  # fmt: skip
    started = time.monotonic()
    generation = patched["metadata"]["generation"]
    cronjob_done = status_done = False
    while time.monotonic() - started < 120:
        if not cronjob_done:
            cronjob = batch.read_namespaced_cron_job(name, namespace)
            cronjob_done = cronjob.spec.schedule == cron
        if not status_done:
            obj = custom.get_namespaced_custom_object(
                GROUP, VERSION, namespace, "integrationprojects", name
            )
            status_done = (obj.get("status") or {}).get("observedGeneration") == generation
        if cronjob_done and status_done:
            return round(time.monotonic() - started, 2)
        time.sleep(0.05)
    return float("inf")


def audit_counts(log: Path, since: float, until: float) -> collections.Counter[str]:
    """Operator requests in [since, until) (wall clock) by "verb resource[/sub]"."""
    counts: collections.Counter[str] = collections.Counter()
    if not log.exists():
        return counts
    with log.open() as lines:
        for line in lines:
            event = json.loads(line)
            agent = event.get("userAgent") or ""
            if not agent.startswith(OPERATOR_AGENTS):
                continue
            verb, stage = event.get("verb"), event.get("stage")
            if stage != ("ResponseStarted" if verb == "watch" else "ResponseComplete"):
                continue
            at = _timestamp(event["requestReceivedTimestamp"])
            if not since <= at < until:
                continue
            ref = event.get("objectRef") or {}
            resource = ref.get("resource") or event.get("requestURI", "?").split("?")[0]
            if ref.get("subresource"):
                resource += f"/{ref['subresource']}"
            counts[f"{verb} {resource}"] += 1
    return counts


def _timestamp(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def layout_for(projects: int, per_namespace: int) -> dict[str, list[str]]:
    layout: dict[str, list[str]] = {}
    for i in range(projects):
        layout.setdefault(f"scale-{i // per_namespace:03d}", []).append(f"p-{i:04d}")
    return layout


def measure(world: World, operator: Operator, args: argparse.Namespace) -> dict[str, Any]:
    layout = layout_for(args.projects, args.per_namespace)
    time.sleep(5)  # the operator's watches are up before anything exists
    rss_empty = operator.memory_kib("VmRSS")
    load_before = os.getloadavg()[0]
    wall0 = time.time()
    apply_started = time.monotonic()
    apply_world(world, layout, not args.without_audit_log)
    applied = round(time.monotonic() - apply_started, 1)
    marks = wait_all_ready(world.api, args.projects, args.timeout)
    ready_s = None if marks["all"] is None else round(marks["all"] + applied, 1)
    wall_ready = time.time()
    rss_ready = operator.memory_kib("VmHWM")  # before any later housekeeping sweep
    time.sleep(15)  # retries and nudges settle
    audit_ramp = audit_counts(world.audit_log, wall0, wall_ready + 15)
    cpu0, wall_idle = operator.cpu_seconds(), time.time()
    time.sleep(args.idle_seconds)
    idle_cpu = (operator.cpu_seconds() - cpu0) / args.idle_seconds
    wall_idle_end = time.time()
    namespace = next(iter(layout))
    latencies = [
        edit_latency(world.api, namespace, layout[namespace][0], cron)
        for cron in (EDITED_CRON, CRON) * 3
    ]
    time.sleep(3)  # the audit batch flushes
    audit_idle = audit_counts(world.audit_log, wall_idle, wall_idle_end)
    sets = sum((len(v) + PROJECTS_PER_SET - 1) // PROJECTS_PER_SET for v in layout.values())
    total = sum(audit_ramp.values())
    return {
        "projects": args.projects,
        "namespaces": len(layout),
        "connections": 2 * sets,
        "connection_sets": sets,
        "apply_seconds": applied,
        "ready_seconds": ready_s,
        "first_ready_seconds": marks["first"],
        "half_ready_seconds": marks["half"],
        "rss_empty_mib": round(rss_empty / 1024, 1),
        "rss_peak_at_ready_mib": round(rss_ready / 1024, 1),
        "rss_peak_mib": round(operator.memory_kib("VmHWM") / 1024, 1),
        "rss_end_mib": round(operator.memory_kib("VmRSS") / 1024, 1),
        "idle_cpu_percent": round(100 * idle_cpu, 1),
        "idle_requests_per_minute": round(
            sum(audit_idle.values()) * 60 / max(wall_idle_end - wall_idle, 1), 1
        ),
        "idle_requests": dict(audit_idle.most_common()),
        "ramp_requests": total,
        "ramp_requests_per_project": round(total / args.projects, 1),
        "ramp_requests_by_kind": dict(audit_ramp.most_common()),
        "edit_latency_seconds": latencies,
        "edit_latency_median": round(statistics.median(latencies), 2),
        "edit_latency_max": max(latencies),
        "cores": os.cpu_count(),
        "load_average_1m": [round(load_before, 1), round(os.getloadavg()[0], 1)],
        "audit_log": not args.without_audit_log,
    }


TARGETS: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "ready_seconds": ("<= 60 s (1,000 projects)", lambda v: v is not None and v <= 60),
    "rss_peak_mib": ("<= 200 MiB", lambda v: v <= 200),
    "edit_latency_max": ("<= 2 s", lambda v: v <= 2),
}


def print_table(result: dict[str, Any]) -> None:
    rows = [
        (k, result[k])
        for k in (
            "projects", "namespaces", "connections", "connection_sets", "apply_seconds",
            "ready_seconds", "first_ready_seconds", "half_ready_seconds", "rss_empty_mib",
            "rss_peak_at_ready_mib", "rss_peak_mib", "rss_end_mib", "idle_cpu_percent",
            "idle_requests_per_minute",
            "ramp_requests", "ramp_requests_per_project", "edit_latency_median",
            "edit_latency_max",
        )
    ]  # fmt: skip
    for key, value in rows:
        target = TARGETS.get(key)
        verdict = (
            f"  target {target[0]}: {'met' if target[1](value) else 'MISSED'}" if target else ""
        )
        print(f"{key:28} {value!s:>10}{verdict}")
    print("operator requests while applying, by kind:")
    for kind, count in result["ramp_requests_by_kind"].items():
        print(f"  {kind:44} {count:>7}  ({count / result['projects']:.2f}/project)")
    print("operator requests in the idle minute:", result["idle_requests"] or "none")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=1000)
    parser.add_argument("--per-namespace", type=int, default=50)
    parser.add_argument("--idle-seconds", type=float, default=60.0)
    parser.add_argument("--timeout", type=float, default=900.0, help="Longest wait for Ready.")
    parser.add_argument("--label", default="current", help="Key in the JSON results.")
    parser.add_argument("--keep", action="store_true", help="Keep the state directory.")
    parser.add_argument(
        "--without-audit-log",
        action="store_true",
        help=f"No {SYSTEM_NAMESPACE} namespace: the operator's audit records fail fast.",
    )
    args = parser.parse_args(argv)
    state = Path(tempfile.mkdtemp(prefix="syncline-opscale-"))
    print(f"state and logs in {state}", flush=True)
    operator: Operator | None = None
    try:
        with control_plane(state) as (kubeconfig, audit_log), postgres() as db:
            api = config.new_client_from_config(config_file=str(kubeconfig))  # type: ignore[no-untyped-call]
            api.user_agent = BENCH_AGENT
            with api:
                world = World(api, audit_log, kubeconfig, db)
                operator = Operator(kubeconfig, state / "operator.log")
                try:
                    result = measure(world, operator, args)
                finally:
                    operator.stop()
    finally:
        if operator is not None:
            operator.stop()
        if not args.keep:
            shutil.rmtree(state, ignore_errors=True)
    result["label"] = args.label
    print_table(result)
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results[f"{args.label}/{args.projects}"] = result
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    print(f"written to {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

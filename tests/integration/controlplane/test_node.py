"""Pods, Jobs and CronJobs run as real containers on the dev node, through the real controllers."""

from __future__ import annotations

import os
import secrets
from typing import Any

import pytest
from kubernetes import client

from syncline.devcluster.netns import NODE_IP
from tests.integration.controlplane.pods import TMP_VOLUME, job_template, pod, python_container
from tests.integration.controlplane.waiting import eventually

pytestmark = pytest.mark.integration


def _finished_pod(core: client.CoreV1Api, namespace: str, name: str) -> client.V1Pod:
    def finished() -> client.V1Pod | None:
        found = core.read_namespaced_pod(name, namespace)
        return found if found.status.phase in ("Succeeded", "Failed") else None

    return eventually(finished, 60, f"pod {name} to finish")


def _log(core: client.CoreV1Api, namespace: str, pod_name: str) -> str:
    """The pod's output, read through the API (served by the kubelet)."""
    return str(core.read_namespaced_pod_log(pod_name, namespace))


def test_node_is_a_ready_kubelet_on_containerd(kube_api: client.ApiClient) -> None:
    node = client.CoreV1Api(kube_api).read_node("syncline-dev")
    assert {c.type: c.status for c in node.status.conditions}["Ready"] == "True"
    assert int(node.status.capacity["cpu"]) == os.cpu_count()
    assert node.status.capacity["memory"].endswith("Ki")
    assert node.status.node_info.kubelet_version == "v1.33.13"
    assert node.status.node_info.container_runtime_version.startswith("containerd://")
    addresses = {a.type: a.address for a in node.status.addresses}
    assert addresses["InternalIP"] == NODE_IP
    assert not node.spec.taints


def test_cronjob_runs_a_pod_to_success_and_deleting_it_collects_its_jobs(
    kube_api: client.ApiClient, namespace: str, image: str
) -> None:
    batch, core = client.BatchV1Api(kube_api), client.CoreV1Api(kube_api)
    cronjob = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "hello"},
        "spec": {
            "schedule": "* * * * *",
            "concurrencyPolicy": "Forbid",
            "jobTemplate": {"spec": job_template(python_container('print("hi")', image))},
        },
    }
    batch.create_namespaced_cron_job(namespace, cronjob)

    def succeeded_pod() -> client.V1Pod | None:
        pods = core.list_namespaced_pod(namespace).items
        return next((p for p in pods if p.status.phase == "Succeeded"), None)

    done = eventually(succeeded_pod, 150, "a pod of the CronJob's Job to succeed")
    assert done.metadata.owner_references[0].kind == "Job"
    assert done.status.container_statuses[0].state.terminated.exit_code == 0
    assert _log(core, namespace, done.metadata.name) == "hi\n"
    eventually(
        lambda: (
            batch.read_namespaced_job(
                done.metadata.owner_references[0].name, namespace
            ).status.succeeded
        ),
        30,
        "the Job to count the success",
    )

    batch.delete_namespaced_cron_job("hello", namespace, propagation_policy="Background")
    eventually(
        lambda: not batch.list_namespaced_job(namespace).items, 60, "the Jobs to be collected"
    )
    eventually(lambda: not core.list_namespaced_pod(namespace).items, 60, "the pods to go")


def test_failing_command_gives_failed_pod_with_its_exit_code(
    kube_api: client.ApiClient, namespace: str, image: str
) -> None:
    core = client.CoreV1Api(kube_api)
    code = "import sys; print('going down', file=sys.stderr); sys.exit(3)"
    core.create_namespaced_pod(namespace, pod("fails", python_container(code, image)))
    finished = _finished_pod(core, namespace, "fails")
    assert finished.status.phase == "Failed"
    terminated = finished.status.container_statuses[0].state.terminated
    assert terminated.exit_code == 3
    assert terminated.reason == "Error"
    assert terminated.started_at <= terminated.finished_at
    assert "going down" in _log(core, namespace, "fails")


def test_missing_executable_gives_failed_pod_with_start_error(
    kube_api: client.ApiClient, namespace: str, image: str
) -> None:
    core = client.CoreV1Api(kube_api)
    container = {**python_container("", image), "command": ["no-such-command-xyz"]}
    core.create_namespaced_pod(namespace, pod("missing", container))
    finished = _finished_pod(core, namespace, "missing")
    assert finished.status.phase == "Failed"
    terminated = finished.status.container_statuses[0].state.terminated
    assert (terminated.reason, terminated.exit_code) == ("StartError", 128)


def test_secret_env_reaches_the_process_but_never_the_pod_status(
    kube_api: client.ApiClient, namespace: str, image: str
) -> None:
    core = client.CoreV1Api(kube_api)
    password = "pw-" + secrets.token_hex(16)
    core.create_namespaced_secret(
        namespace,
        {"metadata": {"name": "db"}, "stringData": {"password": password}},
    )
    env: list[dict[str, Any]] = [
        {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
        {"name": "DSN", "value": "postgresql://app:$(DB_PASSWORD)@db/app"},
        {
            "name": "MISSING_OK",
            "valueFrom": {"secretKeyRef": {"name": "absent", "key": "x", "optional": True}},
        },
    ]
    code = (
        "import os; print(os.environ['DB_PASSWORD']); print(os.environ['DSN']);"
        "print(os.environ.get('MISSING_OK', '<unset>'))"
    )
    core.create_namespaced_pod(
        namespace, pod("uses-secret", python_container(code, image, env=env))
    )
    finished = _finished_pod(core, namespace, "uses-secret")
    assert finished.status.phase == "Succeeded"
    output = _log(core, namespace, "uses-secret").splitlines()
    assert output == [password, f"postgresql://app:{password}@db/app", "<unset>"]
    status = core.read_namespaced_pod("uses-secret", namespace).to_str()
    assert password not in status


def test_pod_waits_for_a_missing_secret_then_runs(
    kube_api: client.ApiClient, namespace: str, image: str
) -> None:
    core = client.CoreV1Api(kube_api)
    env = [{"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "late", "key": "token"}}}]
    code = "import os; print(len(os.environ['TOKEN']))"
    core.create_namespaced_pod(namespace, pod("waits", python_container(code, image, env=env)))

    def config_error() -> bool:
        statuses = core.read_namespaced_pod("waits", namespace).status.container_statuses
        waiting = statuses[0].state.waiting if statuses else None
        return bool(waiting and waiting.reason == "CreateContainerConfigError")

    eventually(config_error, 60, "CreateContainerConfigError while the Secret is missing")
    core.create_namespaced_secret(
        namespace, {"metadata": {"name": "late"}, "stringData": {"token": "abcd"}}
    )
    assert _finished_pod(core, namespace, "waits").status.phase == "Succeeded"
    assert _log(core, namespace, "waits") == "4\n"


def test_downward_api_configmap_volume_and_working_dir(
    kube_api: client.ApiClient, namespace: str, image: str
) -> None:
    core = client.CoreV1Api(kube_api)
    core.create_namespaced_config_map(
        namespace, {"metadata": {"name": "settings"}, "data": {"mode": "fast", "greeting": "hej"}}
    )
    env = [
        {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
        {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
        {"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "mode"}}},
    ]
    code = (
        "import os, pathlib;"
        "print(os.environ['APP'], os.environ['POD'], os.environ['NS'], os.environ['MODE']);"
        "print(pathlib.Path('/etc/settings/greeting').read_text());"
        "print(pathlib.Path.cwd())"
    )
    container = python_container(
        code,
        image,
        env=env,
        workingDir="/tmp",
        volumeMounts=[
            {"name": "settings", "mountPath": "/etc/settings"},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    )
    volumes = [{"name": "settings", "configMap": {"name": "settings"}}, TMP_VOLUME]
    manifest = pod("downward", container, volumes=volumes, labels={"app": "orders-sync"})
    core.create_namespaced_pod(namespace, manifest)
    assert _finished_pod(core, namespace, "downward").status.phase == "Succeeded"
    assert _log(core, namespace, "downward").splitlines() == [
        f"orders-sync downward {namespace} fast",
        "hej",
        "/tmp",
    ]


def test_init_containers_run_first_and_share_an_empty_dir(
    kube_api: client.ApiClient, namespace: str, image: str
) -> None:
    core = client.CoreV1Api(kube_api)
    mounts = [{"name": "scratch", "mountPath": "/scratch"}]
    writer = python_container(
        "open('/scratch/f', 'w').write('from init')",
        image,
        name="prepare",
        volumeMounts=mounts,
    )
    reader = python_container("print(open('/scratch/f').read())", image, volumeMounts=mounts)
    manifest = pod(
        "init", reader, initContainers=[writer], volumes=[{"name": "scratch", "emptyDir": {}}]
    )
    core.create_namespaced_pod(namespace, manifest)
    finished = _finished_pod(core, namespace, "init")
    assert finished.status.phase == "Succeeded"
    assert finished.status.init_container_statuses[0].state.terminated.exit_code == 0
    assert _log(core, namespace, "init") == "from init\n"


def test_job_deadline_kills_the_container_and_removes_the_pod(
    kube_api: client.ApiClient, namespace: str, image: str
) -> None:
    batch, core = client.BatchV1Api(kube_api), client.CoreV1Api(kube_api)
    sleeper = python_container("import time; print('up', flush=True); time.sleep(300)", image)
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "slow"},
        "spec": job_template(sleeper, activeDeadlineSeconds=6),
    }
    batch.create_namespaced_job(namespace, job)
    running = eventually(
        lambda: next(
            (p for p in core.list_namespaced_pod(namespace).items if p.status.phase == "Running"),
            None,
        ),
        60,
        "the Job's pod to run",
    )
    eventually(lambda: _log(core, namespace, running.metadata.name), 30, "the container's output")

    def deadline_exceeded() -> bool:
        conditions = batch.read_namespaced_job("slow", namespace).status.conditions or []
        return any(c.type == "Failed" and c.reason == "DeadlineExceeded" for c in conditions)

    eventually(deadline_exceeded, 60, "the Job to fail with DeadlineExceeded")
    eventually(lambda: not core.list_namespaced_pod(namespace).items, 60, "the pod to be removed")


def test_restricted_pod_runs_syncline_as_non_root_on_a_read_only_root(
    kube_api: client.ApiClient, namespace: str, image: str
) -> None:
    core = client.CoreV1Api(kube_api)
    code = (
        "import os, subprocess;"
        "print(subprocess.run(['syncline', '--version'], capture_output=True, text=True).stdout,"
        " end='');"
        "print(os.getuid(), os.getgid());"
        "status = dict(l.split(':\t', 1) for l in open('/proc/self/status').read().splitlines()"
        " if ':\t' in l);"
        "print(status['CapEff'].strip(), status['Seccomp'].strip(), status['NoNewPrivs'].strip());"
        "\ntry:\n open('/written', 'w')\nexcept OSError as err:\n print(err.strerror)"
    )
    core.create_namespaced_pod(namespace, pod("restricted", python_container(code, image)))
    assert _finished_pod(core, namespace, "restricted").status.phase == "Succeeded"
    version, ids, security, write = _log(core, namespace, "restricted").splitlines()
    assert version.startswith("syncline")
    assert ids == "65532 65532"  # the image's numeric user
    assert security == "0000000000000000 2 1"  # no capabilities, seccomp filter, no_new_privs
    assert write == "Read-only file system"


def test_admission_refuses_a_pod_that_is_not_restricted(
    kube_api: client.ApiClient, namespace: str, image: str
) -> None:
    core = client.CoreV1Api(kube_api)
    root = {**python_container("print(1)", image), "securityContext": {"runAsUser": 0}}
    with pytest.raises(client.ApiException) as refused:
        core.create_namespaced_pod(namespace, pod("as-root", root))
    assert refused.value.status == 403
    assert "violates PodSecurity" in refused.value.body


def test_memory_limit_is_enforced_by_the_kernel(
    kube_api: client.ApiClient, namespace: str, image: str
) -> None:
    core = client.CoreV1Api(kube_api)
    hog = python_container(
        "blocks = []\nwhile True:\n blocks.append(bytearray(16 * 2**20))",
        image,
        resources={"limits": {"memory": "64Mi"}, "requests": {"memory": "64Mi"}},
    )
    core.create_namespaced_pod(namespace, pod("hog", hog))
    terminated = _finished_pod(core, namespace, "hog").status.container_statuses[0].state.terminated
    assert (terminated.reason, terminated.exit_code) == ("OOMKilled", 137)


def test_service_balances_over_ready_pods_of_a_deployment(
    kube_api: client.ApiClient, namespace: str, image: str
) -> None:
    apps, core = client.AppsV1Api(kube_api), client.CoreV1Api(kube_api)
    server = python_container(
        "import http.server, os\n"
        "class H(http.server.BaseHTTPRequestHandler):\n"
        " def do_GET(self):\n"
        "  self.send_response(200); self.end_headers()\n"
        "  self.wfile.write(os.environ['HOSTNAME'].encode())\n"
        "http.server.HTTPServer(('', 8080), H).serve_forever()",
        image,
        ports=[{"containerPort": 8080, "name": "http"}],
        readinessProbe={"httpGet": {"path": "/", "port": "http"}, "periodSeconds": 1},
    )
    labels = {"app": "echo"}
    template = {"metadata": {"labels": labels}, "spec": {"containers": [server]}}
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "echo"},
        "spec": {"replicas": 2, "selector": {"matchLabels": labels}, "template": template},
    }
    apps.create_namespaced_deployment(namespace, deployment)
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "echo"},
        "spec": {"selector": labels, "ports": [{"port": 80, "targetPort": "http"}]},
    }
    cluster_ip = core.create_namespaced_service(namespace, service).spec.cluster_ip
    eventually(
        lambda: (
            (apps.read_namespaced_deployment("echo", namespace).status.ready_replicas or 0) == 2
        ),
        90,
        "both replicas to be ready",
    )
    client_code = (
        # By time, not by count: both replicas are Ready before the proxy's rules name
        # both endpoints, and 200 quick requests could all fall into that moment.
        "import time, urllib.request\n"
        "seen, deadline = set(), time.monotonic() + 40\n"
        "while len(seen) < 2 and time.monotonic() < deadline:\n"
        " try:\n"
        f"  seen.add(urllib.request.urlopen('http://{cluster_ip}/', timeout=2).read().decode())\n"
        " except OSError:\n"
        "  time.sleep(0.2)\n"
        " time.sleep(0.05)\n"
        "print(len(seen))"
    )
    core.create_namespaced_pod(namespace, pod("client", python_container(client_code, image)))
    assert _finished_pod(core, namespace, "client").status.phase == "Succeeded"
    assert _log(core, namespace, "client") == "2\n"

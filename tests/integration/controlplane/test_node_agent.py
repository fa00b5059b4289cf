"""Pods, Jobs and CronJobs really run on the local node agent, through the real controllers."""

from __future__ import annotations

import os
import secrets
from typing import Any

import pytest
from kubernetes import client

from tests.fixtures.cluster import ControlPlane
from tests.integration.controlplane.pods import job_template, pod, python_container
from tests.integration.controlplane.waiting import eventually

pytestmark = pytest.mark.integration


def _finished_pod(core: client.CoreV1Api, namespace: str, name: str) -> client.V1Pod:
    def finished() -> client.V1Pod | None:
        found = core.read_namespaced_pod(name, namespace)
        return found if found.status.phase in ("Succeeded", "Failed") else None

    return eventually(finished, 60, f"pod {name} to finish")


def _log(core: client.CoreV1Api, namespace: str, pod_name: str) -> str:
    """The pod's output, read through the API (served by the node agent's log endpoint)."""
    return str(core.read_namespaced_pod_log(pod_name, namespace))


def test_node_is_registered_ready_with_capacity(kube_api: client.ApiClient) -> None:
    node = client.CoreV1Api(kube_api).read_node("syncline-dev")
    assert {c.type: c.status for c in node.status.conditions}["Ready"] == "True"
    assert int(node.status.capacity["cpu"]) == os.cpu_count()
    assert node.status.capacity["memory"].endswith("Ki")
    assert node.status.node_info.kubelet_version.endswith("+syncline-node-agent")
    assert not node.spec.taints


def test_cronjob_runs_a_pod_to_success_and_deleting_it_collects_its_jobs(
    kube_api: client.ApiClient, namespace: str
) -> None:
    batch, core = client.BatchV1Api(kube_api), client.CoreV1Api(kube_api)
    cronjob = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "hello"},
        "spec": {
            "schedule": "* * * * *",
            "concurrencyPolicy": "Forbid",
            "jobTemplate": {"spec": job_template(python_container('print("hi")'))},
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
    kube_api: client.ApiClient, namespace: str
) -> None:
    core = client.CoreV1Api(kube_api)
    code = "import sys; print('going down', file=sys.stderr); sys.exit(3)"
    core.create_namespaced_pod(namespace, pod("fails", python_container(code)))
    finished = _finished_pod(core, namespace, "fails")
    assert finished.status.phase == "Failed"
    terminated = finished.status.container_statuses[0].state.terminated
    assert terminated.exit_code == 3
    assert terminated.reason == "Error"
    assert terminated.started_at <= terminated.finished_at
    assert "going down" in _log(core, namespace, "fails")


def test_missing_executable_gives_failed_pod_with_start_error(
    kube_api: client.ApiClient, namespace: str
) -> None:
    core = client.CoreV1Api(kube_api)
    container = {"name": "main", "image": "x", "command": ["no-such-command-xyz"]}
    core.create_namespaced_pod(namespace, pod("missing", container))
    finished = _finished_pod(core, namespace, "missing")
    assert finished.status.phase == "Failed"
    terminated = finished.status.container_statuses[0].state.terminated
    assert (terminated.reason, terminated.exit_code) == ("StartError", 128)


def test_secret_env_reaches_the_process_but_never_the_agent_log(
    kube_api: client.ApiClient, namespace: str, control_plane: ControlPlane
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
    core.create_namespaced_pod(namespace, pod("uses-secret", python_container(code, env=env)))
    finished = _finished_pod(core, namespace, "uses-secret")
    assert finished.status.phase == "Succeeded"
    output = _log(core, namespace, "uses-secret").splitlines()
    assert output == [password, f"postgresql://app:{password}@db/app", "<unset>"]
    if control_plane.node_agent_log is not None:  # our agent, not an external kubelet
        agent_log = control_plane.node_agent_log.read_text()
        assert "uses-secret" in agent_log  # the agent did log about this pod ...
        assert password not in agent_log  # ... but never the value
    status = core.read_namespaced_pod("uses-secret", namespace).to_str()
    assert password not in status


def test_pod_waits_for_a_missing_secret_then_runs(
    kube_api: client.ApiClient, namespace: str
) -> None:
    core = client.CoreV1Api(kube_api)
    env = [{"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "late", "key": "token"}}}]
    code = "import os; print(len(os.environ['TOKEN']))"
    core.create_namespaced_pod(namespace, pod("waits", python_container(code, env=env)))

    def config_error() -> bool:
        statuses = core.read_namespaced_pod("waits", namespace).status.container_statuses
        waiting = statuses[0].state.waiting if statuses else None
        return bool(waiting and waiting.reason == "CreateContainerConfigError")

    eventually(config_error, 30, "CreateContainerConfigError while the Secret is missing")
    core.create_namespaced_secret(
        namespace, {"metadata": {"name": "late"}, "stringData": {"token": "abcd"}}
    )
    assert _finished_pod(core, namespace, "waits").status.phase == "Succeeded"
    assert _log(core, namespace, "waits") == "4\n"


def test_downward_api_configmap_volume_and_working_dir(
    kube_api: client.ApiClient, namespace: str
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
        "root = pathlib.Path(os.environ.get('SYNCLINE_SANDBOX', '/'));"
        "print(os.environ['APP'], os.environ['POD'], os.environ['NS'], os.environ['MODE']);"
        "print((root / 'etc/settings/greeting').read_text());"
        "print(pathlib.Path.cwd() == (root / 'work').resolve())"
    )
    container = python_container(
        code,
        env=env,
        workingDir="/work",
        volumeMounts=[{"name": "settings", "mountPath": "/etc/settings"}],
    )
    volumes = [{"name": "settings", "configMap": {"name": "settings"}}]
    manifest = pod("downward", container, volumes=volumes, labels={"app": "orders-sync"})
    core.create_namespaced_pod(namespace, manifest)
    assert _finished_pod(core, namespace, "downward").status.phase == "Succeeded"
    assert _log(core, namespace, "downward").splitlines() == [
        f"orders-sync downward {namespace} fast",
        "hej",
        "True",
    ]


def test_init_containers_run_first_and_share_an_empty_dir(
    kube_api: client.ApiClient, namespace: str
) -> None:
    core = client.CoreV1Api(kube_api)
    mounts = [{"name": "scratch", "mountPath": "/scratch"}]
    writer = python_container(
        "import os; root = os.environ.get('SYNCLINE_SANDBOX', '');"
        "open(root + '/scratch/f', 'w').write('from init')",
        name="prepare",
        volumeMounts=mounts,
    )
    reader = python_container(
        "import os; print(open(os.environ.get('SYNCLINE_SANDBOX', '') + '/scratch/f').read())",
        volumeMounts=mounts,
    )
    manifest = pod(
        "init", reader, initContainers=[writer], volumes=[{"name": "scratch", "emptyDir": {}}]
    )
    core.create_namespaced_pod(namespace, manifest)
    finished = _finished_pod(core, namespace, "init")
    assert finished.status.phase == "Succeeded"
    assert finished.status.init_container_statuses[0].state.terminated.exit_code == 0
    assert _log(core, namespace, "init") == "from init\n"


def test_job_deadline_kills_the_process_and_removes_the_pod(
    kube_api: client.ApiClient, namespace: str, control_plane: ControlPlane
) -> None:
    batch, core = client.BatchV1Api(kube_api), client.CoreV1Api(kube_api)
    sleeper = python_container("import os, time; print(os.getpid(), flush=True); time.sleep(300)")
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "slow"},
        "spec": job_template(sleeper, activeDeadlineSeconds=4),
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
    pid = int(eventually(lambda: _log(core, namespace, running.metadata.name), 30, "the pid"))

    def deadline_exceeded() -> bool:
        conditions = batch.read_namespaced_job("slow", namespace).status.conditions or []
        return any(c.type == "Failed" and c.reason == "DeadlineExceeded" for c in conditions)

    eventually(deadline_exceeded, 60, "the Job to fail with DeadlineExceeded")
    eventually(lambda: not core.list_namespaced_pod(namespace).items, 60, "the pod to be removed")
    if control_plane.state_dir is not None:  # the process ran on this machine
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)

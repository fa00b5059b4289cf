"""The Node object the agent registers and keeps Ready."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

from kubernetes.client import CoreV1Api, V1Node, V1ObjectMeta
from kubernetes.client.exceptions import ApiException

from syncline.devcluster.nodeagent.status import HOST_IP, now

# Reported as the kubelet version: semver (tools parse it), honest in its build metadata.
AGENT_VERSION = "v1.33.13+syncline-node-agent"


def _memory_kib() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1])
    return 0


def _capacity() -> dict[str, str]:
    return {
        "cpu": str(os.cpu_count() or 1),
        "memory": f"{_memory_kib()}Ki",
        "pods": "110",
    }


def node_status(heartbeat: str, log_port: int) -> dict[str, Any]:
    """A Ready node status with this machine's CPU and memory as capacity.

    log_port is where the API server finds the log endpoint (0: none).
    """
    uname = platform.uname()
    return {
        "capacity": _capacity(),
        "allocatable": _capacity(),
        "addresses": [
            {"type": "InternalIP", "address": HOST_IP},
            {"type": "Hostname", "address": uname.node},
        ],
        "conditions": [
            {
                "type": "Ready",
                "status": "True",
                "reason": "KubeletReady",
                "message": f"{AGENT_VERSION} is posting ready status",
                "lastHeartbeatTime": heartbeat,
                "lastTransitionTime": heartbeat,
            }
        ],
        "nodeInfo": {
            "machineID": "",
            "systemUUID": "",
            "bootID": "",
            "kernelVersion": uname.release,
            "osImage": "local processes (no container runtime)",
            "containerRuntimeVersion": "local://0.1",
            "kubeletVersion": AGENT_VERSION,
            "kubeProxyVersion": "",
            "operatingSystem": "linux",
            "architecture": "amd64" if uname.machine == "x86_64" else uname.machine,
        },
        "daemonEndpoints": {"kubeletEndpoint": {"Port": log_port}},
    }


def register_node(core: CoreV1Api, name: str, log_port: int) -> None:
    """Create (or take over) the Node, mark it Ready and drop the not-ready taint.

    The TaintNodesByCondition admission plugin taints every new Node not-ready; with
    no node-lifecycle controller running, nothing else would remove it.
    """
    labels = {
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "syncline.dev/node-agent": "true",
    }
    body = V1Node(metadata=V1ObjectMeta(name=name, labels=labels))
    try:
        core.create_node(body)
    except ApiException as err:
        if err.status != 409:
            raise
    heartbeat(core, name, log_port)
    core.patch_node(name, {"spec": {"taints": None}})


def heartbeat(core: CoreV1Api, name: str, log_port: int) -> None:
    """Report the node Ready now (also refreshes capacity)."""
    core.patch_node_status(name, {"status": node_status(now(), log_port)})

"""Pod status documents as the kubelet reports them through ``pods/status``.

The Job controller reads ``status.phase`` and the containers' terminated exit
codes; ``kubectl get pods`` reads the rest. Container and pod states are plain
dicts so a whole status can be sent in one patch.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

HOST_IP = "127.0.0.1"


def now() -> str:
    """An RFC 3339 timestamp in UTC with second precision, as the API stores it."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def waiting(reason: str, message: str = "") -> dict[str, Any]:
    """A container that has not started (ContainerCreating, CreateContainerConfigError)."""
    return {"waiting": {"reason": reason, "message": message} if message else {"reason": reason}}


def running(started_at: str) -> dict[str, Any]:
    """A container whose process is running."""
    return {"running": {"startedAt": started_at}}


def terminated(exit_code: int, started_at: str, finished_at: str) -> dict[str, Any]:
    """A container whose process exited; a signal N becomes exit code 128+N, as in a shell."""
    if exit_code < 0:
        exit_code = 128 - exit_code
    return {
        "terminated": {
            "exitCode": exit_code,
            "reason": "Completed" if exit_code == 0 else "Error",
            "startedAt": started_at,
            "finishedAt": finished_at,
        }
    }


def container_status(container: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
    """One entry of containerStatuses/initContainerStatuses."""
    return {
        "name": container["name"],
        "image": container.get("image", ""),
        "imageID": "",
        "ready": "running" in state,
        "started": "running" in state,
        "restartCount": 0,
        "state": state,
    }


def _condition(kind: str, value: bool, reason: str | None = None) -> dict[str, Any]:
    condition = {"type": kind, "status": "True" if value else "False", "lastTransitionTime": now()}
    if reason:
        condition["reason"] = reason
    return condition


def pod_status(
    phase: str,
    start_time: str,
    init_statuses: list[dict[str, Any]],
    statuses: list[dict[str, Any]],
) -> dict[str, Any]:
    """A complete pod status for the given phase and container states."""
    initialized = all("terminated" in s["state"] for s in init_statuses)
    ready = phase == "Running" and all(s["ready"] for s in statuses)
    finished_reason = "PodCompleted" if phase in ("Succeeded", "Failed") else None
    return {
        "phase": phase,
        "hostIP": HOST_IP,
        "hostIPs": [{"ip": HOST_IP}],
        "podIP": HOST_IP,
        "podIPs": [{"ip": HOST_IP}],
        "startTime": start_time,
        "conditions": [
            _condition("PodScheduled", True),
            _condition("Initialized", initialized, finished_reason),
            _condition("ContainersReady", ready, finished_reason),
            _condition("Ready", ready, finished_reason),
        ],
        "initContainerStatuses": init_statuses,
        "containerStatuses": statuses,
    }

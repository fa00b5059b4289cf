"""Small manifest builders for the node-agent tests (plain dicts, as users write YAML)."""

from __future__ import annotations

from typing import Any

IMAGE = "python:3.11-slim"  # not pulled by the node agent; a real kubelet would pull it


def python_container(code: str, name: str = "main", **extra: Any) -> dict[str, Any]:
    """A container running `python3 -c code` (python3 is on PATH via the venv)."""
    return {"name": name, "image": IMAGE, "command": ["python3", "-c", code], **extra}


def pod(name: str, *containers: dict[str, Any], **spec: Any) -> dict[str, Any]:
    """A bare Pod that runs once (restartPolicy Never)."""
    labels = spec.pop("labels", {})
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels},
        "spec": {"restartPolicy": "Never", "containers": list(containers), **spec},
    }


def job_template(container: dict[str, Any], **job_spec: Any) -> dict[str, Any]:
    """A Job spec running one container once, no retries."""
    return {
        "backoffLimit": 0,
        "template": {"spec": {"restartPolicy": "Never", "containers": [container]}},
        **job_spec,
    }

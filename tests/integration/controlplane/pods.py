"""Small manifest builders for the node tests (plain dicts, as users write YAML).

Every container is compliant with Pod Security "restricted", which the test
namespaces enforce: non-root, no privilege escalation, no capabilities, the
runtime's seccomp profile, and a read-only root filesystem.
"""

from __future__ import annotations

from typing import Any

RESTRICTED_CONTAINER = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}

TMP_VOLUME = {"name": "tmp", "emptyDir": {}}


def python_container(code: str, image: str, name: str = "main", **extra: Any) -> dict[str, Any]:
    """A container of Syncline's image running `python3 -c code`."""
    return {
        "name": name,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["python3", "-c", code],
        "securityContext": RESTRICTED_CONTAINER,
        **extra,
    }


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

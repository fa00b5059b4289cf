"""Pod volumes as plain directories, and container mounts as symlinks in a sandbox.

Each volume becomes ``<pod dir>/volumes/<name>/``. A container's mounts become
symlinks ``<sandbox>/<mountPath>`` pointing at those directories, and the process
runs with ``SYNCLINE_SANDBOX=<sandbox>``. So a file a real pod would read at
``/etc/creds/password`` is at ``$SYNCLINE_SANDBOX/etc/creds/password`` here.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from kubernetes.client import (
    AuthenticationV1TokenRequest,
    CoreV1Api,
    V1BoundObjectReference,
    V1TokenRequestSpec,
)

from syncline.devcluster.nodeagent.env import ConfigError, ObjectSource, field_value

DEFAULT_TOKEN_SECONDS = 3607


def materialise_volumes(
    pod: dict[str, Any], volumes_dir: Path, source: ObjectSource, core: CoreV1Api
) -> None:
    """Write every volume of the pod under volumes_dir (rewritten from scratch)."""
    shutil.rmtree(volumes_dir, ignore_errors=True)
    volumes_dir.mkdir(parents=True)
    for volume in pod["spec"].get("volumes") or []:
        target = volumes_dir / volume["name"]
        if "hostPath" in volume:
            target.symlink_to(volume["hostPath"]["path"])
            continue
        target.mkdir()
        if "emptyDir" in volume:
            continue
        if "secret" in volume:
            ref = volume["secret"]
            _write_object(target, source, "Secret", ref["secretName"], ref)
        elif "configMap" in volume:
            _write_object(
                target, source, "ConfigMap", volume["configMap"]["name"], volume["configMap"]
            )
        elif "downwardAPI" in volume:
            _write_downward(target, pod, volume["downwardAPI"])
        elif "projected" in volume:
            for projection in volume["projected"].get("sources") or []:
                _write_projection(target, pod, projection, source, core)
        else:
            kinds = sorted(set(volume) - {"name"})
            raise ConfigError(f"volume {volume['name']}: unsupported type {kinds}")


def _inside(directory: Path, relative: str) -> Path | None:
    """directory/relative, or None if `..` would lead out (checked lexically: links are ours)."""
    path = Path(os.path.normpath(directory / relative))
    return path if path.is_relative_to(directory) else None


def _write_file(directory: Path, relative: str, content: bytes, mode: int | None) -> None:
    path = _inside(directory, relative)
    if path is None:
        raise ConfigError(f"volume item path {relative!r} escapes its volume")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    path.chmod(mode if mode is not None else 0o644)


def _write_object(
    target: Path, source: ObjectSource, kind: str, name: str, ref: dict[str, Any]
) -> None:
    data = source.data(kind, name, bool(ref.get("optional", False))) or {}
    mode = ref.get("defaultMode")
    items = ref.get("items")
    if not items:
        for key, content in data.items():
            _write_file(target, key, content, mode)
        return
    for item in items:
        if item["key"] not in data:
            if ref.get("optional"):
                continue
            raise ConfigError(f"volume {kind} {name}: key {item['key']} not found")
        _write_file(target, item["path"], data[item["key"]], item.get("mode", mode))


def _write_downward(target: Path, pod: dict[str, Any], spec: dict[str, Any]) -> None:
    for item in spec.get("items") or []:
        if "fieldRef" not in item:
            raise ConfigError(f"downwardAPI item {item['path']}: only fieldRef is supported")
        value = field_value(pod, item["fieldRef"]["fieldPath"])
        _write_file(target, item["path"], value.encode(), item.get("mode", spec.get("defaultMode")))


def _write_projection(
    target: Path,
    pod: dict[str, Any],
    projection: dict[str, Any],
    source: ObjectSource,
    core: CoreV1Api,
) -> None:
    if "secret" in projection:
        _write_object(target, source, "Secret", projection["secret"]["name"], projection["secret"])
    elif "configMap" in projection:
        ref = projection["configMap"]
        _write_object(target, source, "ConfigMap", ref["name"], ref)
    elif "downwardAPI" in projection:
        _write_downward(target, pod, projection["downwardAPI"])
    elif "serviceAccountToken" in projection:
        token_spec = projection["serviceAccountToken"]
        token = _request_token(pod, token_spec, core)
        _write_file(target, token_spec["path"], token.encode(), 0o600)
    else:
        raise ConfigError(f"unsupported projected source {sorted(projection)}")


def _request_token(pod: dict[str, Any], spec: dict[str, Any], core: CoreV1Api) -> str:
    """A token bound to this pod, as the kubelet would request it (TokenRequest API)."""
    metadata = pod["metadata"]
    audience = spec.get("audience")
    body = AuthenticationV1TokenRequest(
        spec=V1TokenRequestSpec(
            audiences=[audience] if audience else [],
            expiration_seconds=spec.get("expirationSeconds", DEFAULT_TOKEN_SECONDS),
            bound_object_ref=V1BoundObjectReference(
                api_version="v1", kind="Pod", name=metadata["name"], uid=metadata["uid"]
            ),
        )
    )
    account = pod["spec"].get("serviceAccountName") or "default"
    response = core.create_namespaced_service_account_token(account, metadata["namespace"], body)
    if response.status is None:
        raise ConfigError(f"no token issued for service account {account}")
    return str(response.status.token)


def mount(container: dict[str, Any], volumes_dir: Path, sandbox: Path) -> None:
    """Symlink each volumeMount of the container to its volume inside the sandbox."""
    sandbox.mkdir(parents=True, exist_ok=True)
    for volume_mount in container.get("volumeMounts") or []:
        volume = volumes_dir / volume_mount["name"]
        if volume_mount.get("subPath"):
            volume = volume / volume_mount["subPath"]
        link = _inside(sandbox, volume_mount["mountPath"].lstrip("/"))
        if link is None:
            raise ConfigError(f"mountPath {volume_mount['mountPath']!r} escapes the sandbox")
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(volume)

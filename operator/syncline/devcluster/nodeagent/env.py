"""A container's environment, resolved the way the kubelet resolves it.

``envFrom`` first, then ``env`` (later entries win), each value expanded against
the variables defined before it; ``$(VAR)`` references in command and args are
expanded against the result. Values that come from Secrets are never logged:
errors name the object and key only.
"""

from __future__ import annotations

import base64
import re
from typing import Any

from kubernetes.client import CoreV1Api
from kubernetes.client.exceptions import ApiException

_REFERENCE = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.\-]*)\)")
_SUBSCRIPT = re.compile(r"^metadata\.(labels|annotations)\['(.+)'\]$")


class ConfigError(Exception):
    """The pod cannot start yet: a referenced Secret, ConfigMap or key is missing.

    The kubelet reports this as CreateContainerConfigError and keeps retrying.
    """


class ObjectSource:
    """Reads the Secrets and ConfigMaps of one pod's namespace, once each."""

    def __init__(self, core: CoreV1Api, namespace: str) -> None:
        self.core = core
        self.namespace = namespace
        self._cache: dict[tuple[str, str], dict[str, bytes] | None] = {}

    def data(self, kind: str, name: str, optional: bool) -> dict[str, bytes] | None:
        """The object's data as bytes (kind is "Secret" or "ConfigMap"); None if optional+absent."""
        key = (kind, name)
        if key not in self._cache:
            self._cache[key] = self._read(kind, name)
        found = self._cache[key]
        if found is None and not optional:
            raise ConfigError(f'{kind.lower()} "{name}" not found')
        return found

    def value(self, kind: str, ref: dict[str, Any]) -> bytes | None:
        """One key of a Secret or ConfigMap, honouring ``optional``."""
        optional = bool(ref.get("optional", False))
        data = self.data(kind, ref["name"], optional)
        if data is None:
            return None
        if ref["key"] not in data:
            if optional:
                return None
            raise ConfigError(
                f"couldn't find key {ref['key']} in {kind} {self.namespace}/{ref['name']}"
            )
        return data[ref["key"]]

    def _read(self, kind: str, name: str) -> dict[str, bytes] | None:
        try:
            if kind == "Secret":
                secret = self.core.read_namespaced_secret(name, self.namespace)
                return {k: base64.b64decode(v) for k, v in (secret.data or {}).items()}
            config_map = self.core.read_namespaced_config_map(name, self.namespace)
            found = {k: v.encode() for k, v in (config_map.data or {}).items()}
            found.update(
                {k: base64.b64decode(v) for k, v in (config_map.binary_data or {}).items()}
            )
            return found
        except ApiException as err:
            if err.status == 404:
                return None
            raise


def expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes ``$(VAR)`` expansion: defined names are replaced, ``$$`` escapes a ``$``."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            return "$"
        return env.get(name, match.group(0))

    return _REFERENCE.sub(replace, text)


def field_value(pod: dict[str, Any], path: str) -> str:
    """The downward-API value of a fieldRef path (metadata.name, metadata.labels['x'], ...)."""
    metadata = pod["metadata"]
    subscript = _SUBSCRIPT.match(path)
    if subscript:
        return str((metadata.get(subscript.group(1)) or {}).get(subscript.group(2), ""))
    simple = {
        "metadata.name": metadata.get("name"),
        "metadata.namespace": metadata.get("namespace"),
        "metadata.uid": metadata.get("uid"),
        "spec.nodeName": pod["spec"].get("nodeName"),
        "spec.serviceAccountName": pod["spec"].get("serviceAccountName"),
        "status.hostIP": "127.0.0.1",
        "status.podIP": "127.0.0.1",
    }
    if path not in simple:
        raise ConfigError(f"unsupported fieldRef {path}")
    return str(simple[path] or "")


def container_env(
    pod: dict[str, Any], container: dict[str, Any], source: ObjectSource, base: dict[str, str]
) -> dict[str, str]:
    """The full environment of a container process: base (PATH etc.) plus what the pod declares."""
    env = dict(base)
    for entry in container.get("envFrom") or []:
        prefix = entry.get("prefix", "")
        for kind, ref_key in (("Secret", "secretRef"), ("ConfigMap", "configMapRef")):
            if ref_key in entry:
                ref = entry[ref_key]
                data = source.data(kind, ref["name"], bool(ref.get("optional", False))) or {}
                env.update({prefix + k: v.decode() for k, v in data.items()})
    for var in container.get("env") or []:
        value = _env_value(pod, var, source, env)
        if value is not None:
            env[var["name"]] = value
    return env


def _env_value(
    pod: dict[str, Any], var: dict[str, Any], source: ObjectSource, env: dict[str, str]
) -> str | None:
    if "valueFrom" not in var:
        return expand(var.get("value", ""), env)
    value_from = var["valueFrom"]
    if "secretKeyRef" in value_from:
        raw = source.value("Secret", value_from["secretKeyRef"])
        return None if raw is None else raw.decode()
    if "configMapKeyRef" in value_from:
        raw = source.value("ConfigMap", value_from["configMapKeyRef"])
        return None if raw is None else raw.decode()
    if "fieldRef" in value_from:
        return field_value(pod, value_from["fieldRef"]["fieldPath"])
    raise ConfigError(f"env {var['name']}: unsupported valueFrom {sorted(value_from)}")


def command_line(container: dict[str, Any], env: dict[str, str]) -> list[str]:
    """command + args with $(VAR) expanded; without an image there is no default entrypoint."""
    argv = [expand(part, env) for part in (container.get("command") or [])]
    argv += [expand(part, env) for part in (container.get("args") or [])]
    if not argv:
        raise ConfigError(
            f"container {container['name']}: no command; the node agent runs no images"
        )
    return argv

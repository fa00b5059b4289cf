"""Driving the operator in tests: a real `syncline operator` process and API helpers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from kubernetes import client
from kubernetes.client.exceptions import ApiException

GROUP, VERSION = "syncline.dev", "v1alpha1"
T = TypeVar("T")


class OperatorProcess:
    """`syncline operator` as a subprocess watching one namespace; its log kept in a file."""

    def __init__(
        self, kubeconfig: Path, namespace: str, log: Path, entry: list[str] | None, **env: str
    ) -> None:
        self.kubeconfig, self.namespace, self.log, self.env = kubeconfig, namespace, log, env
        self.entry = entry or [str(Path(sys.executable).with_name("syncline"))]
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> OperatorProcess:
        env = {
            **os.environ,
            "KUBECONFIG": str(self.kubeconfig),
            "SYNCLINE_ENGINE_IMAGE": "syncline:test",
            "SYNCLINE_RETRY_SECONDS": "2",
            "SYNCLINE_CONNECTION_TIMEOUT_SECONDS": "5",
            "SYNCLINE_METRICS_ADDRESS": "",  # several operators may run at once; opt in
            **self.env,
        }
        command = [*self.entry, "operator", "-n", self.namespace]
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [*command, "--verbose"], stdout=out, stderr=subprocess.STDOUT, env=env
            )
        return self

    def exited(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    def kill(self) -> None:
        """SIGKILL: no cleanup, exactly like a crashed pod."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def text(self) -> str:
        return self.log.read_text(errors="replace")


def wait_for(check: Callable[[], T | None], timeout: float = 60, what: str = "condition") -> T:
    """Poll ``check`` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except ApiException as err:
            if err.status != 404:
                raise
            last = None
        if last:
            return last
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}; last value: {last!r}")


class Cluster:
    """Small verbs over the API for one test namespace."""

    def __init__(self, api: client.ApiClient, namespace: str) -> None:
        self.api, self.namespace = api, namespace
        self.custom = client.CustomObjectsApi(api)
        self.core = client.CoreV1Api(api)
        self.batch = client.BatchV1Api(api)

    def create(self, plural: str, name: str, spec: dict[str, Any], kind: str) -> None:
        body = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": kind,
            "metadata": {"name": name},
            "spec": spec,
        }
        self.custom.create_namespaced_custom_object(GROUP, VERSION, self.namespace, plural, body)

    def get(self, plural: str, name: str) -> dict[str, Any]:
        obj: dict[str, Any] = self.custom.get_namespaced_custom_object(
            GROUP, VERSION, self.namespace, plural, name
        )
        return obj

    def patch_spec(self, plural: str, name: str, spec: dict[str, Any]) -> None:
        self.custom.patch_namespaced_custom_object(
            GROUP, VERSION, self.namespace, plural, name, {"spec": spec}
        )

    def delete(self, plural: str, name: str) -> None:
        self.custom.delete_namespaced_custom_object(GROUP, VERSION, self.namespace, plural, name)

    def secret(self, name: str, data: dict[str, str]) -> None:
        body = client.V1Secret(metadata=client.V1ObjectMeta(name=name), string_data=data)
        try:
            self.core.create_namespaced_secret(self.namespace, body)
        except ApiException as err:
            if err.status != 409:
                raise
            self.core.replace_namespaced_secret(name, self.namespace, body)

    def ready(self, plural: str, name: str) -> dict[str, Any] | None:
        """The Ready condition once it reflects the current generation."""
        obj = self.get(plural, name)
        status = obj.get("status") or {}
        if status.get("observedGeneration") != obj["metadata"].get("generation"):
            return None
        return next((c for c in status.get("conditions", []) if c["type"] == "Ready"), None)

    def wait_ready(self, plural: str, name: str, timeout: float = 60) -> dict[str, Any]:
        def check() -> dict[str, Any] | None:
            condition = self.ready(plural, name)
            return condition if condition and condition["status"] == "True" else None

        return wait_for(check, timeout, f"{plural}/{name} Ready=True")

    def wait_reason(
        self, plural: str, name: str, reason: str, timeout: float = 60
    ) -> dict[str, Any]:
        def check() -> dict[str, Any] | None:
            condition = self.ready(plural, name)
            return condition if condition and condition["reason"] == reason else None

        return wait_for(check, timeout, f"{plural}/{name} reason {reason}")

    def cronjob(self, name: str) -> dict[str, Any] | None:
        try:
            obj = self.batch.read_namespaced_cron_job(name, self.namespace)
        except ApiException as err:
            if err.status == 404:
                return None
            raise
        result: dict[str, Any] = self.api.sanitize_for_serialization(obj)
        return result

    def cronjobs(self) -> list[dict[str, Any]]:
        items = self.batch.list_namespaced_cron_job(self.namespace).items
        return [self.api.sanitize_for_serialization(i) for i in items]

    def events(self) -> list[dict[str, Any]]:
        items = self.core.list_namespaced_event(self.namespace).items
        return [self.api.sanitize_for_serialization(i) for i in items]

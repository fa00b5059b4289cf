"""The agent's control loop: watch every pod, bind the unscheduled, run our own.

List-then-watch, relisting whenever the watch expires or its resourceVersion is
too old, so a missed event costs at most one watch timeout. Each pod bound to this
node gets a PodRunner thread; the loop itself never blocks on a pod.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from kubernetes import watch
from kubernetes.client import (
    ApiClient,
    CoreV1Api,
    V1Binding,
    V1DeleteOptions,
    V1ObjectMeta,
    V1ObjectReference,
    V1Preconditions,
)
from kubernetes.client.exceptions import ApiException

from syncline.devcluster.nodeagent.logserver import LogServer
from syncline.devcluster.nodeagent.node import heartbeat, register_node
from syncline.devcluster.nodeagent.runner import PodRunner
from syncline.devcluster.pki import Pki

log = logging.getLogger("syncline.nodeagent")
DEFAULT_NODE_NAME = "syncline-dev"
WATCH_SECONDS = 20
HEARTBEAT_SECONDS = 30.0
DEFAULT_GRACE_SECONDS = 30.0
SCHEDULERS = (None, "", "default-scheduler")


def base_environment(server: str) -> dict[str, str]:
    """What every container starts from: the venv first on PATH, and the API server's address.

    The agent's own environment is not inherited (it may hold an admin kubeconfig).
    """
    venv_bin = str(Path(sys.executable).parent)
    url = urlparse(server)
    return {
        "PATH": os.pathsep.join([venv_bin, os.environ.get("PATH", "/usr/bin:/bin")]),
        "LANG": os.environ.get("LANG", "C.UTF-8"),
        "KUBERNETES_SERVICE_HOST": url.hostname or "127.0.0.1",
        "KUBERNETES_SERVICE_PORT": str(url.port or 443),
    }


class NodeAgent:
    """Registers one Node and runs the pods bound to it."""

    def __init__(
        self,
        api: ApiClient,
        state_dir: Path,
        node_name: str = DEFAULT_NODE_NAME,
        pki: Pki | None = None,
    ) -> None:
        self.core = CoreV1Api(api)
        self.node_name = node_name
        self.pods_dir = state_dir / "pods"
        self.logs_dir = state_dir / "logs"
        self.base_env = base_environment(api.configuration.host)
        self.runners: dict[str, PodRunner] = {}
        self.stopping = threading.Event()
        self._last_heartbeat = 0.0
        self.log_server = LogServer(self.logs_dir, pki, self._is_running) if pki else None

    def run(self) -> None:
        """Register the node, then reconcile pods until stop() is called."""
        if self.log_server:
            self.log_server.start()
        register_node(self.core, self.node_name, self.log_port)
        self._last_heartbeat = time.monotonic()
        log.info("node %s registered and Ready", self.node_name)
        while not self.stopping.is_set():
            try:
                self._list_and_watch()
            except Exception as err:
                if self.stopping.is_set():
                    break
                log.warning("watch interrupted (%s); relisting", type(err).__name__)
                self.stopping.wait(1.0)

    @property
    def log_port(self) -> int:
        """The port of the log endpoint, 0 when there is none."""
        return self.log_server.port if self.log_server else 0

    def _is_running(self, namespace: str, name: str) -> bool:
        return any(
            r.is_alive() and r.label == f"{namespace}/{name}" for r in list(self.runners.values())
        )

    def stop(self, grace_seconds: float = 2.0) -> None:
        """Stop the loop and every pod process this agent started."""
        self.stopping.set()
        if self.log_server:
            self.log_server.stop()
        for runner in list(self.runners.values()):
            if runner.is_alive():
                runner.request_stop(grace_seconds)
        for runner in list(self.runners.values()):
            runner.join(timeout=grace_seconds + 5)

    def _list_and_watch(self) -> None:
        response: Any = self.core.list_pod_for_all_namespaces(_preload_content=False)
        listing = json.loads(response.data)
        for pod in listing["items"]:
            self._handle(pod)
        watcher: Any = watch.Watch()  # type: ignore[no-untyped-call]
        stream = watcher.stream(
            self.core.list_pod_for_all_namespaces,
            resource_version=listing["metadata"]["resourceVersion"],
            timeout_seconds=WATCH_SECONDS,
            _request_timeout=WATCH_SECONDS + 10,
        )
        for event in stream:
            if self.stopping.is_set():
                return
            if event["type"] == "ERROR":
                return  # usually 410 Gone: relist
            self._handle(event["raw_object"])
            self._maybe_heartbeat()
        self._maybe_heartbeat()

    def _maybe_heartbeat(self) -> None:
        if time.monotonic() - self._last_heartbeat >= HEARTBEAT_SECONDS:
            heartbeat(self.core, self.node_name, self.log_port)
            self._last_heartbeat = time.monotonic()

    def _handle(self, pod: dict[str, Any]) -> None:
        """Decide what one pod needs from us: binding, a runner, a stop, or nothing."""
        meta, spec = pod["metadata"], pod["spec"]
        node = spec.get("nodeName")
        if meta.get("deletionTimestamp"):
            if node == self.node_name:
                self._on_deleted(pod)
            return
        if not node:
            if spec.get("schedulerName") in SCHEDULERS:
                self._bind(meta["namespace"], meta["name"])
            return
        if node != self.node_name or meta["uid"] in self.runners:
            return
        phase = (pod.get("status") or {}).get("phase")
        if phase == "Running":
            self._report_lost(pod)
        elif phase not in ("Succeeded", "Failed"):
            self._start_runner(pod)

    def _report_lost(self, pod: dict[str, Any]) -> None:
        """A pod that was running before this agent started: its process is gone; say so."""
        meta = pod["metadata"]
        body = {
            "status": {
                "phase": "Failed",
                "reason": "NodeAgentRestarted",
                "message": "the node agent restarted; the process is gone",
            }
        }
        try:
            self.core.patch_namespaced_pod_status(meta["name"], meta["namespace"], body)
        except ApiException as err:
            log.warning(
                "pod %s/%s: status update failed: %s", meta["namespace"], meta["name"], err.reason
            )

    def _bind(self, namespace: str, name: str) -> None:
        """Schedule the pod onto this node through pods/binding (there is no kube-scheduler)."""
        body = V1Binding(
            metadata=V1ObjectMeta(name=name),
            target=V1ObjectReference(api_version="v1", kind="Node", name=self.node_name),
        )
        try:
            self.core.create_namespaced_pod_binding(name, namespace, body, _preload_content=False)
            log.info("pod %s/%s bound to %s", namespace, name, self.node_name)
        except ApiException as err:
            if err.status not in (404, 409):
                log.warning("pod %s/%s: binding failed: %s", namespace, name, err.reason)

    def _start_runner(self, pod: dict[str, Any]) -> None:
        meta = pod["metadata"]
        runner = PodRunner(
            self.core,
            pod,
            self._pod_dir(pod),
            self.logs_dir / meta["namespace"] / meta["name"],
            self.base_env,
        )
        self.runners[meta["uid"]] = runner
        runner.start()

    def _pod_dir(self, pod: dict[str, Any]) -> Path:
        meta = pod["metadata"]
        return self.pods_dir / f"{meta['namespace']}_{meta['name']}_{meta['uid'][:8]}"

    def _on_deleted(self, pod: dict[str, Any]) -> None:
        """Kill a running pod's processes, or just remove a pod that is not running."""
        meta = pod["metadata"]
        runner = self.runners.get(meta["uid"])
        if runner is not None and runner.is_alive():
            grace = meta.get("deletionGracePeriodSeconds")
            runner.request_stop(DEFAULT_GRACE_SECONDS if grace is None else float(grace))
            return
        self.runners.pop(meta["uid"], None)
        try:
            self.core.delete_namespaced_pod(
                meta["name"],
                meta["namespace"],
                body=V1DeleteOptions(
                    grace_period_seconds=0, preconditions=V1Preconditions(uid=meta["uid"])
                ),
            )
        except ApiException as err:
            if err.status not in (404, 409):
                log.warning(
                    "pod %s/%s: delete failed: %s", meta["namespace"], meta["name"], err.reason
                )
        shutil.rmtree(self._pod_dir(pod), ignore_errors=True)

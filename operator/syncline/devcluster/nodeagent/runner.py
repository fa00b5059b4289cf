"""Run one pod: its init containers in order, then its containers side by side.

A PodRunner lives in its own thread from the moment the pod is bound until it is
finished or deleted. Deletion (the Job controller enforcing activeDeadlineSeconds,
the garbage collector, a user) stops the processes - SIGTERM to each process
group, SIGKILL after the grace period - and then removes the pod object, which is
the kubelet's half of graceful deletion.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubernetes.client import CoreV1Api, V1DeleteOptions, V1Preconditions
from kubernetes.client.exceptions import ApiException

from syncline.devcluster.nodeagent import status
from syncline.devcluster.nodeagent.env import ConfigError, ObjectSource, command_line, container_env
from syncline.devcluster.nodeagent.volumes import materialise_volumes, mount
from syncline.devcluster.process import spawn, stop_group

log = logging.getLogger("syncline.nodeagent")
CONFIG_RETRY_SECONDS = 2.0
START_ERROR_EXIT_CODE = 128  # what container runtimes report when exec fails


@dataclass
class Prepared:
    """A container ready to start: argv, environment and working directory resolved."""

    spec: dict[str, Any]
    argv: list[str]
    env: dict[str, str]
    cwd: Path
    state: dict[str, Any] = field(default_factory=lambda: status.waiting("ContainerCreating"))


class PodRunner(threading.Thread):
    """Runs one pod's containers as local processes and reports its status."""

    def __init__(
        self,
        core: CoreV1Api,
        pod: dict[str, Any],
        pod_dir: Path,
        logs_dir: Path,
        base_env: dict[str, str],
    ) -> None:
        meta = pod["metadata"]
        super().__init__(name=f"pod-{meta['namespace']}/{meta['name']}", daemon=True)
        self.core, self.pod, self.pod_dir, self.logs_dir = core, pod, pod_dir, logs_dir
        self.base_env = base_env
        self.start_time = status.now()
        self.deleting = threading.Event()
        self.grace_seconds = 30.0
        self.init: list[Prepared] = []
        self.main: list[Prepared] = []

    @property
    def label(self) -> str:
        """namespace/name, for logs."""
        return f"{self.pod['metadata']['namespace']}/{self.pod['metadata']['name']}"

    def request_stop(self, grace_seconds: float) -> None:
        """Ask the runner to kill the pod's processes and remove the pod (non-blocking)."""
        self.grace_seconds = grace_seconds
        self.deleting.set()

    def run(self) -> None:
        try:
            self._prepare_until_ready()
            if not self.deleting.is_set():
                self._run_all()
        except Exception:
            log.exception("pod %s: node agent error", self.label)
            self._report("Failed")
        finally:
            if self.deleting.is_set():
                self.finalize()

    def _prepare_until_ready(self) -> None:
        """Resolve volumes, env and commands; retry while a referenced object is missing."""
        last_message = None
        while not self.deleting.is_set():
            try:
                self._prepare()
                return
            except ConfigError as err:
                if str(err) != last_message:
                    last_message = str(err)
                    log.info("pod %s: waiting: %s", self.label, err)
                    state = status.waiting("CreateContainerConfigError", str(err))
                    for prepared in self._placeholders():
                        prepared.state = state
                    self._report("Pending")
                self.deleting.wait(CONFIG_RETRY_SECONDS)

    def _placeholders(self) -> list[Prepared]:
        spec = self.pod["spec"]
        self.init = [Prepared(c, [], {}, self.pod_dir) for c in spec.get("initContainers") or []]
        self.main = [Prepared(c, [], {}, self.pod_dir) for c in spec["containers"]]
        return self.init + self.main

    def _prepare(self) -> None:
        source = ObjectSource(self.core, self.pod["metadata"]["namespace"])
        volumes_dir = self.pod_dir / "volumes"
        materialise_volumes(self.pod, volumes_dir, source, self.core)
        (self.pod_dir / "tmp").mkdir(exist_ok=True)
        spec = self.pod["spec"]
        self.init = [self._prepare_one(c, source) for c in spec.get("initContainers") or []]
        self.main = [self._prepare_one(c, source) for c in spec["containers"]]

    def _prepare_one(self, container: dict[str, Any], source: ObjectSource) -> Prepared:
        sandbox = self.pod_dir / "containers" / container["name"]
        mount(container, self.pod_dir / "volumes", sandbox)
        base = dict(self.base_env)
        base.update(
            SYNCLINE_SANDBOX=str(sandbox),
            HOME=str(sandbox),
            TMPDIR=str(self.pod_dir / "tmp"),
            HOSTNAME=self.pod["metadata"]["name"],
        )
        env = container_env(self.pod, container, source, base)
        cwd = sandbox / str(container.get("workingDir", "")).lstrip("/")
        cwd.mkdir(parents=True, exist_ok=True)
        return Prepared(container, command_line(container, env), env, cwd)

    def _run_all(self) -> None:
        for prepared in self.init:
            self._report("Pending")
            if self._run([prepared]) != 0:
                self._report("Failed")
                return
        if self.deleting.is_set():
            return
        codes = self._run(self.main)
        self._report("Succeeded" if codes == 0 else "Failed")

    def _run(self, group: list[Prepared]) -> int:
        """Start the containers, report Running, wait for all; return the worst exit code."""
        processes: list[subprocess.Popen[bytes] | None] = []
        for prepared in group:
            processes.append(self._start(prepared))
        phase = "Running" if group is self.main else "Pending"
        self._report(phase)
        worst = 0
        for prepared, process in zip(group, processes, strict=True):
            if process is None:  # could not start; its state already says why
                worst = worst or START_ERROR_EXIT_CODE
                continue
            code = self._wait(process)
            (self.pod_dir / f"{prepared.spec['name']}.pgid").unlink(missing_ok=True)
            started = prepared.state["running"]["startedAt"]
            prepared.state = status.terminated(code, started, status.now())
            log.info("pod %s: container %s exited %s", self.label, prepared.spec["name"], code)
            worst = worst or code
        return worst

    def _start(self, prepared: Prepared) -> subprocess.Popen[bytes] | None:
        """Start one container; a missing executable is a StartError, as with a runtime."""
        name = prepared.spec["name"]
        log_file = self.logs_dir / f"{name}.log"
        try:
            process = spawn(prepared.argv, log_file, env=prepared.env, cwd=prepared.cwd)
        except OSError as err:
            now = status.now()
            prepared.state = status.terminated(START_ERROR_EXIT_CODE, now, now)
            prepared.state["terminated"].update(reason="StartError", message=err.strerror or "")
            log.info("pod %s: container %s could not start: %s", self.label, name, err.strerror)
            return None
        (self.pod_dir / f"{name}.pgid").write_text(str(process.pid))
        prepared.state = status.running(status.now())
        log.info("pod %s: container %s started (pid %d)", self.label, name, process.pid)
        return process

    def _wait(self, process: subprocess.Popen[bytes]) -> int:
        """Wait for the process, stopping its group when the pod is being deleted."""
        while process.poll() is None:
            if self.deleting.wait(0.2):
                stop_group(process.pid, self.grace_seconds, process)
                process.wait()
        return process.returncode

    def _report(self, phase: str) -> None:
        if self.deleting.is_set():
            return
        body = {
            "status": status.pod_status(
                phase,
                self.start_time,
                [status.container_status(p.spec, p.state) for p in self.init],
                [status.container_status(p.spec, p.state) for p in self.main],
            )
        }
        meta = self.pod["metadata"]
        try:
            self.core.patch_namespaced_pod_status(meta["name"], meta["namespace"], body)
        except ApiException as err:
            if err.status != 404:
                log.warning("pod %s: status update failed: %s", self.label, err.reason)

    def finalize(self) -> None:
        """Remove the pod object (grace 0, this uid only) and its sandbox directory."""
        meta = self.pod["metadata"]
        options = V1DeleteOptions(
            grace_period_seconds=0, preconditions=V1Preconditions(uid=meta["uid"])
        )
        try:
            self.core.delete_namespaced_pod(meta["name"], meta["namespace"], body=options)
        except ApiException as err:
            if err.status not in (404, 409):
                log.warning("pod %s: delete failed: %s", self.label, err.reason)
        shutil.rmtree(self.pod_dir, ignore_errors=True)
        log.info("pod %s: removed", self.label)

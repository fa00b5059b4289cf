"""A whole dev environment: control plane, node agent, CRDs, optionally PostgreSQL.

Each component is started through the Supervisor, so the state file always says
what is running and ``syncline dev down`` can stop it from another process. To add
a component (the operator, a quickstart project), add a ``_start_<thing>`` step to
``start`` that launches it with ``self.supervisor.launch``: stopping is automatic.
"""

from __future__ import annotations

import secrets
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from kubernetes import client, config

from syncline.devcluster.controlplane import ControlPlane
from syncline.devcluster.crds import install_crds
from syncline.devcluster.nodeagent.agent import DEFAULT_NODE_NAME
from syncline.devcluster.process import wait_until
from syncline.devcluster.supervisor import Supervisor

DEFAULT_STATE_DIR = Path.home() / ".cache" / "syncline" / "dev"
READY_TIMEOUT = 60.0


@dataclass(frozen=True)
class DevInfo:
    """What a user of the started environment needs to know."""

    kubeconfig: Path
    server: str
    seconds_to_ready: float
    postgres_env: Path | None = None


class DevEnvironment:
    """Start and stop the local cluster (and friends) recorded in one state directory."""

    def __init__(self, state_dir: Path = DEFAULT_STATE_DIR, bin_dir: Path | None = None) -> None:
        self.state_dir = state_dir
        self.supervisor = Supervisor(state_dir)
        self.bin_dir = bin_dir

    def start(
        self, *, node_agent: bool = True, crds: Path | None = None, postgres: bool = False
    ) -> DevInfo:
        """Start everything requested; on any failure, stop what was started and re-raise."""
        if any(self.supervisor.status().values()):
            raise RuntimeError(f"a dev environment is already running from {self.state_dir}")
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.supervisor.stop_all()
        started = time.monotonic()
        try:
            endpoints = ControlPlane(self.supervisor, self.bin_dir).start()
            api = config.new_client_from_config(  # type: ignore[no-untyped-call]
                config_file=str(endpoints.kubeconfig)
            )
            with api:
                _wait_for_default_service_account(api)
                if node_agent:
                    self._start_node_agent(endpoints.kubeconfig, api)
                if crds is not None:
                    install_crds(api, crds)
            ready = time.monotonic() - started
            postgres_env = self._start_postgres() if postgres else None
        except BaseException:
            self.stop()
            raise
        return DevInfo(endpoints.kubeconfig, endpoints.server, ready, postgres_env)

    def stop(self) -> list[str]:
        """Stop every recorded component and database; keep logs, drop etcd data and sandboxes."""
        stopped = self.supervisor.stop_all()
        info = self.supervisor.read()["info"]
        if info.get("postgres_dir"):
            from syncline.devcluster.databases import PostgresServer

            PostgresServer(Path(info["postgres_dir"])).stop()
            shutil.rmtree(info["postgres_dir"], ignore_errors=True)
            self.supervisor.set_info(postgres_dir=None)
            stopped.append("postgres")
        for transient in ("etcd", "node/pods", "apiserver", "controller-manager"):
            shutil.rmtree(self.state_dir / transient, ignore_errors=True)
        return stopped

    def status(self) -> dict[str, bool]:
        """Each recorded component and whether it is running."""
        return self.supervisor.status()

    def _start_node_agent(self, kubeconfig: Path, api: client.ApiClient) -> None:
        self.supervisor.launch(
            "node-agent",
            [
                sys.executable,
                "-m",
                "syncline.devcluster.nodeagent",
                f"--kubeconfig={kubeconfig}",
                f"--state-dir={self.state_dir / 'node'}",
                f"--pki-dir={self.state_dir / 'pki'}",
            ],
        )
        core = client.CoreV1Api(api)

        def ready() -> bool:
            if not self.supervisor.status().get("node-agent"):
                raise RuntimeError(f"node agent exited; see {self.state_dir}/logs/node-agent.log")
            return _node_ready(core)

        wait_until(ready, READY_TIMEOUT, "node agent", interval=0.2)

    def _start_postgres(self) -> Path:
        """PostgreSQL with a ``syncline`` database; its DSN goes to a 0600 env file."""
        from syncline.devcluster.databases import PostgresServer

        # Outside the state dir: the server runs as an unprivileged user, who may not be
        # able to traverse the invoking user's home directory.
        base = Path(tempfile.mkdtemp(prefix="syncline-dev-postgres-"))
        self.supervisor.set_info(postgres_dir=str(base))
        server = PostgresServer(base)
        server.start()
        password = secrets.token_hex(12)
        server.create_database("syncline", "syncline", password)
        env_file = self.state_dir / "postgres.env"
        env_file.touch(mode=0o600)
        env_file.write_text(
            f"SYNCLINE_DEV_POSTGRES_DSN=postgresql://syncline:{password}"
            f"@{server.host}:{server.port}/syncline\n"
        )
        return env_file


def _node_ready(core: client.CoreV1Api) -> bool:
    try:
        node = core.read_node(DEFAULT_NODE_NAME)
    except client.ApiException:
        return False
    conditions = node.status.conditions if node.status else None
    return any(c.type == "Ready" and c.status == "True" for c in conditions or [])


def _wait_for_default_service_account(api: client.ApiClient) -> None:
    """Pods are refused until the serviceaccount controller has made ``default``."""
    core = client.CoreV1Api(api)

    def exists() -> bool:
        try:
            core.read_namespaced_service_account("default", "default")
        except client.ApiException:
            return False
        return True

    wait_until(exists, READY_TIMEOUT, "default service account", interval=0.2)

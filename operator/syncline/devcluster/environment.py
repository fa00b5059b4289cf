"""A whole dev environment: control plane, a real node, CRDs, optionally PostgreSQL.

Each component is started through the Supervisor, so the state file always says
what is running and ``syncline dev down`` can stop it from another process. To add
a component (the operator, a quickstart project), add a ``_start_<thing>`` step to
``start`` that launches it with ``self.supervisor.launch``: stopping is automatic.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kubernetes import client, config

from syncline.devcluster.binaries import k8s_bin_dir
from syncline.devcluster.controlplane import ControlPlane
from syncline.devcluster.crds import install_crds
from syncline.devcluster.images import Images, build_images
from syncline.devcluster.netns import NODE_IP, NetworkNamespace, namespace_name
from syncline.devcluster.node import Node, teardown
from syncline.devcluster.pki import NODE_NAME
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
    images: Images
    netns: str
    postgres_env: Path | None = None


class DevEnvironment:
    """Start and stop the local cluster (and friends) recorded in one state directory."""

    def __init__(self, state_dir: Path = DEFAULT_STATE_DIR, bin_dir: Path | None = None) -> None:
        self.state_dir = state_dir.resolve()
        self.supervisor = Supervisor(self.state_dir)
        self.bin_dir = bin_dir
        self.netns = NetworkNamespace(namespace_name(self.state_dir))
        # The node's cgroup subtree is named like the namespace: one per state directory.
        self.cgroup = self.netns.name
        self.control_plane: ControlPlane | None = None
        """The control plane this process started (None when started elsewhere)."""

    def start(self, *, crds: Path | None = None, postgres: bool = False) -> DevInfo:
        """Start everything requested; on any failure, stop what was started and re-raise."""
        if any(self.supervisor.status().values()):
            raise RuntimeError(f"a dev environment is already running from {self.state_dir}")
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.stop()
        images = build_images()
        bin_dir = self.bin_dir or k8s_bin_dir()
        started = time.monotonic()
        try:
            self.netns.create()
            self.supervisor.set_info(netns=self.netns.name, image=images.image_ref)
            self.control_plane = control_plane = ControlPlane(self.supervisor, self.netns, bin_dir)
            endpoints = control_plane.start()
            assert control_plane.pki is not None
            Node(self.supervisor, self.netns, bin_dir, self.cgroup).start(
                control_plane.pki, endpoints.server, images
            )
            api = config.new_client_from_config(  # type: ignore[no-untyped-call]
                config_file=str(endpoints.kubeconfig)
            )
            with api:
                self._wait_for_node(api)
                _wait_for_default_service_account(api)
                if crds is not None:
                    install_crds(api, crds)
            ready = time.monotonic() - started
            postgres_env = self._start_postgres() if postgres else None
        except BaseException:
            self.stop()
            raise
        return DevInfo(
            endpoints.kubeconfig, endpoints.server, ready, images, self.netns.name, postgres_env
        )

    def forward(self, name: str, *, into: Sequence[str] = (), out: Sequence[str] = ()) -> None:
        """Start a supervised forwarder (see forward.py); rules are ``LISTEN=TARGET``.

        Returns once every listening socket accepts connections.
        """
        argv = [sys.executable, "-m", "syncline.devcluster.forward", "--netns", self.netns.name]
        argv += [f"--into={rule}" for rule in into] + [f"--out={rule}" for rule in out]
        component = f"forward-{name}"
        self.supervisor.launch(component, argv, program="syncline.devcluster.forward")

        def listening() -> bool:
            self.supervisor.ensure_running(component)
            return all(_accepts(r) for r in into) and all(_accepts(r, self.netns) for r in out)

        wait_until(listening, READY_TIMEOUT, component, interval=0.05)

    def stop(self) -> list[str]:
        """Stop every component and database; leave no process, mount, cgroup or namespace.

        Logs are kept; etcd data, the node's containers and images are not.
        """
        stopped = self.supervisor.stop_all()
        teardown(self.state_dir, self.cgroup)
        self.netns.delete()
        info = self.supervisor.read()["info"]
        if info.get("postgres_dir"):
            from syncline.devcluster.databases import PostgresServer

            PostgresServer(Path(info["postgres_dir"])).stop()
            shutil.rmtree(info["postgres_dir"], ignore_errors=True)
            self.supervisor.set_info(postgres_dir=None)
            stopped.append("postgres")
        for transient in ("etcd", "node", "apiserver", "controller-manager"):
            shutil.rmtree(self.state_dir / transient, ignore_errors=True)
        return stopped

    def status(self) -> dict[str, bool]:
        """Each recorded component and whether it is running."""
        return self.supervisor.status()

    def _wait_for_node(self, api: client.ApiClient) -> None:
        core = client.CoreV1Api(api)

        def ready() -> bool:
            for component in ("containerd", "kubelet", "kube-proxy"):
                self.supervisor.ensure_running(component)
            return _node_ready(core)

        wait_until(ready, READY_TIMEOUT, f"node {NODE_NAME} at {NODE_IP}", interval=0.2)

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


def _accepts(rule: str, netns: NetworkNamespace | None = None) -> bool:
    """Whether the rule's listening address takes a connection (inside netns if given)."""
    host, _, port = rule.partition("=")[0].rpartition(":")
    address = ("127.0.0.1" if host == "0.0.0.0" else host, int(port))  # noqa: S104
    with netns.entered() if netns else contextlib.nullcontext():
        probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    with probe:
        probe.settimeout(1)
        return probe.connect_ex(address) == 0


def _node_ready(core: client.CoreV1Api) -> bool:
    try:
        node = core.read_node(NODE_NAME)
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

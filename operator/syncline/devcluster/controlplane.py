"""etcd, kube-apiserver, kube-controller-manager and kube-scheduler in the cluster namespace.

The flags mirror what kubeadm sets up, minus what a single-node machine does not
need: RBAC and client-certificate authentication are real, the API server serves TLS
only, service-account tokens are signed, and the controller-manager runs each
controller under its own service account. Everything listens inside the cluster's
network namespace; the API server's port is also a free port on the host's loopback,
forwarded inside, so the same kubeconfig (``https://127.0.0.1:<port>``) works from
the user's shell and from the components, and pods reach it as ``kubernetes.default``.
"""

from __future__ import annotations

import shutil
import ssl
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from syncline.devcluster.binaries import k8s_bin_dir
from syncline.devcluster.kubeconfig import write_kubeconfig
from syncline.devcluster.netns import NODE_IP, SERVICE_CIDR, NetworkNamespace
from syncline.devcluster.pki import Pki, create_pki
from syncline.devcluster.process import free_ports, wait_until
from syncline.devcluster.supervisor import Supervisor

SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local"
READY_TIMEOUT = 90.0
ETCD_CLIENT, ETCD_PEER = "http://127.0.0.1:2379", "http://127.0.0.1:2380"
CONTROLLERS = (
    "cronjob-controller",
    "job-controller",
    "garbage-collector-controller",
    "namespace-controller",
    "ttl-after-finished-controller",
    "serviceaccount-token-controller",
    "serviceaccount-controller",
    "root-ca-certificate-publisher-controller",
    "clusterrole-aggregation-controller",
    "deployment-controller",
    "replicaset-controller",
    "pod-garbage-collector-controller",
    "node-lifecycle-controller",
    "taint-eviction-controller",
    "endpoints-controller",
    "endpointslice-controller",
    "resourcequota-controller",
)


@dataclass(frozen=True)
class Endpoints:
    """Where the started control plane listens and how to reach it."""

    server: str
    kubeconfig: Path
    etcd: str


class ControlPlane:
    """Starts the control-plane processes under a Supervisor, in dependency order."""

    def __init__(
        self,
        supervisor: Supervisor,
        netns: NetworkNamespace,
        bin_dir: Path | None = None,
        apiserver_flags: Sequence[str] = (),
    ) -> None:
        self.supervisor = supervisor
        self.apiserver_flags = list(apiserver_flags)
        """Extra kube-apiserver flags (the operator benchmark adds an audit log)."""
        self.netns = netns
        self.state_dir = supervisor.state_dir
        self.bin_dir = bin_dir
        self.pki: Pki | None = None
        self._apiserver_argv: list[str] = []
        self._server = ""

    def start(self) -> Endpoints:
        """Start everything and return once the API server is ready; ~seconds when cached."""
        bin_dir = self.bin_dir or k8s_bin_dir()
        pki_dir = self.state_dir / "pki"
        shutil.rmtree(pki_dir, ignore_errors=True)
        self.pki = pki = create_pki(pki_dir)
        etcd = self._start_etcd(bin_dir)
        (port,) = free_ports(1)
        self._forward_to_host(port)
        server = self._start_apiserver(bin_dir, pki, etcd, port)
        kubeconfig = write_kubeconfig(
            self.state_dir / "kubeconfig", server, pki.ca.cert, pki.admin, "syncline-admin"
        )
        context = _tls_context(pki)
        self._wait_ready("kube-apiserver", f"{server}/readyz", context)
        self._start_controller_manager(bin_dir, pki, server)
        self._start_scheduler(bin_dir, pki, server)
        endpoints = Endpoints(server=server, kubeconfig=kubeconfig, etcd=etcd)
        self.supervisor.set_info(server=server, kubeconfig=str(kubeconfig))
        return endpoints

    def restart_apiserver(self) -> None:
        """Kill the API server outright and start it again on the same port; returns once
        it is ready. Every watch and connection of every client breaks: what the operator
        must survive."""
        assert self.pki is not None, "start() first"
        self.supervisor.kill("kube-apiserver")
        self.supervisor.launch("kube-apiserver", self._apiserver_argv, netns=self.netns)
        self._wait_ready("kube-apiserver", f"{self._server}/readyz", _tls_context(self.pki))

    def _wait_ready(
        self, name: str, url: str, context: ssl.SSLContext | None, *, inside: bool = False
    ) -> None:
        """Poll url; fail fast, with the log's tail, if the component exits instead."""

        def ready() -> bool:
            self.supervisor.ensure_running(name)
            if inside:
                with self.netns.entered():
                    return _ok(url, context)
            return _ok(url, context)

        wait_until(ready, READY_TIMEOUT, name)

    def _start_etcd(self, bin_dir: Path) -> str:
        data_dir = self.state_dir / "etcd"
        shutil.rmtree(data_dir, ignore_errors=True)  # a dev cluster starts empty
        client, peer = ETCD_CLIENT, ETCD_PEER
        self.supervisor.launch(
            "etcd",
            [
                str(bin_dir / "etcd"),
                "--name=syncline-dev",
                f"--data-dir={data_dir}",
                f"--listen-client-urls={client}",
                f"--advertise-client-urls={client}",
                f"--listen-peer-urls={peer}",
                f"--initial-advertise-peer-urls={peer}",
                f"--initial-cluster=syncline-dev={peer}",
                "--unsafe-no-fsync",  # throwaway data; fsync dominates start-up time
                "--log-level=warn",
            ],
            netns=self.netns,
        )
        self._wait_ready("etcd", f"{client}/health", None, inside=True)
        return client

    def _forward_to_host(self, port: int) -> None:
        """The host's 127.0.0.1:port reaches the API server inside the namespace."""
        rule = f"127.0.0.1:{port}=127.0.0.1:{port}"
        self.supervisor.launch(
            "forward-apiserver",
            [
                sys.executable,
                "-m",
                "syncline.devcluster.forward",
                "--netns",
                self.netns.name,
                "--into",
                rule,
            ],
            program="syncline.devcluster.forward",
        )

    def _start_apiserver(self, bin_dir: Path, pki: Pki, etcd: str, port: int) -> str:
        self._apiserver_argv = [
            str(bin_dir / "kube-apiserver"),
            f"--etcd-servers={etcd}",
            "--bind-address=0.0.0.0",
            f"--advertise-address={NODE_IP}",
            f"--secure-port={port}",
            f"--cert-dir={self.state_dir / 'apiserver'}",
            f"--tls-cert-file={pki.apiserver.cert}",
            f"--tls-private-key-file={pki.apiserver.key}",
            f"--client-ca-file={pki.ca.cert}",
            "--authorization-mode=Node,RBAC",
            f"--service-account-issuer={SERVICE_ACCOUNT_ISSUER}",
            f"--service-account-key-file={pki.sa_public}",
            f"--service-account-signing-key-file={pki.sa_private}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--enable-admission-plugins=NodeRestriction",
            f"--kubelet-client-certificate={pki.apiserver_kubelet_client.cert}",
            f"--kubelet-client-key={pki.apiserver_kubelet_client.key}",
            f"--kubelet-certificate-authority={pki.ca.cert}",
            "--kubelet-preferred-address-types=InternalIP",
            "--profiling=false",
            *self.apiserver_flags,
        ]
        self.supervisor.launch("kube-apiserver", self._apiserver_argv, netns=self.netns)
        self._server = f"https://127.0.0.1:{port}"
        return self._server

    def _start_controller_manager(self, bin_dir: Path, pki: Pki, server: str) -> None:
        kubeconfig = write_kubeconfig(
            self.state_dir / "controller-manager.kubeconfig",
            server,
            pki.ca.cert,
            pki.controller_manager,
            "system:kube-controller-manager",
        )
        self.supervisor.launch(
            "kube-controller-manager",
            [
                str(bin_dir / "kube-controller-manager"),
                f"--kubeconfig={kubeconfig}",
                f"--authentication-kubeconfig={kubeconfig}",
                f"--authorization-kubeconfig={kubeconfig}",
                "--bind-address=127.0.0.1",
                f"--cert-dir={self.state_dir / 'controller-manager'}",
                "--leader-elect=false",
                f"--controllers={','.join(CONTROLLERS)}",
                "--use-service-account-credentials=true",
                f"--service-account-private-key-file={pki.sa_private}",
                f"--root-ca-file={pki.ca.cert}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                # One node: notice it gone quickly, never evict its pods for a blip.
                "--node-monitor-grace-period=20s",
            ],
            netns=self.netns,
        )

    def _start_scheduler(self, bin_dir: Path, pki: Pki, server: str) -> None:
        kubeconfig = write_kubeconfig(
            self.state_dir / "scheduler.kubeconfig",
            server,
            pki.ca.cert,
            pki.scheduler,
            "system:kube-scheduler",
        )
        self.supervisor.launch(
            "kube-scheduler",
            [
                str(bin_dir / "kube-scheduler"),
                f"--kubeconfig={kubeconfig}",
                f"--authentication-kubeconfig={kubeconfig}",
                f"--authorization-kubeconfig={kubeconfig}",
                "--bind-address=127.0.0.1",
                "--leader-elect=false",
            ],
            netns=self.netns,
        )


def _tls_context(pki: Pki) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(pki.ca.cert))
    context.load_cert_chain(str(pki.admin.cert), str(pki.admin.key))
    return context


def _ok(url: str, context: ssl.SSLContext | None) -> bool:
    """Whether GET url answers 200 right now (connection errors just mean not yet)."""
    try:
        with urllib.request.urlopen(url, timeout=2, context=context) as response:  # noqa: S310
            return bool(response.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        time.sleep(0.05)
        return False

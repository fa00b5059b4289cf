"""A real Kubernetes node: containerd, the kubelet and kube-proxy in the cluster namespace.

Pods run as real containers (runc) from images imported into containerd, with their
securityContext, resource limits, probes and Services enforced by the same code a
production node runs. Settings this kind of machine needs, and why:

- containerd ``restrict_oom_score_adj``: root here lacks CAP_SYS_RESOURCE, and runc
  fails every sandbox when asked for a negative OOM score.
- kubelet ``cgroupRoot``: one subtree per cluster (see cgroups.py), cgroupfs driver,
  cgroup v1 allowed, swap allowed.
- The kubelet writes a few kernel tunables at start. It runs in a mount namespace of
  its own where the ones that differ from what it wants are stand-in files, so the
  machine's own values never change. Its root directory is an rshared bind mount, so
  the volumes it mounts there are seen by containerd in the host's mount namespace.
- No registry is reachable: the pause image and Syncline's image are built locally
  (tools/image/build.sh) and imported; pods never pull.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import yaml

from syncline.devcluster import cgroups
from syncline.devcluster.images import Images
from syncline.devcluster.kubeconfig import write_kubeconfig
from syncline.devcluster.netns import NODE_IP, POD_CIDR, NetworkNamespace
from syncline.devcluster.pki import NODE_NAME, Pki
from syncline.devcluster.process import wait_until
from syncline.devcluster.supervisor import Supervisor

START_TIMEOUT = 60.0
MNT_DETACH = 2
# What the kubelet sets at start (pkg/kubelet/cm: setupKernelTunables) and the values it wants.
KERNEL_TUNABLES = {
    "vm/overcommit_memory": "1",
    "vm/panic_on_oom": "0",
    "kernel/panic": "10",
    "kernel/panic_on_oops": "1",
    "kernel/keys/root_maxkeys": "1000000",
    "kernel/keys/root_maxbytes": "25000000",
}


class Node:
    """Start containerd, import images, start kubelet and kube-proxy; all supervised."""

    def __init__(
        self, supervisor: Supervisor, netns: NetworkNamespace, bin_dir: Path, cgroup: str
    ) -> None:
        self.supervisor = supervisor
        self.netns = netns
        self.bin_dir = bin_dir
        self.cgroup = cgroup
        self.dir = supervisor.state_dir / "node"

    @property
    def containerd_socket(self) -> Path:
        return self.dir / "containerd" / "containerd.sock"

    @property
    def kubelet_root(self) -> Path:
        return self.dir / "kubelet"

    def start(self, pki: Pki, server: str, images: Images) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        cgroups.create_root(self.cgroup)
        self._write_cni_config()
        self._start_containerd(images.pause_ref)
        for archive in (images.pause_archive, images.image_archive):
            self.ctr("images", "import", str(archive))
        self._start_kubelet(pki, server)
        self._start_kube_proxy(pki, server)

    def ctr(self, *args: str) -> str:
        """Run ``ctr`` against this node's containerd (namespace k8s.io, the CRI's)."""
        command = ["ctr", "--address", str(self.containerd_socket), "--namespace", "k8s.io"]
        done = subprocess.run([*command, *args], check=True, capture_output=True, text=True)
        return done.stdout

    def _write_cni_config(self) -> None:
        """A bridge with host-local addresses; its state stays in our directory."""
        conf_dir = self.dir / "cni" / "net.d"
        conf_dir.mkdir(parents=True, exist_ok=True)
        network = {
            "cniVersion": "1.0.0",
            "name": "syncline",
            "plugins": [
                {
                    "type": "bridge",
                    "bridge": "cni0",
                    "isGateway": True,
                    "ipMasq": True,
                    "hairpinMode": True,
                    "ipam": {
                        "type": "host-local",
                        "ranges": [[{"subnet": POD_CIDR}]],
                        "routes": [{"dst": "0.0.0.0/0"}],
                        "dataDir": str(self.dir / "cni" / "ipam"),
                    },
                },
                {"type": "portmap", "capabilities": {"portMappings": True}},
            ],
        }
        (conf_dir / "10-syncline.conflist").write_text(json.dumps(network, indent=2))

    def _start_containerd(self, pause_ref: str) -> None:
        base = self.dir / "containerd"
        base.mkdir(parents=True, exist_ok=True)
        config = base / "config.toml"
        config.write_text(_containerd_config(base, self.dir / "cni" / "net.d", pause_ref))
        self.supervisor.launch("containerd", ["containerd", f"--config={config}"], netns=self.netns)

        def answers() -> bool:
            self.supervisor.ensure_running("containerd")
            try:
                self.ctr("version")
            except subprocess.CalledProcessError:
                return False
            return True

        wait_until(answers, START_TIMEOUT, "containerd", interval=0.2)

    def _start_kubelet(self, pki: Pki, server: str) -> None:
        root = self.kubelet_root
        root.mkdir(parents=True, exist_ok=True)
        _bind_rshared(root)
        kubeconfig = write_kubeconfig(
            self.dir / "kubelet.kubeconfig", server, pki.ca.cert, pki.kubelet, "kubelet"
        )
        config = self.dir / "kubelet.yaml"
        config.write_text(yaml.safe_dump(self._kubelet_config(pki)))
        standins = self._kernel_standins()
        binds = "".join(f'mount --bind "{s}" "/proc/sys/{t}"; ' for t, s in standins.items())
        argv = [
            "unshare",
            "--mount",
            "--propagation=unchanged",
            "--",
            "sh",
            "-ec",
            f'{binds}exec "$0" "$@"',
            str(self.bin_dir / "kubelet"),
            f"--config={config}",
            f"--kubeconfig={kubeconfig}",
            f"--root-dir={root}",
            f"--node-ip={NODE_IP}",
            f"--hostname-override={NODE_NAME}",
            "--v=1",
        ]
        self.supervisor.launch("kubelet", argv, netns=self.netns, program="kubelet")

    def _kernel_standins(self) -> dict[str, Path]:
        """Files holding the values the kubelet wants, for each tunable that differs here."""
        directory = self.dir / "sysctl"
        directory.mkdir(exist_ok=True)
        standins = {}
        for tunable, wanted in KERNEL_TUNABLES.items():
            current = Path("/proc/sys", tunable).read_text().strip()
            if current != wanted:
                standin = directory / tunable.replace("/", ".")
                standin.write_text(wanted + "\n")
                standins[tunable] = standin
        return standins

    def _kubelet_config(self, pki: Pki) -> dict[str, Any]:
        return {
            "apiVersion": "kubelet.config.k8s.io/v1beta1",
            "kind": "KubeletConfiguration",
            "containerRuntimeEndpoint": f"unix://{self.containerd_socket}",
            "cgroupDriver": "cgroupfs",
            "cgroupRoot": f"/{self.cgroup}",
            "failCgroupV1": False,
            "failSwapOn": False,
            "protectKernelDefaults": False,
            "address": NODE_IP,
            "healthzBindAddress": "127.0.0.1",
            "readOnlyPort": 0,
            "tlsCertFile": str(pki.kubelet_serving.cert),
            "tlsPrivateKeyFile": str(pki.kubelet_serving.key),
            "authentication": {
                "anonymous": {"enabled": False},
                "webhook": {"enabled": False},
                "x509": {"clientCAFile": str(pki.ca.cert)},
            },
            # Only CA-signed clients reach the kubelet, inside a private namespace.
            "authorization": {"mode": "AlwaysAllow"},
            "podLogsDir": str(self.dir / "pod-logs"),
            "resolvConf": "",
            "serializeImagePulls": False,
            # Images are imported, never pulled: never collect them.
            "imageGCHighThresholdPercent": 100,
            "imageGCLowThresholdPercent": 99,
            "evictionHard": {"memory.available": "100Mi", "nodefs.available": "1%"},
            "nodeStatusReportFrequency": "10s",
            "syncFrequency": "10s",
        }

    def _start_kube_proxy(self, pki: Pki, server: str) -> None:
        kubeconfig = write_kubeconfig(
            self.dir / "proxy.kubeconfig", server, pki.ca.cert, pki.proxy, "kube-proxy"
        )
        argv = [
            str(self.bin_dir / "kube-proxy"),
            f"--kubeconfig={kubeconfig}",
            f"--hostname-override={NODE_NAME}",
            "--proxy-mode=iptables",
            # Pods of one bridge reach each other's Services without br_netfilter.
            "--masquerade-all",
            f"--cluster-cidr={POD_CIDR}",
            # conntrack limits are machine-wide settings: leave the machine's alone.
            "--conntrack-max-per-core=0",
            "--conntrack-tcp-timeout-established=0",
            "--conntrack-tcp-timeout-close-wait=0",
            "--metrics-bind-address=127.0.0.1:10249",
            "--healthz-bind-address=127.0.0.1:10256",
        ]
        self.supervisor.launch("kube-proxy", argv, netns=self.netns)


def _containerd_config(base: Path, cni_conf_dir: Path, pause_ref: str) -> str:
    cri = 'plugins."io.containerd.grpc.v1.cri"'
    return f"""version = 2
root = "{base / "root"}"
state = "{base / "state"}"
disabled_plugins = [
  "io.containerd.internal.v1.opt",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
]

[grpc]
  address = "{base / "containerd.sock"}"

[debug]
  level = "warn"

[{cri}]
  sandbox_image = "{pause_ref}"
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false

[{cri}.containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"

[{cri}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[{cri}.containerd.runtimes.runc.options]
  SystemdCgroup = false
  Root = "{base / "runc"}"

[{cri}.cni]
  bin_dir = "/usr/lib/cni"
  conf_dir = "{cni_conf_dir}"
"""


def _bind_rshared(directory: Path) -> None:
    if not _is_mountpoint(directory):
        subprocess.run(["mount", "--bind", str(directory), str(directory)], check=True)
    subprocess.run(["mount", "--make-rshared", str(directory)], check=True)


def _is_mountpoint(directory: Path) -> bool:
    return str(directory.resolve()) in _mount_points()


def _mount_points() -> list[str]:
    """Mount points of this mount namespace, in mount order (octal escapes decoded)."""
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        raw = line.split()[4]
        points.append(raw.encode().decode("unicode_escape"))
    return points


def teardown(state_dir: Path, cgroup: str) -> None:
    """Leave nothing of a node behind: its containers, shims, mounts and cgroups.

    Called after the supervised processes (containerd, kubelet, kube-proxy) are stopped.
    Containers and their shims outlive containerd, so they are found by cgroup and by
    the containerd address on their command line, and killed.
    """
    node_dir = (state_dir / "node").resolve()
    cgroups.kill_all(cgroup)
    _kill_shims(node_dir / "containerd" / "containerd.sock")
    _unmount_under(node_dir)
    cgroups.remove_root(cgroup)


def _kill_shims(socket: Path) -> None:
    marker = str(socket).encode()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if b"containerd-shim" in cmdline and marker in cmdline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(proc.name), signal.SIGKILL)


def _unmount_under(directory: Path) -> None:
    """Detach every mount at or below directory, deepest (latest) first."""
    libc = ctypes.CDLL(None, use_errno=True)
    prefix = str(directory)
    for _ in range(3):  # a detach can reveal mounts stacked underneath
        points = [p for p in _mount_points() if p == prefix or p.startswith(prefix + "/")]
        if not points:
            return
        for point in reversed(points):
            libc.umount2(point.encode(), MNT_DETACH)
        time.sleep(0.1)

"""The dev cluster's own network namespace: where the node, its pods and its Services live.

The kubelet refuses a loopback node address, and pod and Service addresses must never
be routed off this machine. So every cluster gets a network namespace of its own with
one non-loopback address, ``NODE_IP``, on a veth pair whose both ends stay inside it.
The namespace has no route out: nothing a pod sends can leave it. The host reaches
what runs inside only through the loopback forwarders in ``forward.py``.

Because each cluster has a namespace of its own, the fixed addresses below are the
same in every cluster and never clash; what must be unique per cluster is only the
namespace's name and the host-side loopback ports.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

NODE_IP = "10.213.0.2"
NODE_PREFIX = 24
POD_CIDR = "10.214.0.0/24"
SERVICE_CIDR = "10.0.0.0/24"
NETNS_DIR = Path("/run/netns")
CLONE_NEWNET = 0x40000000
_NODE_LINK, _PEER_LINK = "syncline0", "syncline1"


def namespace_name(state_dir: Path) -> str:
    """A stable, short name per state directory, so two clusters never share one."""
    digest = hashlib.sha256(str(state_dir.resolve()).encode()).hexdigest()[:10]
    return f"syncline-{digest}"


class NetworkNamespace:
    """A named network namespace (``ip netns``) holding one dev cluster."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.path = NETNS_DIR / name

    def exists(self) -> bool:
        return self.path.exists()

    def create(self) -> None:
        """Create the namespace with loopback and the node address up; no route out."""
        self.delete()
        _ip("netns", "add", self.name)
        inside = ["ip", "-n", self.name]
        commands = [
            [*inside, "link", "set", "lo", "up"],
            [*inside, "link", "add", _NODE_LINK, "type", "veth", "peer", "name", _PEER_LINK],
            [*inside, "addr", "add", f"{NODE_IP}/{NODE_PREFIX}", "dev", _NODE_LINK],
            [*inside, "link", "set", _NODE_LINK, "up"],
            [*inside, "link", "set", _PEER_LINK, "up"],
            # Locally started connections to a Service need a route before kube-proxy's
            # OUTPUT rules rewrite them to a pod; nothing leaves the namespace this way.
            [*inside, "route", "add", SERVICE_CIDR, "dev", _NODE_LINK],
        ]
        for command in commands:
            subprocess.run(command, check=True, capture_output=True)
        # Pods reach the node and each other through the netns' own stack.
        self.run("sysctl", "-qw", "net.ipv4.ip_forward=1")

    def delete(self) -> None:
        if self.exists():
            _ip("netns", "delete", self.name)

    def prefix(self) -> list[str]:
        """argv prefix that runs a program inside the namespace.

        ``nsenter --net`` and not ``ip netns exec``: the latter remounts /sys, which
        hides the cgroup hierarchies the kubelet and runc need.
        """
        return ["nsenter", f"--net={self.path}"]

    def run(self, *argv: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([*self.prefix(), *argv], check=True, capture_output=True)

    @contextlib.contextmanager
    def entered(self) -> Iterator[None]:
        """Within the block, sockets this thread creates belong to the namespace."""
        with open(self.path, "rb") as target, open("/proc/self/ns/net", "rb") as home:
            _setns(target.fileno())
            try:
                yield
            finally:
                _setns(home.fileno())


def _setns(fd: int) -> None:
    """setns(2) for the calling thread (Python 3.11 has no os.setns)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"setns: {os.strerror(errno)}")


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)

"""Kubeconfig files for the clients of the local control plane."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from syncline.devcluster.pki import CertPair

CONTEXT = "syncline-dev"


def write_kubeconfig(path: Path, server: str, ca_cert: Path, client: CertPair, user: str) -> Path:
    """Write a single-context kubeconfig that authenticates with a client certificate."""
    config: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": CONTEXT, "cluster": {"server": server, "certificate-authority": str(ca_cert)}}
        ],
        "users": [
            {
                "name": user,
                "user": {
                    "client-certificate": str(client.cert),
                    "client-key": str(client.key),
                },
            }
        ],
        "contexts": [
            {"name": CONTEXT, "context": {"cluster": CONTEXT, "user": user, "namespace": "default"}}
        ],
        "current-context": CONTEXT,
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    path.chmod(0o600)
    return path

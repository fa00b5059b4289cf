"""Which TLS mode a database connection uses when the Connection does not say.

Credentials and rows cross the network in the clear unless TLS is negotiated, and
"prefer" silently falls back to plain text when a server (or someone in the path)
declines it. So any endpoint outside the machine requires TLS by default; a loopback
endpoint (a database beside the engine, a local development server) keeps "prefer",
because nothing there travels over a network. ``spec.options.sslMode`` always wins.
"""

from __future__ import annotations

import ipaddress
from typing import Literal

from syncline.api.connection import ConnectionSpec

SslMode = Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]
ENCRYPTED: frozenset[SslMode] = frozenset({"require", "verify-ca", "verify-full"})


def is_loopback(host: str | None) -> bool:
    """True for ``localhost``, 127.0.0.0/8, ::1 and Unix-socket directories."""
    if not host or host.startswith("/"):
        return True
    name = host.strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def ssl_mode(spec: ConnectionSpec) -> SslMode:
    """The mode to connect with: the spec's, else require off-machine, prefer on it."""
    if spec.options.ssl_mode is not None:
        return spec.options.ssl_mode
    return "prefer" if is_loopback(spec.endpoint.host) else "require"

"""Forwarding: records the syslog receiver has not had yet, sent in order, none lost.

The log in the cluster is the source of truth; syslog is a copy outside it. The forwarder
(the operator's housekeeping loop) remembers the last delivered seq in
``syncline-audit-state`` and sends everything after it. When the receiver is down,
nothing is dropped: the position stays, the failure is kept as 2702 in the state (and
reported by the caller as an Event and a metric), and the next tick catches up. Delivery
is at-least-once: a failure mid-batch may resend records, which carry their seq.
"""

from __future__ import annotations

import logging
import socket
import ssl
from dataclasses import dataclass

from kubernetes import client

from syncline.audit import get_config
from syncline.audit.chain import AuditRecord
from syncline.audit.state import read_state, update_state
from syncline.audit.store import read_files, system_namespace
from syncline.audit.syslog import send
from syncline.errors import SynclineError

log = logging.getLogger(__name__)

FORWARDED_KEY = "forwarded-seq"
ERROR_KEY = "forwarding-error"
BATCH = 500


@dataclass(frozen=True, slots=True)
class ForwardResult:
    sent: int
    forwarded_seq: int
    error: SynclineError | None = None


def forward_pending(
    api: client.ApiClient, *, namespace: str | None = None, hostname: str | None = None
) -> ForwardResult:
    """Send every record after the last delivered one; 2702 in ``error`` on failure.

    Without a syslog target (or with it disabled) nothing is sent and nothing moves: a
    target configured later receives the log from where forwarding stopped.
    """
    ns = system_namespace(namespace)
    target = get_config(api, namespace=ns).syslog
    state = read_state(api, ns)
    done = int(state.get(FORWARDED_KEY) or 0)
    if target is None or not target.enabled:
        return ForwardResult(0, done)
    pending = _records_after(api, ns, done)[:BATCH]
    if not pending:
        return ForwardResult(0, done)
    try:
        sent = send(target, pending, hostname or socket.gethostname())
    except (OSError, ssl.SSLError) as err:
        error = SynclineError("SyslogForwardingFailed", target=target.address)
        log.warning("%s (%s)", error, type(err).__name__)
        update_state(api, ns, lambda _s: {ERROR_KEY: str(error)})
        return ForwardResult(0, done, error)
    last = pending[sent - 1].seq
    update_state(api, ns, lambda s: _advance(s, last))
    return ForwardResult(sent, last)


def _advance(state: dict[str, str], last: int) -> dict[str, str] | None:
    current = int(state.get(FORWARDED_KEY) or 0)
    return {FORWARDED_KEY: str(max(current, last)), ERROR_KEY: ""}


def _records_after(api: client.ApiClient, namespace: str, done: int) -> list[AuditRecord]:
    records: list[AuditRecord] = []
    for audit_file in read_files(api, namespace):
        if audit_file.records and audit_file.last.seq <= done:
            continue
        records.extend(r for r in audit_file.records if r.seq > done)
    return records

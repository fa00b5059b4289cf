"""Forwarding to a real rsyslogd over TLS: every record arrives once verified against the
configured CA, a wrong CA or a receiver that is down loses nothing."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from kubernetes import client

from syncline import audit
from syncline.audit.chain import AuditRecord, verify_chain
from syncline.audit.forwarding import forward_pending
from syncline.audit.state import read_state
from syncline.devcluster.pki import database_server_pair
from tests.fixtures.syslog import SyslogServer

pytestmark = pytest.mark.integration

CANARY = "canary-Zq8v3KpL-secret"


def _configure(api: client.ApiClient, namespace: str, address: str, ca_pem: str) -> None:
    audit.set_config(api, {"syslog": {"address": address, "caPem": ca_pem}}, namespace=namespace)


def _append(api: client.ApiClient, namespace: str, n: int) -> None:
    for i in range(n):
        audit.append(
            api,
            "alice",
            "connection.update",
            f"connections/sales/c{i}",
            details={"password": CANARY, "note": f"rotated {CANARY}"},
            secrets=[CANARY],
            namespace=namespace,
        )


def test_records_arrive_at_rsyslog_over_tls_and_verify_there(
    kube_api: client.ApiClient, namespace: str, syslog_server: SyslogServer
) -> None:
    _configure(kube_api, namespace, syslog_server.address, syslog_server.ca_pem)
    _append(kube_api, namespace, 5)
    result = forward_pending(kube_api, namespace=namespace)
    assert (result.sent, result.forwarded_seq, result.error) == (5, 5, None)
    _append(kube_api, namespace, 2)
    assert forward_pending(kube_api, namespace=namespace).sent == 2  # only what is new
    received = syslog_server.wait_for_records(7)
    assert [r["seq"] for r in received] == list(range(1, 8))
    # The copy outside the cluster verifies on its own (hashes and links).
    chain = [AuditRecord.from_json(r) for r in received]
    assert verify_chain(chain, [], b"unused").ok
    assert CANARY not in syslog_server.received.read_text()
    assert all(line.startswith("<109>1 ") for line in syslog_server.lines())


def test_a_receiver_that_cannot_be_verified_loses_nothing(
    kube_api: client.ApiClient, namespace: str, syslog_server: SyslogServer
) -> None:
    with tempfile.TemporaryDirectory() as other:
        wrong_ca = database_server_pair(Path(other)).cert.read_text()
    _configure(kube_api, namespace, syslog_server.address, wrong_ca)
    _append(kube_api, namespace, 3)
    result = forward_pending(kube_api, namespace=namespace)
    assert result.error is not None
    assert (result.error.code, result.sent, result.forwarded_seq) == (2702, 0, 0)
    state = read_state(kube_api, namespace)
    assert state["forwarding-error"].startswith("2702 SyslogForwardingFailed")
    assert syslog_server.records() == []
    assert audit.verify(kube_api, namespace=namespace).records_checked == 3  # all still here

    _configure(kube_api, namespace, syslog_server.address, syslog_server.ca_pem)
    _append(kube_api, namespace, 1)
    assert forward_pending(kube_api, namespace=namespace).sent == 4  # caught up, in order
    assert [r["seq"] for r in syslog_server.wait_for_records(4)] == [1, 2, 3, 4]
    assert read_state(kube_api, namespace)["forwarding-error"] == ""
    assert json.loads(syslog_server.lines()[0][syslog_server.lines()[0].index("] {") + 2 :])


def test_a_receiver_that_is_down_is_caught_up_later(
    kube_api: client.ApiClient, namespace: str, syslog_server: SyslogServer
) -> None:
    from syncline.devcluster.databases import free_port

    _configure(kube_api, namespace, f"127.0.0.1:{free_port()}", syslog_server.ca_pem)
    _append(kube_api, namespace, 2)
    assert forward_pending(kube_api, namespace=namespace).error is not None
    _configure(kube_api, namespace, syslog_server.address, syslog_server.ca_pem)
    assert forward_pending(kube_api, namespace=namespace).sent == 2
    assert len(syslog_server.wait_for_records(2)) == 2

"""The operator's audit trail on a real API server: records from many handler threads at
once are group-committed (one ConfigMap write per batch), in order, none lost."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from kubernetes import client

from syncline import audit
from syncline.audit import store
from syncline.controllers import audit_trail

pytestmark = pytest.mark.integration

HANDLERS = 30


@pytest.fixture
def trail(
    kube_api: client.ApiClient, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> client.ApiClient:
    """audit_trail writing to the test namespace as a known actor."""
    monkeypatch.setenv("SYNCLINE_SYSTEM_NAMESPACE", namespace)
    monkeypatch.setattr(audit_trail.kube, "api_client", lambda: kube_api)
    monkeypatch.setattr(audit_trail, "operator_identity", lambda _api: "system:operator")
    return kube_api


def test_records_of_concurrent_handlers_share_writes_and_all_land(
    trail: client.ApiClient, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    audit.append(trail, "alice", "warm.up", "x", namespace=namespace)  # key + first file
    writes: list[int] = []
    first_write_may_go = threading.Event()
    real = store.replace_file

    def held(api: client.ApiClient, ns: str, audit_file: Any) -> bool:
        """The first write waits until every handler has queued its record."""
        writes.append(len(audit_file.records))
        if len(writes) == 1:
            first_write_may_go.wait(30)
        return real(api, ns, audit_file)

    monkeypatch.setattr(store, "replace_file", held)
    handlers = [
        threading.Thread(target=audit_trail.record, args=("cronjob.create", f"cronjobs/{i}"))
        for i in range(HANDLERS)
    ]
    handlers[0].start()
    while not writes:  # the writer took the first record and is now held in its write
        threading.Event().wait(0.01)
    for handler in handlers[1:]:
        handler.start()
    while audit_trail._queue.qsize() < HANDLERS - 1:
        threading.Event().wait(0.01)
    first_write_may_go.set()
    for handler in handlers:
        handler.join(60)
    assert not any(h.is_alive() for h in handlers)  # every record() returned: written

    assert len(writes) == 2  # the first record alone, then everyone who queued meanwhile
    records = audit.read_file(trail, store.file_name(1), namespace=namespace).records
    targets = [r.target for r in records[1:]]
    assert sorted(targets) == sorted(f"cronjobs/{i}" for i in range(HANDLERS))
    assert targets[0] == "cronjobs/0"
    assert {r.actor for r in records[1:]} == {"system:operator"}
    assert audit.verify(trail, namespace=namespace).ok


def test_a_failed_batch_is_logged_and_does_not_stop_the_writer(
    trail: client.ApiClient, namespace: str, caplog: pytest.LogCaptureFixture
) -> None:
    """No audit namespace (a cluster without it): the handler goes on, the next works."""
    audit_trail._last_warning[0] = -1e9
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SYNCLINE_SYSTEM_NAMESPACE", f"{namespace}-missing")
        audit_trail.record("cronjob.create", "cronjobs/lost")
    assert "audit record cronjob.create cronjobs/lost not written" in caplog.text
    audit_trail.record("cronjob.create", "cronjobs/kept")
    records = audit.read_file(trail, store.file_name(1), namespace=namespace).records
    assert [r.target for r in records] == ["cronjobs/kept"]

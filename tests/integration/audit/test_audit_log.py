"""The audit log in a real cluster: ConfigMaps under optimistic concurrency, real 409s.

Tampering is done the way an attacker with ConfigMap rights would: by rewriting the
stored file through the API server. Verification must then fail and name the record.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from syncline import audit
from syncline.audit import store
from syncline.audit.chain import build_record
from syncline.audit.files import file_name

pytestmark = pytest.mark.integration

CANARY = "canary-Zq8v3KpL-secret"


def _append(api: client.ApiClient, namespace: str, n: int, actor: str = "alice") -> None:
    for i in range(n):
        audit.append(
            api,
            actor,
            "project.run",
            f"integrationprojects/sales/p{i}",
            details={"index": i},
            namespace=namespace,
        )


def _rewrite(
    api: client.ApiClient, namespace: str, name: str, edit: Callable[[list[str]], list[str]]
) -> None:
    """Rewrite one file's records.jsonl as someone with ConfigMap update rights could."""
    core = client.CoreV1Api(api)
    configmap = core.read_namespaced_config_map(name, namespace)
    lines = configmap.data["records.jsonl"].splitlines()
    configmap.data["records.jsonl"] = "\n".join(edit(lines)) + "\n"
    core.replace_namespaced_config_map(name, namespace, configmap)


def test_an_untouched_log_verifies_across_files(kube_api: client.ApiClient, namespace: str) -> None:
    audit.set_config(kube_api, {"maxRecordsPerFile": 10, "checkpointEvery": 4}, namespace=namespace)
    _append(kube_api, namespace, 25)
    files = audit.list_files(kube_api, namespace=namespace)
    assert [f["records"] for f in files] == [10, 10, 5]
    assert [f["sealed"] for f in files] == [True, True, False]
    verdict = audit.verify(kube_api, namespace=namespace)
    assert verdict.ok, verdict
    assert (verdict.records_checked, verdict.files_checked) == (25, 3)
    assert verdict.checkpoints_checked >= 6
    shown = audit.read_file(kube_api, files[1]["name"], namespace=namespace).to_json()
    assert shown["anchor"]["seq"] == 10
    assert [r["seq"] for r in shown["records"]] == list(range(11, 21))


def _edit_actor(lines: list[str]) -> list[str]:
    record = json.loads(lines[4])
    record["actor"] = "mallory"
    lines[4] = json.dumps(record)
    return lines


def _edit_with_recomputed_hash(lines: list[str]) -> list[str]:
    record = json.loads(lines[4])
    record["result"] = "Success"
    record["target"] = "integrationprojects/sales/innocent"
    del record["hash"]
    lines[4] = json.dumps(build_record(**record).to_json())
    return lines


def _delete(lines: list[str]) -> list[str]:
    del lines[4]
    return lines


def _swap(lines: list[str]) -> list[str]:
    lines[4], lines[5] = lines[5], lines[4]
    return lines


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (_edit_actor, "altered"),
        (_edit_with_recomputed_hash, "altered"),
        (_delete, "removed"),
        (_swap, "out of order"),
    ],
    ids=["edited", "edited-rehashed", "deleted", "reordered"],
)
def test_tampering_with_one_record_is_named(
    kube_api: client.ApiClient, namespace: str, edit: Callable[[list[str]], list[str]], reason: str
) -> None:
    _append(kube_api, namespace, 8)
    _rewrite(kube_api, namespace, file_name(1), edit)
    verdict = audit.verify(kube_api, namespace=namespace)
    assert not verdict.ok
    assert verdict.first_bad_seq == 5, verdict
    assert reason in verdict.reason


def test_a_tampered_checkpoint_fails(kube_api: client.ApiClient, namespace: str) -> None:
    audit.set_config(kube_api, {"checkpointEvery": 3}, namespace=namespace)
    _append(kube_api, namespace, 7)
    core = client.CoreV1Api(kube_api)
    configmap = core.read_namespaced_config_map(file_name(1), namespace)
    checkpoints = [json.loads(line) for line in configmap.data["checkpoints.jsonl"].splitlines()]
    checkpoints[1]["time"] = "2020-01-01T00:00:00.000000Z"
    configmap.data["checkpoints.jsonl"] = "".join(json.dumps(c) + "\n" for c in checkpoints)
    core.replace_namespaced_config_map(file_name(1), namespace, configmap)
    verdict = audit.verify(kube_api, namespace=namespace)
    assert (verdict.ok, verdict.first_bad_seq) == (False, 6)
    assert "signature" in verdict.reason


WRITER = """
import sys
from syncline import audit
from syncline.kube.client import api_client
api = api_client()
for i in range(int(sys.argv[2])):
    audit.append(api, "bob", "connection.refresh", f"connections/x/c{i}", namespace=sys.argv[1])
"""


def test_two_concurrent_writers_never_fork_the_chain(
    kube_api: client.ApiClient, namespace: str, kubeconfig_path: Path
) -> None:
    """Another process (as the API would be) appends while this one (the operator) does."""
    audit.set_config(kube_api, {"maxRecordsPerFile": 25}, namespace=namespace)
    audit.append(kube_api, "alice", "warm.up", "x", namespace=namespace)  # key + first file
    other = subprocess.Popen(
        [sys.executable, "-c", WRITER, namespace, "40"],
        env={**os.environ, "KUBECONFIG": str(kubeconfig_path)},
    )
    _append(kube_api, namespace, 40)
    assert other.wait(timeout=240) == 0
    records = [
        r
        for f in audit.list_files(kube_api, namespace=namespace)
        for r in audit.read_file(kube_api, f["name"], namespace=namespace).records
    ]
    assert [r.seq for r in records] == list(range(1, 82))
    assert len({r.prev_hash for r in records}) == 81  # nobody shares a predecessor
    assert {r.actor for r in records} == {"alice", "bob"}
    assert audit.verify(kube_api, namespace=namespace).ok


def test_retention_deletes_old_files_and_the_rest_still_verifies(
    kube_api: client.ApiClient, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    audit.set_config(kube_api, {"maxRecordsPerFile": 10, "retentionDays": 30}, namespace=namespace)
    monkeypatch.setattr(store, "now_rfc3339", lambda: "2020-01-01T00:00:00.000000Z")
    _append(kube_api, namespace, 20)  # two full files, from long ago
    monkeypatch.undo()
    _append(kube_api, namespace, 3)
    deleted = audit.rotate(kube_api, namespace=namespace)
    assert deleted == [file_name(1), file_name(2)]
    names = [f["name"] for f in audit.list_files(kube_api, namespace=namespace)]
    assert names == [file_name(3), file_name(4)]  # 3 was sealed by the rotation
    assert audit.verify(kube_api, namespace=namespace).ok
    _append(kube_api, namespace, 2)
    assert audit.verify(kube_api, namespace=namespace).ok
    # Deleting a file by hand (no key to move the anchor) is caught.
    client.CoreV1Api(kube_api).delete_namespaced_config_map(file_name(3), namespace)
    verdict = audit.verify(kube_api, namespace=namespace)
    assert (verdict.ok, verdict.first_bad_seq) == (False, 21)


def test_no_secret_value_is_stored(kube_api: client.ApiClient, namespace: str) -> None:
    details: dict[str, Any] = {
        "spec": {"credentials": {"secretRef": {"name": "db"}}},
        "password": CANARY,
        "error": f"could not connect with password {CANARY}",
    }
    record = audit.append(
        kube_api,
        "alice",
        "connection.create",
        "connections/sales/crm",
        details=details,
        secrets=[CANARY],
        namespace=namespace,
    )
    assert record.details["spec"] == {"credentials": {"secretRef": {"name": "db"}}}
    stored = client.CoreV1Api(kube_api).read_namespaced_config_map(file_name(1), namespace)
    assert CANARY not in json.dumps(stored.data)
    assert audit.verify(kube_api, namespace=namespace).ok


def test_a_bad_configuration_is_refused_with_its_code(
    kube_api: client.ApiClient, namespace: str
) -> None:
    from syncline.errors import SynclineError

    with pytest.raises(SynclineError) as err:
        audit.set_config(kube_api, {"retentionDays": 0}, namespace=namespace)
    assert err.value.code == 2703
    with pytest.raises(SynclineError) as err:
        audit.read_file(kube_api, "syncline-audit-00000099", namespace=namespace)
    assert err.value.code == 2704
    assert audit.get_config(kube_api, namespace=namespace).retention_days == 365


def _cli(kubeconfig: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).with_name("syncline")), *args],
        env={**os.environ, "KUBECONFIG": str(kubeconfig)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_cli_shows_configures_and_verifies(
    kube_api: client.ApiClient, namespace: str, kubeconfig_path: Path, tmp_path: Path
) -> None:
    where = ("--system-namespace", namespace)
    wanted = tmp_path / "audit.json"
    wanted.write_text(json.dumps({"retentionDays": 90, "maxRecordsPerFile": 50}))
    configured = _cli(kubeconfig_path, "audit", "config", "--set", str(wanted), *where)
    assert configured.returncode == 0, configured.stderr
    assert json.loads(configured.stdout)["retentionDays"] == 90
    _append(kube_api, namespace, 7)
    listed = _cli(kubeconfig_path, "audit", "files", *where).stdout
    assert file_name(1) in listed
    assert "1-8" in listed  # the configuration change is record 1, by the CLI's user
    shown = json.loads(_cli(kubeconfig_path, "audit", "show", file_name(1), *where).stdout)
    assert shown["records"][0]["action"] == "audit.config.set"
    assert shown["records"][0]["actor"]
    assert _cli(kubeconfig_path, "audit", "verify", *where).returncode == 0

    _rewrite(kube_api, namespace, file_name(1), _delete)
    broken = _cli(kubeconfig_path, "audit", "verify", *where)
    assert broken.returncode == 1
    assert broken.stdout.startswith("2700 AuditChainBroken: record 5: record 5 was removed")
    invalid = tmp_path / "bad.json"
    invalid.write_text(json.dumps({"checkpointEvery": 0}))
    refused = _cli(kubeconfig_path, "audit", "config", "--set", str(invalid), *where)
    assert refused.returncode == 2
    assert "2703 AuditConfigInvalid" in refused.stderr


def _count_writes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the audit files written from now on (the real writes still happen)."""
    writes: list[str] = []
    real = store.replace_file

    def counted(api: client.ApiClient, namespace: str, audit_file: Any) -> bool:
        writes.append(audit_file.name)
        return real(api, namespace, audit_file)

    monkeypatch.setattr(store, "replace_file", counted)
    return writes


def test_a_batch_lands_in_order_in_one_write_per_file(
    kube_api: client.ApiClient, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    audit.set_config(kube_api, {"maxRecordsPerFile": 10, "checkpointEvery": 4}, namespace=namespace)
    _append(kube_api, namespace, 3)
    writes = _count_writes(monkeypatch)
    entries = [audit.Entry("op", "cronjob.create", f"cronjobs/sales/c{i}") for i in range(22)]
    records = audit.append_many(kube_api, entries, namespace=namespace)
    assert [r.seq for r in records] == list(range(4, 26))
    assert writes == [file_name(1), file_name(2), file_name(3)]  # filled, filled, the rest
    files = audit.list_files(kube_api, namespace=namespace)
    assert [(f["records"], f["sealed"]) for f in files] == [(10, True), (10, True), (5, False)]
    stored = [
        r.target
        for f in files
        for r in audit.read_file(kube_api, f["name"], namespace=namespace).records
    ]
    assert stored[3:] == [e.target for e in entries]
    verdict = audit.verify(kube_api, namespace=namespace)
    assert verdict.ok, verdict
    assert verdict.checkpoints_checked >= 6


def test_a_stale_cached_file_costs_a_retry_not_a_fork(
    kube_api: client.ApiClient, namespace: str, kubeconfig_path: Path
) -> None:
    """This process caches the newest file; another writer appends behind its back."""
    _append(kube_api, namespace, 2)
    other = subprocess.run(
        [sys.executable, "-c", WRITER, namespace, "3"],
        env={**os.environ, "KUBECONFIG": str(kubeconfig_path)},
        check=False,
    )
    assert other.returncode == 0
    record = audit.append(kube_api, "alice", "after.other", "x", namespace=namespace)
    assert record.seq == 6
    records = audit.read_file(kube_api, file_name(1), namespace=namespace).records
    assert [r.actor for r in records] == ["alice"] * 2 + ["bob"] * 3 + ["alice"]
    assert audit.verify(kube_api, namespace=namespace).ok

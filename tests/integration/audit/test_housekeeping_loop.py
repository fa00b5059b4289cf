"""One tick of the operator's housekeeping loop against the real API server and rsyslogd:
the scheduled verification warns about a tampered log, forwarding reaches syslog over TLS
and reports a receiver it cannot verify, all as Events a user sees with kubectl."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from kubernetes import client

from syncline import audit
from syncline.audit.files import file_name
from syncline.controllers.housekeeping import Housekeeper
from syncline.housekeeping import list_builtin_schedules, set_builtin_schedule
from tests.fixtures.syslog import SyslogServer

pytestmark = pytest.mark.integration
NEVER_SOON = "0 0 1 1 *"


def _keeper(api: client.ApiClient, namespace: str, due: str) -> Housekeeper:
    for schedule in list_builtin_schedules(api, namespace=namespace):
        cron = "* * * * *" if schedule.name == due else NEVER_SOON
        set_builtin_schedule(api, schedule.name, cron, namespace=namespace)
    return Housekeeper(api, namespace, datetime.now(UTC) - timedelta(minutes=1))


def _warnings(api: client.ApiClient, namespace: str) -> dict[str, str]:
    events = client.CoreV1Api(api).list_namespaced_event(namespace).items
    return {e.reason: e.message for e in events if e.type == "Warning"}


def test_scheduled_verification_signs_an_intact_log_and_warns_about_a_tampered_one(
    kube_api: client.ApiClient, namespace: str
) -> None:
    for i in range(5):
        audit.append(kube_api, "alice", "project.run", f"p{i}", namespace=namespace)
    keeper = _keeper(kube_api, namespace, "audit-verification")
    keeper.tick(datetime.now(UTC))
    newest = audit.read_file(kube_api, file_name(1), namespace=namespace)
    assert newest.checkpoints[-1].seq == 5  # signed up to here by the verification
    assert _warnings(kube_api, namespace) == {}

    core = client.CoreV1Api(kube_api)
    configmap = core.read_namespaced_config_map(file_name(1), namespace)
    lines = configmap.data["records.jsonl"].splitlines()
    record = json.loads(lines[1])
    record["actor"] = "mallory"
    lines[1] = json.dumps(record)
    configmap.data["records.jsonl"] = "\n".join(lines) + "\n"
    core.replace_namespaced_config_map(file_name(1), namespace, configmap)
    keeper.since = datetime.now(UTC) - timedelta(minutes=1)
    keeper.tick(datetime.now(UTC))
    warning = _warnings(kube_api, namespace)["AuditChainBroken"]
    assert warning.startswith("2700 AuditChainBroken: Audit record 2 ")
    last_run = list_builtin_schedules(kube_api, namespace=namespace)[3]
    assert (last_run.name, last_run.last_run_time is not None) == ("audit-verification", True)


def test_the_loop_forwards_to_syslog_and_warns_once_when_it_cannot(
    kube_api: client.ApiClient, namespace: str, syslog_server: SyslogServer
) -> None:
    config = {"syslog": {"address": syslog_server.address, "caPem": syslog_server.ca_pem}}
    audit.set_config(kube_api, config, namespace=namespace)
    keeper = _keeper(kube_api, namespace, "none")
    audit.append(kube_api, "alice", "schedule.set", "builtinschedules/x", namespace=namespace)
    keeper.tick(datetime.now(UTC))
    assert [r["seq"] for r in syslog_server.wait_for_records(1)] == [1]

    syslog_server.process.terminate()
    syslog_server.process.wait(timeout=10)
    audit.append(kube_api, "alice", "schedule.set", "builtinschedules/y", namespace=namespace)
    keeper.tick(datetime.now(UTC))
    keeper.tick(datetime.now(UTC))
    warning = _warnings(kube_api, namespace)["SyslogForwardingFailed"]
    expected = f"2702 SyslogForwardingFailed: Could not forward audit to {syslog_server.address}."
    assert warning == expected
    events = client.CoreV1Api(kube_api).list_namespaced_event(namespace).items
    assert sum(e.reason == "SyslogForwardingFailed" for e in events) == 1  # not every tick

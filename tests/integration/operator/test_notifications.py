"""Notifications through the real operator: a real SMTP server, real webhook receivers.

Runs are finished the way the engine finishes them (RunRecord), without a pod, so each
test chooses its results; the operator folds them into the project and notifies.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from kubernetes import client

from syncline.api.run import IntegrationRunStatus, RunResult, TaskResult, Trigger
from syncline.devcluster.databases import DatabaseAccess, free_port
from syncline.errors import SynclineError
from syncline.kube.runrecord import RunRecord
from tests.fixtures.notifications import SMTP_PASSWORD, SMTP_USER, MailServer, Receiver
from tests.integration.operator.conftest import CANARY, make_world, project_spec
from tests.integration.operator.harness import Cluster, OperatorProcess, wait_for
from tests.support.notification_schemas import schema_errors

pytestmark = pytest.mark.integration
SENDER = "Syncline <syncline@example.com>"
PROJECTS = "integrationprojects"


class Runs:
    """Finished runs of one project, one after the other, each folded before the next."""

    def __init__(self, api: client.ApiClient, cluster: Cluster, project: str) -> None:
        self.api, self.cluster, self.project = api, cluster, project
        self.uid = cluster.get(PROJECTS, project)["metadata"]["uid"]
        self.count = 0
        self.start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)

    def finish(self, result: RunResult) -> str:
        self.count += 1
        name = f"{self.project}-{self.count}"
        record = RunRecord(self.api, self.cluster.namespace, name, self.project, Trigger.SCHEDULE)
        record.ensure(self.uid, name)
        record.started()
        started = self.start + timedelta(minutes=15 * self.count)
        status = IntegrationRunStatus(
            result=result,
            start_time=started,
            completion_time=started + timedelta(seconds=12),
            duration_seconds=12.0,
            read=3,
            inserted=3 if result is not RunResult.ERROR else 0,
            upserts=3 if result is not RunResult.ERROR else 0,
        )
        if result is RunResult.ERROR:
            # Engine messages are scrubbed already; this one is not, to prove the
            # operator scrubs what it sends with the Connection's own Secret.
            error = SynclineError(
                "ConnectionUnreachable",
                endpoint="crm-db:5432/crm",
                detail=f"FATAL: password authentication failed (tried {CANARY})",
            )
            status.error_code, status.message = error.code, str(error)
            status.tasks = [TaskResult(name="customers", result=result, error=str(error))]
        record.finished(status)
        wait_for(lambda: self.last_run() == name, 60, f"{name} to be folded into {self.project}")
        return name

    def last_run(self) -> str | None:
        status = self.cluster.get(PROJECTS, self.project).get("status") or {}
        return (status.get("lastRun") or {}).get("name")


def settled(cluster: Cluster, run: str, count: int, timeout: float = 60) -> list[dict[str, Any]]:
    """The run's notification records once there are ``count`` and none is Pending."""

    def check() -> list[dict[str, Any]] | None:
        status = cluster.get("integrationruns", run).get("status") or {}
        records = status.get("notifications") or []
        done = len(records) == count and all(r["result"] != "Pending" for r in records)
        return records if done else None

    return wait_for(check, timeout, f"{count} settled notification records on {run}")


def notification_state(cluster: Cluster) -> dict[str, Any]:
    status = cluster.get(PROJECTS, "sync").get("status") or {}
    state: dict[str, Any] = status.get("notifications") or {}
    return state


def by_name(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in records}


def warning_events(cluster: Cluster, reason: str, about: str) -> list[dict[str, Any]]:
    return [
        e
        for e in cluster.events()
        if e["reason"] == reason
        and e["type"] == "Warning"
        and e["involvedObject"].get("name") == about
    ]


def manual(**extra: Any) -> dict[str, Any]:
    """A project without a schedule: no CronJob run can interleave with the test's runs."""
    spec = project_spec(**extra)
    del spec["schedule"]
    return spec


def test_email_goes_once_per_change_to_every_address_of_a_group_then_reminds_and_recovers(
    cluster: Cluster,
    warehouse: DatabaseAccess,
    start_operator: Callable[..., OperatorProcess],
    smtp_server: MailServer,
    kube_api: client.ApiClient,
) -> None:
    cluster.secret("smtp-login", {"username": SMTP_USER, "password": SMTP_PASSWORD})
    env = {
        "SYNCLINE_SMTP_URL": smtp_server.url,
        "SYNCLINE_SMTP_FROM": SENDER,
        "SYNCLINE_SMTP_SECRET": f"{cluster.namespace}/smtp-login",
        "SYNCLINE_SMTP_CA_FILE": str(smtp_server.ca_file),
    }
    operator = start_operator(**env)
    make_world(cluster, warehouse)
    group = "ops@example.com, data-team@example.com"
    email = {"to": [group, "dana@example.org", "OPS@example.com"], "remindEvery": 3}
    cluster.create(PROJECTS, "sync", manual(notifications={"email": email}), "IntegrationProject")
    ready = cluster.wait_ready(PROJECTS, "sync")
    assert "EmailNotConfigured" not in ready["message"]
    runs, inbox = Runs(kube_api, cluster, "sync"), smtp_server.inbox

    runs.finish(RunResult.COMPLETED)  # Completed is not among the default outcomes
    failed = runs.finish(RunResult.ERROR)
    [record] = settled(cluster, failed, 1)
    assert (record["channel"], record["result"], record["attempts"]) == ("email", "Sent", 1)
    assert record["message"] == f"accepted by {smtp_server.url} for 3 recipients"
    [mail] = inbox.wait_for(1)
    assert sorted(mail.recipients) == [
        "dana@example.org",
        "data-team@example.com",
        "ops@example.com",
    ]
    assert (mail.tls, mail.authenticated, mail.sender) == (True, True, "syncline@example.com")
    assert mail.message["Subject"] == f"[Syncline] {cluster.namespace}/sync: Error (run {failed})"
    text = mail.text
    assert "2000 ConnectionUnreachable (task customers)" in text
    assert f"syncline runs logs {failed} -n {cluster.namespace}" in text
    assert f"kubectl get integrationrun {failed} -n {cluster.namespace}" in text
    assert CANARY not in mail.message.as_string()
    assert "***" in text  # the canary, scrubbed with the Connection's Secret

    for _ in range(2):  # the 2nd and 3rd failures in a row: nobody is mailed
        quiet = runs.finish(RunResult.ERROR)
        [skipped] = settled(cluster, quiet, 1)
        assert skipped["result"] == "Skipped"
        assert "next reminder at run 4 in a row" in skipped["message"]
    reminder = runs.finish(RunResult.ERROR)  # the 4th: remindEvery 3 since the first mail
    assert settled(cluster, reminder, 1)[0]["result"] == "Sent"
    assert "still Error (4 runs in a row)" in inbox.wait_for(2)[1].message["Subject"]
    recovered = runs.finish(RunResult.COMPLETED)
    assert settled(cluster, recovered, 1)[0]["result"] == "Sent"
    assert inbox.wait_for(3)[2].message["Subject"].endswith(f"sync: Recovered (run {recovered})")
    last = cluster.get("integrationprojects", "sync")["status"]["lastRun"]
    assert (last["name"], last["result"], "errorCode" in last) == (recovered, "Completed", False)

    # A restarted operator replays every run: none is mailed again.
    operator.stop()
    start_operator(**env)
    again = runs.finish(RunResult.ERROR)
    assert settled(cluster, again, 1)[0]["result"] == "Sent"
    mails = inbox.wait_for(4)
    assert [m.message["X-Syncline-Run"] for m in mails] == [failed, reminder, recovered, again]
    state = wait_for(  # remembered on the project right after the run's record
        lambda: (found := notification_state(cluster)).get("lastSentRun") == again and found,
        30,
        "the project to remember the last notified run",
    )
    assert (state["run"], state["outcome"], state["consecutiveRuns"]) == (again, "Error", 1)
    assert len(inbox.mails) == 4
    for run in (failed, reminder, recovered, again):
        assert SMTP_PASSWORD not in str(cluster.get("integrationruns", run)["status"])
    assert SMTP_PASSWORD not in operator.text()


def test_smtp_down_leaves_the_run_alone_and_a_warning_event_and_a_metric_say_so(
    cluster: Cluster,
    warehouse: DatabaseAccess,
    start_operator: Callable[..., OperatorProcess],
    kube_api: client.ApiClient,
) -> None:
    nobody, metrics = free_port(), free_port()
    start_operator(
        SYNCLINE_SMTP_URL=f"smtp://127.0.0.1:{nobody}",
        SYNCLINE_SMTP_FROM=SENDER,
        SYNCLINE_NOTIFICATION_ATTEMPTS="3",
        SYNCLINE_NOTIFICATION_BACKOFF_SECONDS="0.2",
        SYNCLINE_METRICS_ADDRESS=f"127.0.0.1:{metrics}",
    )
    make_world(cluster, warehouse)
    email = {"to": ["ops@example.com"]}
    cluster.create(PROJECTS, "sync", manual(notifications={"email": email}), "IntegrationProject")
    cluster.wait_ready(PROJECTS, "sync")
    failed = Runs(kube_api, cluster, "sync").finish(RunResult.ERROR)

    [record] = settled(cluster, failed, 1)
    assert (record["result"], record["attempts"], record["code"]) == ("Failed", 3, 2600)
    assert record["message"].startswith("2600 NotificationFailed: Notification email failed:")
    assert f"cannot reach smtp://127.0.0.1:{nobody}" in record["message"]
    run = cluster.get("integrationruns", failed)["status"]
    assert (run["result"], run["errorCode"]) == ("Error", 2000)
    assert cluster.get(PROJECTS, "sync")["status"]["lastRun"]["result"] == "Error"
    events = wait_for(
        lambda: warning_events(cluster, "NotificationFailed", "sync"), 30, "a Warning Event"
    )
    assert f"(run {failed})" in events[0]["message"]
    scrape = urllib.request.urlopen(f"http://127.0.0.1:{metrics}/metrics", timeout=5)
    exposition = scrape.read().decode()
    assert 'syncline_notifications_total{channel="email",result="Failed"} 1.0' in exposition


def test_email_without_an_smtp_server_is_said_not_silently_dropped(
    cluster: Cluster,
    warehouse: DatabaseAccess,
    start_operator: Callable[..., OperatorProcess],
    kube_api: client.ApiClient,
) -> None:
    start_operator()  # no SYNCLINE_SMTP_URL
    make_world(cluster, warehouse)
    email = {"to": ["ops@example.com, nope@"]}
    cluster.create(PROJECTS, "sync", manual(notifications={"email": email}), "IntegrationProject")
    ready = cluster.wait_ready(PROJECTS, "sync")  # data still moves
    assert "2602 EmailNotConfigured" in ready["message"]
    assert "SYNCLINE_SMTP_URL is not set" in ready["message"]
    assert "2601 InvalidRecipient: 'nope@'" in ready["message"]
    wait_for(lambda: warning_events(cluster, "EmailNotConfigured", "sync"), 30, "an Event")

    failed = Runs(kube_api, cluster, "sync").finish(RunResult.ERROR)
    [record] = settled(cluster, failed, 1)
    assert (record["result"], record["code"]) == ("Skipped", 2602)


def test_webhooks_get_their_documented_bodies_once_even_through_two_500s(
    cluster: Cluster,
    warehouse: DatabaseAccess,
    start_operator: Callable[..., OperatorProcess],
    receiver: Receiver,
    kube_api: client.ApiClient,
) -> None:
    receiver.answer("/flaky", 500, 500)
    receiver.answer("/gone", 404)
    hooks = []
    for name, fmt in (
        ("generic", "generic"),
        ("slack", "slack"),
        ("teams", "teams"),
        ("flaky", "generic"),
        ("gone", "generic"),
    ):
        cluster.secret(f"hook-{name}", {"url": receiver.url(f"/{name}?token=tok-{name}")})
        hook: dict[str, Any] = {
            "name": name,
            "format": fmt,
            "urlSecretRef": {"name": f"hook-{name}"},
        }
        hooks.append(hook | ({"results": ["Error"]} if name == "gone" else {}))
    hooks.append({"name": "unset", "urlSecretRef": {"name": "no-such-secret"}})
    start_operator(SYNCLINE_NOTIFICATION_BACKOFF_SECONDS="0.5")
    make_world(cluster, warehouse)
    cluster.create(
        PROJECTS, "sync", manual(notifications={"webhooks": hooks}), "IntegrationProject"
    )
    ready = cluster.wait_ready(PROJECTS, "sync")  # data still moves
    assert "2100 SecretNotFound: Secret no-such-secret" in ready["message"]
    runs = Runs(kube_api, cluster, "sync")

    failed = runs.finish(RunResult.ERROR)
    records = by_name(settled(cluster, failed, 6))
    assert (records["unset"]["result"], records["unset"]["code"]) == ("Failed", 2100)
    for name in ("generic", "slack", "teams"):
        assert records[name]["result"] == "Sent", records[name]
        [request] = receiver.got(f"/{name}")
        assert schema_errors(name, request.body) == [], name
        assert CANARY not in str(request.body)
    generic = receiver.got("/generic")[0].body
    assert (generic["project"]["name"], generic["run"]["name"]) == ("sync", failed)
    assert (generic["outcome"], generic["problems"][0]["code"]) == ("Error", 2000)
    assert (
        "Cannot reach crm-db:5432/crm"
        in receiver.got("/slack")[0].body["blocks"][2]["text"]["text"]
    )

    assert (records["flaky"]["result"], records["flaky"]["attempts"]) == ("Sent", 3)
    assert len(receiver.got("/flaky")) == 3  # two 500s, then delivered: one notification
    gone = records["gone"]
    assert (gone["result"], gone["attempts"], gone["code"]) == ("Failed", 1, 2600)
    assert "answered HTTP 404" in gone["message"]
    assert all("tok-" not in r["message"] for r in records.values())  # URLs hold tokens
    wait_for(lambda: warning_events(cluster, "NotificationFailed", "sync"), 30, "an Event")
    assert cluster.get("integrationruns", failed)["status"]["result"] == "Error"

    recovered = runs.finish(RunResult.COMPLETED)
    assert len(settled(cluster, recovered, 5)) == 5  # "gone" listens to Error only
    bodies = [r.body for r in receiver.got("/generic")]
    assert [b["outcome"] for b in bodies] == ["Error", "Recovered"]
    assert schema_errors("generic", bodies[1]) == []
    assert len(receiver.got("/flaky")) == 4

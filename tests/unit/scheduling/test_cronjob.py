"""The CronJob a project gets, and Jobs started from it (run-now)."""

from __future__ import annotations

from typing import Any

from syncline.api.project import IntegrationProjectSpec
from syncline.api.run import Trigger
from syncline.scheduling.cronjob import (
    CredentialSource,
    EngineSettings,
    ProjectIdentity,
    build_cronjob,
    build_job_from_cronjob,
    cronjob_name,
    is_full_refresh,
)
from syncline.scheduling.schedule import EffectiveSchedule

PROJECT = ProjectIdentity(name="orders-sync", namespace="team-a", uid="uid-123")
ENGINE = EngineSettings(image="registry.local/syncline:1.0", service_account="syncline-engine")
CREDENTIALS = [
    CredentialSource(alias="warehouse", secret_name="wh-creds", keys=("username", "password")),
    CredentialSource(alias="crm", secret_name="crm-token", keys=("token",)),
]


def _spec(**extra: Any) -> IntegrationProjectSpec:
    return IntegrationProjectSpec.model_validate(
        {
            "connectionSetRef": {"name": "pair"},
            "tasks": [
                {
                    "name": "orders",
                    "source": {"connection": "crm", "entity": "orders"},
                    "destination": {"connection": "warehouse", "entity": "orders"},
                }
            ],
            **extra,
        }
    )


def _build(**extra: Any) -> dict[str, Any]:
    every = EffectiveSchedule(cron="*/15 * * * *", time_zone="Europe/Kyiv")
    return build_cronjob(PROJECT, _spec(**extra), every, CREDENTIALS, ENGINE)


def _pod(cronjob: dict[str, Any]) -> dict[str, Any]:
    pod: dict[str, Any] = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return pod


def _env(cronjob: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e for e in _pod(cronjob)["containers"][0]["env"]}


def test_schedule_time_zone_and_no_overlap() -> None:
    spec = _build()["spec"]
    assert spec["schedule"] == "*/15 * * * *"
    assert spec["timeZone"] == "Europe/Kyiv"
    assert spec["concurrencyPolicy"] == "Forbid"
    assert spec["suspend"] is False
    assert spec["startingDeadlineSeconds"] == 300


def test_starting_deadline_comes_from_the_project_when_set() -> None:
    cronjob = _build(schedule={"cron": "0 * * * *", "startingDeadlineSeconds": 45})
    assert cronjob["spec"]["startingDeadlineSeconds"] == 45


def test_owned_by_the_project_so_deletion_cascades() -> None:
    meta = _build()["metadata"]
    assert meta["name"] == "orders-sync"
    assert meta["namespace"] == "team-a"
    assert meta["ownerReferences"] == [
        {
            "apiVersion": "syncline.dev/v1alpha1",
            "kind": "IntegrationProject",
            "name": "orders-sync",
            "uid": "uid-123",
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    assert meta["labels"]["syncline.dev/project"] == "orders-sync"


def test_every_level_carries_the_project_label() -> None:
    cronjob = _build()
    job = cronjob["spec"]["jobTemplate"]
    assert job["metadata"]["labels"]["syncline.dev/project"] == "orders-sync"
    assert job["spec"]["template"]["metadata"]["labels"]["syncline.dev/project"] == "orders-sync"


def test_manual_only_and_suspended_projects_do_not_fire() -> None:
    manual = build_cronjob(PROJECT, _spec(), None, CREDENTIALS, ENGINE)
    assert manual["spec"]["suspend"] is True
    assert _build(suspend=True)["spec"]["suspend"] is True


def test_a_project_held_by_a_guardrail_keeps_its_schedule_but_does_not_fire() -> None:
    every = EffectiveSchedule(cron="*/15 * * * *", time_zone="Europe/Kyiv")
    held = build_cronjob(PROJECT, _spec(), every, CREDENTIALS, ENGINE, suspend=True)
    assert (held["spec"]["suspend"], held["spec"]["schedule"]) == (True, "*/15 * * * *")


def test_one_attempt_with_timeout_and_ttl() -> None:
    job = _build(limits={"timeoutSeconds": 900})["spec"]["jobTemplate"]["spec"]
    assert job["backoffLimit"] == 0
    assert job["activeDeadlineSeconds"] == 900
    assert job["ttlSecondsAfterFinished"] == 86_400
    assert "activeDeadlineSeconds" not in _build()["spec"]["jobTemplate"]["spec"]


def test_memory_is_requested_and_enforced_from_the_project_or_the_operator() -> None:
    default = _pod(_build())["containers"][0]["resources"]
    assert default == {"requests": {"cpu": "100m", "memory": "1Gi"}, "limits": {"memory": "1Gi"}}
    own = _pod(_build(limits={"memory": "3Gi"}))["containers"][0]["resources"]
    assert own["requests"]["memory"] == own["limits"]["memory"] == "3Gi"


def test_a_killed_engine_fails_the_job_by_rule() -> None:
    job = _build()["spec"]["jobTemplate"]["spec"]
    (rule,) = job["podFailurePolicy"]["rules"]
    assert rule["action"] == "FailJob"
    assert rule["onExitCodes"] == {"containerName": "engine", "operator": "In", "values": [137]}


def test_history_limits() -> None:
    spec = _build()["spec"]
    assert (spec["successfulJobsHistoryLimit"], spec["failedJobsHistoryLimit"]) == (3, 3)


def test_engine_command_image_and_service_account() -> None:
    pod = _pod(_build())
    container = pod["containers"][0]
    assert container["command"] == ["syncline", "engine", "run", "--project", "orders-sync"]
    assert container["image"] == "registry.local/syncline:1.0"
    assert pod["serviceAccountName"] == "syncline-engine"
    assert pod["restartPolicy"] == "Never"


def test_identity_comes_from_the_downward_api() -> None:
    env = _env(_build())
    assert env["SYNCLINE_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace"
    assert env["SYNCLINE_POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert (
        env["SYNCLINE_JOB_NAME"]["valueFrom"]["fieldRef"]["fieldPath"]
        == "metadata.labels['job-name']"
    )
    assert env["SYNCLINE_TRIGGER"]["value"] == "schedule"


def test_credentials_are_secret_references_never_values() -> None:
    env = _env(_build())
    assert env["SYNCLINE_CRED_WAREHOUSE_PASSWORD"]["valueFrom"] == {
        "secretKeyRef": {"name": "wh-creds", "key": "password"}
    }
    assert env["SYNCLINE_CRED_WAREHOUSE_USERNAME"]["valueFrom"]["secretKeyRef"]["key"] == "username"
    assert env["SYNCLINE_CRED_CRM_TOKEN"]["valueFrom"]["secretKeyRef"]["name"] == "crm-token"
    credential_vars = [e for e in env.values() if e["name"].startswith("SYNCLINE_CRED_")]
    assert len(credential_vars) == 3
    assert all("value" not in e for e in credential_vars)


def test_pod_passes_the_restricted_pod_security_profile() -> None:
    pod = _pod(_build())
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 65532
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    container = pod["containers"][0]["securityContext"]
    assert container["allowPrivilegeEscalation"] is False
    assert container["capabilities"] == {"drop": ["ALL"]}
    assert container["readOnlyRootFilesystem"] is True
    mounts = pod["containers"][0]["volumeMounts"]
    assert {"name": "scratch", "mountPath": "/tmp"} in mounts
    assert {"name": "scratch", "emptyDir": {}} in pod["volumes"]


def test_building_twice_gives_the_same_manifest() -> None:
    """Server-side apply of an identical manifest is a no-op: no churn on every reconcile."""
    assert _build() == _build()


def test_long_project_names_give_valid_unique_cronjob_names() -> None:
    first = cronjob_name("a" * 60 + "-one")
    second = cronjob_name("a" * 60 + "-two")
    assert len(first) <= 52
    assert len(second) <= 52
    assert first != second
    assert cronjob_name("short") == "short"


def test_job_from_cronjob_is_a_manual_run_owned_by_the_cronjob() -> None:
    cronjob = _build()
    cronjob["metadata"]["uid"] = "cj-uid"
    job = build_job_from_cronjob(cronjob, "orders-sync-manual-1", Trigger.MANUAL)
    assert job["kind"] == "Job"
    assert job["metadata"]["name"] == "orders-sync-manual-1"
    assert job["metadata"]["namespace"] == "team-a"
    assert job["metadata"]["labels"]["syncline.dev/trigger"] == "manual"
    assert job["metadata"]["labels"]["syncline.dev/project"] == "orders-sync"
    assert job["metadata"]["ownerReferences"][0]["kind"] == "CronJob"
    assert job["metadata"]["ownerReferences"][0]["uid"] == "cj-uid"
    pod = job["spec"]["template"]["spec"]
    env = {e["name"]: e for e in pod["containers"][0]["env"]}
    assert env["SYNCLINE_TRIGGER"]["value"] == "manual"
    assert job["spec"]["backoffLimit"] == 0


def test_job_from_cronjob_leaves_the_cronjob_untouched() -> None:
    cronjob = _build()
    build_job_from_cronjob(cronjob, "run-1", Trigger.RETRY)
    assert _env(cronjob)["SYNCLINE_TRIGGER"]["value"] == "schedule"
    assert "syncline.dev/trigger" not in cronjob["spec"]["jobTemplate"]["metadata"]["labels"]


def test_a_full_refresh_job_tells_its_engine_and_the_cronjob_stays_incremental() -> None:
    cronjob = _build()
    job = build_job_from_cronjob(cronjob, "run-1", Trigger.MANUAL, full_refresh=True)
    env = {e["name"]: e for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["SYNCLINE_FULL_REFRESH"]["value"] == "true"
    assert is_full_refresh(job)
    assert "SYNCLINE_FULL_REFRESH" not in _env(cronjob)
    assert not is_full_refresh(build_job_from_cronjob(cronjob, "run-2", Trigger.MANUAL))
